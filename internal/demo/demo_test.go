package demo

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

	"github.com/fluttershy/face2face/testnet"

	"github.com/fluttershy/face2face/internal/testlock"
)

func TestMain(m *testing.M) {
	testlock.Shared()
	os.Exit(testnet.CheckLeaks(m.Run()))
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
	var formed *testnet.Net
	var rtSizes []int
	dir := t.TempDir()
	publishing := 0
	err := Demo(ctx, &out, DemoParams{Nodes: 5, Dir: dir, CLI: "f2f", Ready: func(n *testnet.Net) {
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
		"every node holds notes, todo and agenda; the notes merged to:",
		"| node4 was here first",
		"every node reminded: agenda: demo wrap-up (bob)",
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
