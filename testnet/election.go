package testnet

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

// SimulatedUplinks returns per-node options (for WithNodeOptionsFor) that
// give node i a simulated uplink of capsMBps[i] MB/s: the rate its
// bandwidth probes send at, so that the election has something to tell
// apart on one machine. p are the other room-service tunables; extra
// options are added to every node.
func SimulatedUplinks(capsMBps []float64, p overlay.Params, extra ...overlay.Option) func(i int) []node.Option {
	return func(i int) []node.Option {
		q := p
		if i < len(capsMBps) {
			q.Caps.UploadLimit = capsMBps[i] * 1e6
		}
		return []node.Option{node.WithOverlayOptions(append([]overlay.Option{overlay.WithParams(q)}, extra...)...)}
	}
}

// AgreedMixer returns the mixer and term every node in nodes sees in
// room ref, or "" while they disagree (or none is elected).
func AgreedMixer(ctx context.Context, nodes []*node.Node, ref string) (peer.ID, uint64, error) {
	var mixer string
	var term uint64
	for i, nd := range nodes {
		in, err := nd.Rooms().Mixer(ctx, ref)
		if err != nil {
			return "", 0, err
		}
		if in.Mixer == "" || i > 0 && (in.Mixer != mixer || in.Term != term) {
			return "", 0, nil
		}
		mixer, term = in.Mixer, in.Term
	}
	id, err := peer.Decode(mixer)
	return id, term, err
}

// FormRoom has nodes[0] create an open room and the others join it, and
// waits until every node sees every other connected in it.
func FormRoom(ctx context.Context, nodes []*node.Node, name string) (overlay.RoomInfo, error) {
	info, err := nodesJoin(ctx, nodes, name)
	if err != nil {
		return info, err
	}
	return info, WaitRoom(ctx, nodes, info.Key)
}

// WaitRoom waits until every node sees every other connected in room ref.
func WaitRoom(ctx context.Context, nodes []*node.Node, ref string) error {
	return WaitFor(ctx, func() (bool, error) {
		for _, nd := range nodes {
			peers, err := nd.Rooms().Peers(ctx, ref)
			if err != nil {
				return false, err
			}
			n := 0
			for _, p := range peers {
				if p.Connected && !p.Gone {
					n++
				}
			}
			if n < len(nodes)-1 {
				return false, nil
			}
		}
		return true, nil
	})
}

// ElectionBenchResult is what `f2f bench election` prints: per run, the
// time from the last join until every member agrees on a mixer, and from
// killing that mixer until the others agree on a new one.
type ElectionBenchResult struct {
	Nodes    int             `json:"nodes"`
	Join     []time.Duration `json:"join_ns"`
	Failover []time.Duration `json:"failover_ns"`
}

// RunElectionBench measures runs elections of n nodes (with simulated
// uplinks, so scores differ) in dir.
func RunElectionBench(ctx context.Context, dir string, n, runs int) (ElectionBenchResult, error) {
	res := ElectionBenchResult{Nodes: n}
	caps := make([]float64, n)
	for i := range caps {
		caps[i] = float64(4 + (i*7)%11*2)
	}
	for run := range runs {
		join, fail, err := electionRun(ctx, filepath.Join(dir, fmt.Sprintf("run%d", run)), caps)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", run, err)
		}
		res.Join = append(res.Join, join)
		res.Failover = append(res.Failover, fail)
	}
	return res, nil
}

func electionRun(ctx context.Context, dir string, caps []float64) (join, fail time.Duration, err error) {
	net, err := New(dir, len(caps), WithNodeOptionsFor(SimulatedUplinks(caps, overlay.DefaultParams())))
	if err != nil {
		return 0, 0, err
	}
	defer net.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	info, err := nodesJoin(ctx, net.Nodes, "bench")
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	var mixer peer.ID
	if err := WaitFor(ctx, func() (bool, error) {
		var err error
		mixer, _, err = AgreedMixer(ctx, net.Nodes, info.Key)
		return mixer != "", err
	}); err != nil {
		return 0, 0, fmt.Errorf("no agreement after joining: %w", err)
	}
	join = time.Since(start)
	// Let the measured reports settle the election, then kill the mixer.
	if err := WaitFor(ctx, func() (bool, error) {
		in, err := net.Nodes[0].Rooms().Mixer(ctx, info.Key)
		if err != nil {
			return false, err
		}
		for _, m := range in.Members {
			if m.Report == nil || m.Report.Probed == 0 {
				return false, nil
			}
		}
		m, _, err := AgreedMixer(ctx, net.Nodes, info.Key)
		mixer = m
		return m != "" && len(in.Members) == len(net.Nodes), err
	}); err != nil {
		return 0, 0, fmt.Errorf("reports: %w", err)
	}
	var rest []*node.Node
	for _, nd := range net.Nodes {
		if nd.ID() == mixer {
			start = time.Now()
			if err := nd.Close(); err != nil {
				return 0, 0, err
			}
		} else {
			rest = append(rest, nd)
		}
	}
	if err := WaitFor(ctx, func() (bool, error) {
		m, _, err := AgreedMixer(ctx, rest, info.Key)
		return m != "" && m != mixer, err
	}); err != nil {
		return 0, 0, fmt.Errorf("no agreement after the mixer stopped: %w", err)
	}
	return join, time.Since(start), nil
}

// nodesJoin creates an open room on nodes[0] and has the others join it,
// without waiting for anything.
func nodesJoin(ctx context.Context, nodes []*node.Node, name string) (overlay.RoomInfo, error) {
	info, err := nodes[0].Rooms().Create(ctx, name, "")
	if err != nil {
		return info, err
	}
	for _, nd := range nodes[1:] {
		if _, err := nd.Rooms().Join(ctx, info.Key, ""); err != nil {
			return info, err
		}
	}
	return info, nil
}

// AgreedMixerWait waits until every node agrees on a mixer.
func AgreedMixerWait(ctx context.Context, nodes []*node.Node, ref string) (peer.ID, uint64, error) {
	var m peer.ID
	var term uint64
	err := WaitFor(ctx, func() (bool, error) {
		var err error
		m, term, err = AgreedMixer(ctx, nodes, ref)
		return m != "", err
	})
	return m, term, err
}
