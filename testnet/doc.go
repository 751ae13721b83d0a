// Package testnet runs many real face2face nodes on one machine, for tests,
// `f2f demo` and `f2f bench`: in one process on loopback (New), or as
// separate `f2f daemon` processes (StartDaemon). It shapes how nodes
// bootstrap (star, chain, random), offers helpers that wait for conditions
// instead of sleeping, and tears everything down without leaking goroutines.
//
// Only loopback addresses are used; every node has the local profile.
package testnet
