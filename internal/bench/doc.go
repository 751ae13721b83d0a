// Package bench holds what `f2f bench` and `go test -bench` measure: a
// daemon process's start, idle memory and shutdown, chat latency and
// throughput, file transfer against a raw stream, the election's time to
// agree, a star call's mixer CPU and failover, and a daemon under attack.
// It builds its networks with testnet, the harness.
package bench
