package testnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// go-flow-metrics (libp2p's bandwidth counter) runs one sweeper per
	// process while any meter exists; it is the library's global, not a
	// node's goroutine. Goroutines that closed connections end a little
	// later (pion's SRTP readers return once their closed transport says
	// so): on a loaded machine that can take longer than goleak's own
	// retries, so the check is repeated for up to 10 s; a real leak stays.
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
	os.Exit(code)
}

func newNet(t *testing.T, n int, opts ...Option) *Net {
	t.Helper()
	net, err := New(t.TempDir(), n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := net.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return net
}

func TestShapesFillRoutingTables(t *testing.T) {
	for _, shape := range []Shape{Star, Chain, Random} {
		t.Run(shape.String(), func(t *testing.T) {
			net := newNet(t, 5, WithShape(shape), WithSeed(7))
			// Each node was told about one other node only.
			for i, to := range net.BootTo {
				if i == 0 && to != -1 || i > 0 && (to < 0 || to >= i) {
					t.Fatalf("node %d bootstrapped to %d", i, to)
				}
				if shape == Chain && i > 0 && to != i-1 || shape == Star && i > 0 && to != 0 {
					t.Fatalf("%s: node %d bootstrapped to %d", shape, i, to)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := net.WaitFullRoutingTables(ctx); err != nil {
				for i, nd := range net.Nodes {
					t.Logf("node%d rt=%v", i, nd.RoutingTable())
				}
				t.Fatal(err)
			}
			if err := WaitFor(ctx, func() (bool, error) { return net.FullyConnected(), nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseShape(t *testing.T) {
	for _, s := range []Shape{Star, Chain, Random} {
		got, err := ParseShape(s.String())
		if err != nil || got != s {
			t.Errorf("ParseShape(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseShape("ring"); err == nil {
		t.Error("ParseShape(ring) succeeded")
	}
}

func TestNewRejectsNoNodes(t *testing.T) {
	if _, err := New(t.TempDir(), 0); err == nil {
		t.Fatal("New with 0 nodes succeeded")
	}
}

func TestWaitForHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := WaitFor(ctx, func() (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "condition not met") {
		t.Fatalf("WaitFor = %v, want condition not met", err)
	}
	want := fmt.Errorf("boom")
	if err := WaitFor(context.Background(), func() (bool, error) { return false, want }); err != want {
		t.Fatalf("WaitFor = %v, want %v", err, want)
	}
}

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out syncBuffer
	var formed *Net
	var rtSizes []int
	dir := t.TempDir()
	publishing := 0
	err := Demo(ctx, &out, DemoParams{Nodes: 5, Dir: dir, CLI: "f2f", Ready: func(n *Net) {
		formed = n
		for _, nd := range n.Nodes {
			rtSizes = append(rtSizes, len(nd.RoutingTable()))
			// The narration says every node publishes: the recorder
			// (its media stop ended its publishing) and the restarted
			// mixer too.
			if h, err := nd.Rooms().RoomHash(ctx, "demo-room"); err == nil {
				if p := nd.Media().Stats(h).Publishing; p != nil && !p.Done {
					publishing++
				}
			}
		}
		cancel()
	}})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if formed == nil {
		t.Fatalf("demo ended before the network formed:\n%s", out.String())
	}
	for i, n := range rtSizes {
		if strings.Contains(out.String(), fmt.Sprintf("node%d restarted", i)) {
			continue // stopped as the mixer and started again: its table refills
		}
		if n < 4 {
			t.Errorf("node%d routing table holds %d peers, want 4", i, n)
		}
	}
	if publishing != 5 {
		t.Errorf("%d of 5 nodes publish when the demo says every node does", publishing)
	}
	if recs, _ := filepath.Glob(filepath.Join(dir, "recordings", "*-video.ivf")); len(recs) < 4 {
		t.Errorf("the demo kept %d video recordings, want 4", len(recs))
	}
	text := out.String()
	for _, want := range []string{
		"started node4",
		"every DHT routing table holds the other 4 nodes",
		"node0 routing table:",
		"f2f --repo",
		"all 5 nodes are in the room",
		"<alice> hi all, can everyone hear me?",
		"<erin> and every line here is signed by its author",
		"shared holiday-video.bin (8388608 bytes, application/octet-stream) -> f2f file get bafy",
		"sha256 matches",
		"mixer election:",
		"<- mixer",
		"all 5 nodes agree: mixer node",
		"failover: ",
		"restarted, rejoined demo-room and publishes again",
		"all nodes stopped",
		"the recordings are kept in " + filepath.Join(dir, "recordings"),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
}

func TestDemoRejectsTooFewNodes(t *testing.T) {
	if err := Demo(context.Background(), &bytes.Buffer{}, DemoParams{Nodes: 1}); err == nil {
		t.Fatal("demo with 1 node succeeded")
	}
}
