package overlay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrUnknownMember is returned when a peer named for a pin is not a member
// present in the room.
var ErrUnknownMember = errors.New("no such member present")

// Mixer returns a room's election state.
func (s *Service) Mixer(ctx context.Context, ref string) (MixerInfo, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return MixerInfo{}, err
	}
	in, _ := r.el.info()
	return in, nil
}

// MixerChangeRequest changes a room's election policy (`f2f mixer ROOM
// --set PEER | --auto | --topology T | --mesh-max K`); zero fields keep
// what is set.
type MixerChangeRequest struct {
	// Pin is a member's peer ID or nickname to pin as the mixer.
	Pin string `json:"pin,omitempty"`
	// Auto clears the pin: the election picks the mixer again.
	Auto bool `json:"auto,omitempty"`
	// Topology is auto, mesh or star.
	Topology string `json:"topology,omitempty"`
	// MeshMax overrides the largest mesh (1..MaxMeshMax).
	MeshMax int `json:"mesh_max,omitempty"`
}

// SetMixer changes the room's policy for every member and returns the
// state after it.
func (s *Service) SetMixer(ctx context.Context, ref string, req MixerChangeRequest) (MixerInfo, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return MixerInfo{}, err
	}
	if req.Pin != "" && req.Auto {
		return MixerInfo{}, errors.New("give either a member to pin or auto, not both")
	}
	var pin peer.ID
	if req.Pin != "" {
		if pin, err = r.findMember(req.Pin); err != nil {
			return MixerInfo{}, err
		}
	}
	if req.Topology != "" && req.Topology != TopologyAuto && req.Topology != TopologyMesh && req.Topology != TopologyStar {
		return MixerInfo{}, fmt.Errorf("unknown topology %q (want auto, mesh or star)", req.Topology)
	}
	if req.MeshMax < 0 || req.MeshMax > MaxMeshMax {
		return MixerInfo{}, fmt.Errorf("mesh size %d out of range 1..%d", req.MeshMax, MaxMeshMax)
	}
	if req.Pin == "" && !req.Auto && req.Topology == "" && req.MeshMax == 0 {
		return MixerInfo{}, errors.New("nothing to change")
	}
	r.el.setPolicy(func(p *Policy) {
		switch {
		case pin != "":
			p.Pin = pin
		case req.Auto:
			p.Pin = ""
		}
		if req.Topology == TopologyAuto {
			p.Topology = ""
		} else if req.Topology != "" {
			p.Topology = req.Topology
		}
		if req.MeshMax > 0 {
			p.MeshMax = uint64(req.MeshMax)
		}
	})
	in, _ := r.el.info()
	return in, nil
}

// findMember resolves a peer ID or a nickname to a present member (the
// node itself included).
func (r *room) findMember(ref string) (peer.ID, error) {
	alive := r.el.aliveNow() // a user's request: not the election's cached view
	if id, err := peer.Decode(ref); err == nil {
		if alive[id] {
			return id, nil
		}
		return "", fmt.Errorf("%w: %s", ErrUnknownMember, ref)
	}
	var found []peer.ID
	for p := range alive {
		if r.el.nick(p) == ref {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %q", ErrUnknownMember, ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d members are called %q; give the peer ID", len(found), ref)
}

// Topology returns what media needs of the room with this hash: the
// mixer, the mode and the members; false when the room is not joined.
func (s *Service) Topology(hash string) (Topology, bool) {
	r := s.roomByHash(hash)
	if r == nil {
		return Topology{}, false
	}
	return r.el.topology(), true
}

// MixerText is a room's election state as /mixer prints it.
func (s *Service) MixerText(ctx context.Context, ref string) (string, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return "", err
	}
	return r.mixerText(), nil
}

// mixerText is the output of /mixer.
func (r *room) mixerText() string {
	in, _ := r.el.info()
	var b strings.Builder
	if in.Mixer == "" {
		fmt.Fprintf(&b, "no mixer elected yet in %s (%s)", in.Name, in.Topology)
	} else {
		fmt.Fprintf(&b, "mixer of %s: %s, term %d, %s; %s", in.Name, in.Nick, in.Term, in.Topology, in.Reason)
	}
	if in.Policy.Pin != "" {
		fmt.Fprintf(&b, "; pinned to %s", r.nickOf(in.Policy.Pin))
	}
	for _, m := range in.Members {
		fmt.Fprintf(&b, "\n  %s score %s", m.Nick, strconv.FormatUint(m.Score, 10))
		if m.Mixer {
			b.WriteString(" (mixer)")
		}
	}
	return b.String()
}

// MemberCount returns the member count of the joined room with this hash
// (see RoomInfo.Members), or false when it is not joined.
func (s *Service) MemberCount(hash string) (int, bool) {
	r := s.roomByHash(hash)
	if r == nil {
		return 0, false
	}
	return r.presentCount(), true
}

// NickOf returns p's nickname in a joined room (this node's own too), or
// the short form of its ID every member shows.
func (s *Service) NickOf(hash string, p peer.ID) string {
	r := s.roomByHash(hash)
	switch {
	case r == nil:
		return defaultNick(p)
	case p == s.h.ID():
		if n := r.nickname(); n != "" {
			return n
		}
		return defaultNick(p)
	}
	return r.nickOf(p)
}

// JoinedHashes returns the hashes of the joined rooms.
func (s *Service) JoinedHashes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.rooms))
	for h := range s.rooms {
		out = append(out, h)
	}
	return out
}

// RoomHash resolves a room reference (key or unique local name) of a
// joined room to its hash.
func (s *Service) RoomHash(ctx context.Context, ref string) (string, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return "", err
	}
	return r.hash, nil
}
