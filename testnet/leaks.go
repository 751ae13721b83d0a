package testnet

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/goleak"
)

// CheckLeaks is the goroutine-leak check of a test binary that runs real
// nodes: call it with m.Run()'s code and exit with what it returns (1 on a
// leak). go-flow-metrics (libp2p's bandwidth counter) runs one sweeper per
// process while any meter exists; it is the library's global, not a
// node's goroutine. Goroutines of closed connections end a little later
// (pion's SRTP readers return once their closed transport says so): on a
// loaded machine that can take longer than goleak's own retries, so the
// check is repeated for up to 10 s; a real leak stays.
func CheckLeaks(code int) int {
	opts := []goleak.Option{
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).runActive"),
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"),
	}
	deadline := time.Now().Add(10 * time.Second)
	err := goleak.Find(opts...)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		err = goleak.Find(opts...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goleak: leaked goroutines:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
