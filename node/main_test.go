package node

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/fluttershy/face2face/internal/testlock"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// node, API server, event stream and client must be shut down by Close.
func TestMain(m *testing.M) {
	testlock.Shared()
	goleak.VerifyTestMain(m,
		// go-flow-metrics (libp2p's bandwidth counter) runs one sweeper
		// per process while any meter exists; it is the library's global,
		// not a node's goroutine.
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).runActive"),
		goleak.IgnoreTopFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"))
}
