package testnet

import (
	"context"

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
	info, err := JoinRoom(ctx, nodes, name)
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

// JoinRoom creates an open room on nodes[0] and has the others join it,
// without waiting for anything.
func JoinRoom(ctx context.Context, nodes []*node.Node, name string) (overlay.RoomInfo, error) {
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

// connectedMembers counts the connected members nd sees in ref.
func ConnectedMembers(ctx context.Context, nd *node.Node, ref string) (int, error) {
	ms, err := nd.Rooms().Peers(ctx, ref)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.Connected && !m.Gone {
			n++
		}
	}
	return n, nil
}
