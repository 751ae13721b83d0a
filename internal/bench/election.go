package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

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
	net, err := testnet.New(dir, len(caps), testnet.WithNodeOptionsFor(testnet.SimulatedUplinks(caps, overlay.DefaultParams())))
	if err != nil {
		return 0, 0, err
	}
	defer net.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	info, err := testnet.JoinRoom(ctx, net.Nodes, "bench")
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	var mixer peer.ID
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		var err error
		mixer, _, err = testnet.AgreedMixer(ctx, net.Nodes, info.Key)
		return mixer != "", err
	}); err != nil {
		return 0, 0, fmt.Errorf("no agreement after joining: %w", err)
	}
	join = time.Since(start)
	// Let the measured reports settle the election, then kill the mixer.
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		in, err := net.Nodes[0].Rooms().Mixer(ctx, info.Key)
		if err != nil {
			return false, err
		}
		for _, m := range in.Members {
			if m.Report == nil || m.Report.Probed == 0 {
				return false, nil
			}
		}
		m, _, err := testnet.AgreedMixer(ctx, net.Nodes, info.Key)
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
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		m, _, err := testnet.AgreedMixer(ctx, rest, info.Key)
		return m != "" && m != mixer, err
	}); err != nil {
		return 0, 0, fmt.Errorf("no agreement after the mixer stopped: %w", err)
	}
	return join, time.Since(start), nil
}
