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

// Shared takes the lock shared: heavy test binaries run side by side, but
// not next to an exclusive one.
func Shared() { lock(syscall.LOCK_SH) }

// Exclusive waits until no other heavy test binary runs, and keeps them
// waiting until this process exits.
func Exclusive() { lock(syscall.LOCK_EX) }

// lock opens the lock file as a raw descriptor (an *os.File would close it
// when collected; close-on-exec, so that the daemons and browsers the
// tests start do not keep it) and locks it until the process exits.
func lock(how int) {
	fd, err := syscall.Open(filepath.Join(os.TempDir(), "f2f-heavy-tests.lock"), syscall.O_CREAT|syscall.O_RDWR|syscall.O_CLOEXEC, 0o666)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testlock:", err)
		return
	}
	if err := syscall.Flock(fd, how); err != nil {
		fmt.Fprintln(os.Stderr, "testlock:", err)
		_ = syscall.Close(fd)
	}
}
