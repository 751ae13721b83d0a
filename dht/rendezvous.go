package dht

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// MaxRendezvousPeers bounds how many peers one FindPeers call returns.
const MaxRendezvousPeers = 100

// Advertise announces the node under the rendezvous namespace ns once: a
// provider record on the CID that go-libp2p's routing discovery derives from
// ns (sha256), stored on the peers closest to it. It returns how long the
// record is good for; the caller re-advertises before then. The namespace is
// whatever the caller derived (for rooms: a hash of the room's secrets), so
// the DHT never sees room names or passwords.
func (s *Service) Advertise(ctx context.Context, ns string) (time.Duration, error) {
	ttl, err := drouting.NewRoutingDiscovery(s.kad).Advertise(ctx, ns)
	if err != nil {
		return 0, fmt.Errorf("dht: advertise: %w", err)
	}
	return ttl, nil
}

// FindPeers returns up to limit peers (at most MaxRendezvousPeers) that
// advertised ns, excluding the node itself. It returns when the DHT query
// ends or ctx does, with what it found by then.
func (s *Service) FindPeers(ctx context.Context, ns string, limit int) ([]peer.AddrInfo, error) {
	if limit <= 0 || limit > MaxRendezvousPeers {
		limit = MaxRendezvousPeers
	}
	ch, err := drouting.NewRoutingDiscovery(s.kad).FindPeers(ctx, ns, discovery.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("dht: find peers: %w", err)
	}
	var out []peer.AddrInfo
	for ai := range ch {
		if ai.ID == s.h.ID() || ai.ID == "" {
			continue
		}
		out = append(out, ai)
	}
	return out, nil
}
