//go:build race

package testnet

// raceEnabled: the race detector slows crypto about tenfold, so the flood
// test sends a proportionally smaller flood (the full one runs in
// BenchmarkAttack and without -race).
const raceEnabled = true
