package overlay

import (
	"cmp"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TURNSecret returns the joined room's TURN secret: the key the room's
// TURN servers check credentials with (media.TURNCredentials). It derives
// from the room key (and password), so only members know it.
func (s *Service) TURNSecret(hash string) ([]byte, bool) {
	r := s.roomByHash(hash)
	if r == nil {
		return nil, false
	}
	return slices.Clone(r.sec.turnKey), true
}

// TURNServer is a STUN and TURN server a member runs for a room.
type TURNServer struct {
	Peer peer.ID
	Addr string // "ip:port"
}

// TURNServers lists the TURN servers the room's present members announced
// in their capability reports, this node's own excluded.
func (s *Service) TURNServers(hash string) []TURNServer {
	r := s.roomByHash(hash)
	if r == nil {
		return nil
	}
	e := r.el
	e.mu.Lock()
	reports := make(map[peer.ID][]string, len(e.reports))
	for p, c := range e.reports {
		if p != s.h.ID() && len(c.TURN) > 0 {
			reports[p] = c.TURN
		}
	}
	e.mu.Unlock()
	var out []TURNServer
	for p, addrs := range reports {
		if !r.isMember(p) {
			continue
		}
		for _, a := range addrs {
			out = append(out, TURNServer{Peer: p, Addr: a})
		}
	}
	slices.SortFunc(out, func(a, b TURNServer) int {
		return cmp.Or(cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Addr, b.Addr))
	})
	return out
}
