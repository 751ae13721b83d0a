package testnet

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

// uplinks gives node i a simulated uplink of caps[i] MB/s. The tests'
// caps stay far below what a loaded machine under the race detector
// leaves of loopback speed, and the probes are small, so the measurement
// sees the caps, quickly.
func uplinks(caps []float64, extra ...overlay.Option) func(i int) []node.Option {
	p := overlay.DefaultParams()
	p.Caps.ProbeBytes = 64 << 10
	p.Caps.CodecMicros = 2000 // the same CPU figure everywhere: the uplinks decide
	return SimulatedUplinks(caps, p, extra...)
}

// waitMixer waits until every node agrees on want as the mixer and
// returns the term.
func waitMixer(t *testing.T, ctx context.Context, nodes []*node.Node, ref string, want peer.ID) uint64 {
	t.Helper()
	var term uint64
	err := WaitFor(ctx, func() (bool, error) {
		m, tm, err := AgreedMixer(ctx, nodes, ref)
		term = tm
		return m == want, err
	})
	if err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i, nd := range nodes {
			in, _ := nd.Rooms().Mixer(dctx, ref)
			t.Logf("node %s (%d) sees mixer %s term %d (%s); members:", nd.ID(), i, in.Mixer, in.Term, in.Reason)
			for _, m := range in.Members {
				t.Logf("   %s score %d alive %v", m.ID, m.Score, m.Alive)
			}
		}
		t.Fatalf("mixer %s not agreed: %v", want, err)
	}
	return term
}

