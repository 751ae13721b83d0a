// Package testlock gives the browser tests the machine to themselves: a
// test binary that measures frame rates in real Chromium takes an
// exclusive lock, the other heavy test binaries (those that run many real
// nodes) a shared one, on one file in the temp dir. `go test ./...` runs
// two test binaries at once on two cores; a browser test sharing them with
// a 20-node test measures the other test, not the page. The lock is held
// until the process exits (the kernel drops it then).
package testlock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// held keeps the lock file open for the life of the process (a closed
// file drops its lock).
var held *os.File

// Shared takes the lock shared: heavy test binaries run side by side, but
// not next to an exclusive one.
func Shared() { lock(syscall.LOCK_SH) }

// Exclusive waits until no other heavy test binary runs, and keeps them
// waiting until this process exits.
func Exclusive() { lock(syscall.LOCK_EX) }

func lock(how int) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "f2f-heavy-tests.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testlock:", err)
		return
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		fmt.Fprintln(os.Stderr, "testlock:", err)
		f.Close()
		return
	}
	held = f
}
