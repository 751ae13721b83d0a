package testnet

import (
	"context"
	"testing"
	"time"

	"github.com/fluttershy/face2face/overlay"
)

// TestTopoOfSixNodeRoom: the room graph any member draws holds every
// member with its role, and the connection edges every member reported
// are its real libp2p connections to the other members; gossip edges are
// the GossipSub mesh.
func TestTopoOfSixNodeRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := overlay.DefaultParams()
	p.Caps.TelemetryInterval = 500 * time.Millisecond
	net, err := New(t.TempDir(), 6, WithNodeOptionsFor(SimulatedUplinks(nil, p)))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info := makeRoom(t, ctx, net.Nodes, "topo")
	byID := map[string]int{}
	for i, nd := range net.Nodes {
		byID[nd.ID().String()] = i
	}
	waitAgreed(t, ctx, net.Nodes, info.Key, "topo")

	// Wait until node 5's graph has every member's report, then compare
	// each reported connection edge with that member's connections.
	var g overlay.Graph
	err = WaitFor(ctx, func() (bool, error) {
		var err error
		g, err = net.Nodes[5].Rooms().Graph(ctx, info.Key)
		if err != nil {
			return false, err
		}
		from := map[string]int{}
		for _, e := range g.Edges {
			if e.Kind == overlay.EdgeConn {
				from[e.From]++
			}
		}
		if len(g.Nodes) != 6 || len(from) != 6 {
			return false, nil
		}
		for _, n := range from {
			if n != 5 { // a full mesh of connections
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("graph never complete: %+v: %v", g, err)
	}
	// One mixer (the one node 5 follows), node 5 is "me", the rest members.
	mixers := 0
	for _, n := range g.Nodes {
		i, ok := byID[n.ID]
		if !ok {
			t.Fatalf("graph node %s is not a member", n.ID)
		}
		want := "member"
		switch {
		case i == 5:
			want = "me"
		case n.Mixer:
			want = "mixer"
		}
		if n.Mixer {
			mixers++
		}
		if n.Role != want {
			t.Fatalf("node %d: role %q, want %q", i, n.Role, want)
		}
	}
	if mixers != 1 || g.Term == 0 {
		t.Fatalf("graph has %d mixers, term %d", mixers, g.Term)
	}
	gossip := 0
	for _, e := range g.Edges {
		i, j := byID[e.From], byID[e.To]
		switch e.Kind {
		case overlay.EdgeConn:
			conns := net.Nodes[i].Host().Network().ConnsToPeer(net.Nodes[j].ID())
			if len(conns) == 0 {
				t.Fatalf("edge %d-%d reported, no such connection", i, j)
			}
			if e.Transport == "" || e.RTTMS < 0 {
				t.Fatalf("edge %d-%d: %+v", i, j, e)
			}
		case overlay.EdgeGossip:
			gossip++
		}
	}
	if gossip == 0 {
		t.Fatal("no gossip mesh edges")
	}
}