// waitReports waits until every node holds a report with a measured
// upload from every node.
func waitReports(t *testing.T, ctx context.Context, nodes []*node.Node, ref string) {
	t.Helper()
	err := WaitFor(ctx, func() (bool, error) {
		for _, nd := range nodes {
			in, err := nd.Rooms().Mixer(ctx, ref)
			if err != nil {
				return false, err
			}
			n := 0
			for _, m := range in.Members {
				if m.Report != nil && m.Report.Probed > 0 {
					n++
				}
			}
			if n < len(nodes) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		for i, nd := range nodes {
			in, _ := nd.Rooms().Mixer(context.Background(), ref)
			ms, _ := nd.Rooms().Peers(context.Background(), ref)
			t.Logf("node %d: mixer %q term %d, peers %+v", i, in.Nick, in.Term, ms)
			for _, m := range in.Members {
				t.Logf("   %s %s report %+v", m.ID, m.Nick, m.Report)
			}
		}
		t.Fatalf("capability reports: %v", err)
	}
}

// TestElectionPicksBestUplinkAndFailsOver: 8 nodes with different uplinks
// elect the one with the best; when it is killed the others agree on the
// next best; a pin from any member moves the mixer, and auto moves it back.
func TestElectionPicksBestUplinkAndFailsOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	caps := []float64{0.04, 0.06, 0.08, 0.2, 0.4, 0.07, 0.05, 0.03} // MB/s: node 4 best, then node 3, then far behind
	net, err := New(t.TempDir(), len(caps), WithNodeOptionsFor(uplinks(caps)))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info := makeRoom(t, ctx, net.Nodes, "elect")
	waitReports(t, ctx, net.Nodes, info.Key)
	term := waitMixer(t, ctx, net.Nodes, info.Key, net.Nodes[4].ID())
	t.Logf("node 4 elected, term %d", term)

	// The mixer's report carries the upload its probes measured. (A
	// probe run while the loaded test machine starves the process
	// measures less; the probes run again every CapsInterval.)
	var last *overlay.CapReport
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	if err := WaitFor(rctx, func() (bool, error) {
		in, err := net.Nodes[0].Rooms().Mixer(ctx, info.Key)
		if err != nil {
			return false, err
		}
		for _, m := range in.Members {
			if m.ID == net.Nodes[4].ID().String() {
				last = m.Report
				return last != nil && last.UploadBps >= 0.25e6 && last.UploadBps <= 0.6e6, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatalf("mixer's report %+v: want about 0.4 MB/s upload (%v)", last, err)
	}

	// Kill the mixer: the rest agree on node 3 in a later term.
	start := time.Now()
	if err := net.Nodes[4].Close(); err != nil {
		t.Fatal(err)
	}
	rest := append(append([]*node.Node{}, net.Nodes[:4]...), net.Nodes[5:]...)
	term2 := waitMixer(t, ctx, rest, info.Key, net.Nodes[3].ID())
	t.Logf("failover to node 3 agreed after %v, term %d", time.Since(start), term2)
	if term2 <= term {
		t.Fatalf("failover term %d not after %d", term2, term)
	}

	// Pin node 6 from node 0, then let the election pick again from node 7.
	if _, err := net.Nodes[0].Rooms().SetMixer(ctx, info.Key, overlay.MixerChangeRequest{Pin: net.Nodes[6].ID().String()}); err != nil {
		t.Fatal(err)
	}
	waitMixer(t, ctx, rest, info.Key, net.Nodes[6].ID())
	for _, nd := range rest {
		in, err := nd.Rooms().Mixer(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		if in.Policy.Pin != net.Nodes[6].ID() {
			t.Fatalf("%s does not see the pin: %+v", nd.ID(), in.Policy)
		}
	}
	if _, err := net.Nodes[7].Rooms().SetMixer(ctx, info.Key, overlay.MixerChangeRequest{Auto: true}); err != nil {
		t.Fatal(err)
	}
	waitMixer(t, ctx, rest, info.Key, net.Nodes[3].ID())
	// A pin to someone not in the room is refused.
	if _, err := net.Nodes[0].Rooms().SetMixer(ctx, info.Key, overlay.MixerChangeRequest{Pin: net.Nodes[4].ID().String()}); err == nil {
		t.Fatal("pin to a gone member accepted")
	}
}

// TestProbeRefusals: /f2f/bwprobe/1 serves only members, refuses sizes
// over the limit, and rate-limits a peer.
func TestProbeRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	net := newNet(t, 3)
	info := makeRoom(t, ctx, net.Nodes[:2], "probe")
	hash := info.Hash
	stranger, member, target := net.Nodes[2], net.Nodes[1], net.Nodes[0]
	ask := func(from *node.Node, size uint32) byte {
		t.Helper()
		if err := from.Host().Connect(ctx, peer.AddrInfo{ID: target.ID(), Addrs: target.Host().Addrs()}); err != nil {
			t.Fatal(err)
		}
		st, err := from.Host().NewStream(ctx, target.ID(), overlay.ProbeProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hdr := binary.BigEndian.AppendUint32([]byte(hash), size)
		if _, err := st.Write(hdr); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if _, err := io.ReadFull(st, b[:]); err != nil {
			t.Fatal(err)
		}
		return b[0]
	}
	if got := ask(stranger, 1<<20); got != 1 {
		t.Errorf("a stranger's probe: status %d, want 1 (not a member)", got)
	}
	if got := ask(member, 1<<30); got != 3 {
		t.Errorf("a 1 GiB probe: status %d, want 3 (too large)", got)
	}
	limited := false
	for range 10 {
		if ask(member, 1<<10) == 4 {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("10 probes in a row were never rate-limited")
	}
}

// TestElectionInPasswordRoom: in a password room (sealed reports, election
// and telemetry; topics only for proven members) the members still elect
// one mixer and draw each other's connections.
func TestElectionInPasswordRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := overlay.DefaultParams()
	p.Caps.TelemetryInterval = 500 * time.Millisecond
	p.Caps.ProbeBytes = 64 << 10
	net, err := New(t.TempDir(), 3, WithNodeOptionsFor(SimulatedUplinks([]float64{0.05, 0.2, 0.1}, p)))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info, err := net.Nodes[0].Rooms().Create(ctx, "secret", "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range net.Nodes[1:] {
		if _, err := nd.Rooms().Join(ctx, info.Key, "hunter2"); err != nil {
			t.Fatal(err)
		}
	}
	waitReports(t, ctx, net.Nodes, info.Key)
	waitMixer(t, ctx, net.Nodes, info.Key, net.Nodes[1].ID())
	if err := WaitFor(ctx, func() (bool, error) {
		g, err := net.Nodes[2].Rooms().Graph(ctx, info.Key)
		if err != nil {
			return false, err
		}
		from := map[string]bool{}
		for _, e := range g.Edges {
			if e.Kind == overlay.EdgeConn {
				from[e.From] = true
			}
		}
		return len(from) == 3, nil
	}); err != nil {
		t.Fatalf("telemetry in a password room: %v", err)
	}
}

// TestProbeOnSlowUplink: a probe on an uplink too slow for its bytes ends
// after ProbeTime and still measures the rate.
func TestProbeOnSlowUplink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := overlay.DefaultParams()
	p.Caps.ProbeTime = time.Second
	net, err := New(t.TempDir(), 2, WithNodeOptionsFor(SimulatedUplinks([]float64{0.1, 0.1}, p))) // 2 MiB would take 21 s
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info := makeRoom(t, ctx, net.Nodes, "slow")
	var res []overlay.ProbeResult
	if err := WaitFor(ctx, func() (bool, error) { // the member may still be rate-limiting the room's own probes
		var err error
		res, err = net.Nodes[0].Rooms().Probe(ctx, info.Key, net.Nodes[1].ID().String())
		return err == nil && len(res) == 1 && res[0].Error == "", err
	}); err != nil {
		t.Fatalf("probe: %+v: %v", res, err)
	}
	if r := res[0]; r.Bytes >= 2<<20 || r.Bps < 0.05e6 || r.Bps > 0.2e6 {
		t.Fatalf("probe on a 0.1 MB/s uplink: %+v", r)
	}
}
