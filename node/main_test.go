package node

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// node, API server, event stream and client must be shut down by Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
