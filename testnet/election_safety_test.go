package testnet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

// lossy drops a share of every node's incoming control and telemetry
// messages.
func lossy(share float64) overlay.Option {
	return overlay.WithDropFilter(func(string, peer.ID) bool { return rand.Float64() < share })
}

// wins returns, per term, the nodes that won it.
func wins(t *testing.T, ctx context.Context, nodes []*node.Node, ref string) map[uint64][]peer.ID {
	t.Helper()
	out := map[uint64][]peer.ID{}
	for _, nd := range nodes {
		in, err := nd.Rooms().Mixer(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, term := range in.Won {
			out[term] = append(out[term], nd.ID())
		}
	}
	return out
}

// newWins returns the wins in now that are not in before.
func newWins(before, now map[uint64][]peer.ID) map[uint64][]peer.ID {
	out := map[uint64][]peer.ID{}
	for term, ws := range now {
		for _, w := range ws {
			if !slices.Contains(before[term], w) {
				out[term] = append(out[term], w)
			}
		}
	}
	return out
}

// allSeeAll reports whether every node counts every node alive in the room.
func allSeeAll(ctx context.Context, nodes []*node.Node, ref string) (bool, error) {
	for _, nd := range nodes {
		in, err := nd.Rooms().Mixer(ctx, ref)
		if err != nil {
			return false, err
		}
		n := 0
		for _, m := range in.Members {
			if m.Alive {
				n++
			}
		}
		if n != len(nodes) {
			return false, nil
		}
	}
	return true, nil
}

// waitAgreed waits until every node in nodes agrees on one mixer.
func waitAgreed(t *testing.T, ctx context.Context, nodes []*node.Node, ref, what string) (peer.ID, uint64) {
	t.Helper()
	var m peer.ID
	var term uint64
	err := WaitFor(ctx, func() (bool, error) {
		var err error
		m, term, err = AgreedMixer(ctx, nodes, ref)
		return m != "", err
	})
	if err != nil {
		for _, nd := range nodes {
			in, _ := nd.Rooms().Mixer(context.Background(), ref)
			t.Logf("%s sees mixer %s term %d (%s)", nd.ID(), in.Mixer, in.Term, in.Reason)
		}
		t.Fatalf("%s: no agreement: %v", what, err)
	}
	return m, term
}

// TestElectionSafetyUnderLossAndPartitions: with a fifth of all control
// messages dropped, randomized partitions that heal, and pins, a term never
// has two mixers while the room is connected (during a partition, never two
// on one side), and after healing every member agrees on one mixer.
func TestElectionSafetyUnderLossAndPartitions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const n = 6
	part := NewPartition()
	caps := []float64{0.04, 0.09, 0.06, 0.12, 0.05, 0.08}
	net, err := New(t.TempDir(), n, WithNodeOptions(part.Option()), WithNodeOptionsFor(uplinks(caps, lossy(0.2))))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info := makeRoom(t, ctx, net.Nodes, "safety")
	ref := info.Key
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	checkUnique := func(w map[uint64][]peer.ID, what string) {
		t.Helper()
		for term, ws := range w {
			if len(ws) > 1 {
				t.Fatalf("%s: term %d has %d mixers: %v", what, term, len(ws), ws)
			}
		}
	}
	// Until the members see each other (the room has just formed) each is
	// a partition of its own and may win a term another wins too, as
	// after a partition; the rule is checked from the first agreement on.
	waitAgreed(t, ctx, net.Nodes, ref, "start")
	all := wins(t, ctx, net.Nodes, ref)
	const runs = 6
	for run := range runs {
		// Connected: a pin now and then; agreement; unique terms.
		if rng.IntN(3) == 0 {
			target := net.Nodes[rng.IntN(n)]
			if _, err := net.Nodes[rng.IntN(n)].Rooms().SetMixer(ctx, ref, overlay.MixerChangeRequest{Pin: target.ID().String()}); err != nil {
				t.Fatal(err)
			}
			waitMixer(t, ctx, net.Nodes, ref, target.ID())
			if _, err := net.Nodes[rng.IntN(n)].Rooms().SetMixer(ctx, ref, overlay.MixerChangeRequest{Auto: true}); err != nil {
				t.Fatal(err)
			}
		}
		waitAgreed(t, ctx, net.Nodes, ref, fmt.Sprintf("run %d connected", run))
		now := wins(t, ctx, net.Nodes, ref)
		fresh := newWins(all, now)
		checkUnique(fresh, fmt.Sprintf("run %d connected", run))
		for term := range fresh {
			if len(all[term]) > 0 {
				t.Fatalf("run %d: term %d won again by %v (before by %v)", run, term, fresh[term], all[term])
			}
		}
		all = now

		// Partition at random into two non-empty sides.
		groups := make([]int, n)
		for i := range groups {
			groups[i] = rng.IntN(2)
		}
		groups[rng.IntN(n)] = 0
		groups[rng.IntN(n)] = 1
		var sides [2][]*node.Node
		for i, g := range groups {
			sides[g] = append(sides[g], net.Nodes[i])
		}
		if sides[0] == nil || sides[1] == nil { // both indices drew the same node
			groups[0], groups[n-1] = 0, 1
			sides = [2][]*node.Node{}
			for i, g := range groups {
				sides[g] = append(sides[g], net.Nodes[i])
			}
		}
		part.Split(net.Nodes, groups)
		for s, side := range sides {
			// Each side elects its own: a mixer on its side.
			err := WaitFor(ctx, func() (bool, error) {
				m, _, err := AgreedMixer(ctx, side, ref)
				return m != "" && slices.ContainsFunc(side, func(nd *node.Node) bool { return nd.ID() == m }), err
			})
			if err != nil {
				waitAgreed(t, ctx, side, ref, fmt.Sprintf("run %d side %d", run, s))
				t.Fatalf("run %d side %d: no mixer of its own: %v", run, s, err)
			}
		}
		for s, side := range sides {
			checkUnique(newWins(all, wins(t, ctx, side, ref)), fmt.Sprintf("run %d side %d", run, s))
		}

		// Heal: everyone agrees on one mixer again.
		healed := time.Time{}
		if err := WaitFor(ctx, func() (bool, error) {
			if time.Since(healed) > time.Second { // dial again: a dial may race a closing connection
				part.Heal(ctx, net.Nodes)
				healed = time.Now()
			}
			return net.FullyConnected(), nil
		}); err != nil {
			t.Fatal(err)
		}
		// Wins are counted from when every member sees the whole room:
		// until then a side may still finish an election it began alone.
		if err := WaitFor(ctx, func() (bool, error) { return allSeeAll(ctx, net.Nodes, ref) }); err != nil {
			t.Fatalf("run %d: members do not see each other after healing: %v", run, err)
		}
		before := wins(t, ctx, net.Nodes, ref)
		m, term := waitAgreed(t, ctx, net.Nodes, ref, fmt.Sprintf("run %d healed", run))
		t.Logf("run %d: sides %d/%d, healed on %s term %d", run, len(sides[0]), len(sides[1]), m, term)
		// Wins after the room was whole again are unique and new.
		after := newWins(before, wins(t, ctx, net.Nodes, ref))
		checkUnique(after, fmt.Sprintf("run %d after healing", run))
		for term := range after {
			if len(before[term]) > 0 {
				t.Fatalf("run %d: term %d won again after healing by %v (before by %v)", run, term, after[term], before[term])
			}
		}
		all = wins(t, ctx, net.Nodes, ref)
	}
}
