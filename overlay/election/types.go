package election

import (
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Op says what an election message does.
type Op uint8

// Election message kinds.
const (
	// OpCandidate asks for votes: Peer (the author) wants to be the mixer
	// of Term.
	OpCandidate Op = 1
	// OpVote grants the author's vote in Term to Peer.
	OpVote Op = 2
	// OpHeartbeat is the mixer's announcement and lease: Peer (the author)
	// is the mixer of Term.
	OpHeartbeat Op = 3
	// OpPolicy sets the room's policy (pin, topology) for everyone.
	OpPolicy Op = 4
)

// Topology modes of a room's policy.
const (
	TopologyAuto = "auto"
	TopologyMesh = "mesh"
	TopologyStar = "star"
)

// Policy is a room's election policy, set by any member and carried in
// every heartbeat; the newest (Seq, then Setter) wins everywhere.
type Policy struct {
	Seq    uint64  `json:"seq"`
	Setter peer.ID `json:"setter,omitempty"`
	// Pin, when set, is the mixer everyone elects while it is present.
	Pin peer.ID `json:"pin,omitempty"`
	// MeshMax is the largest room run as a mesh (0: the default).
	MeshMax uint64 `json:"mesh_max,omitempty"`
	// Topology forces mesh or star ("" or auto: by MeshMax).
	Topology string `json:"topology,omitempty"`
}

// Newer reports whether p replaces q.
func (p Policy) Newer(q Policy) bool {
	if p.Seq != q.Seq {
		return p.Seq > q.Seq
	}
	return p.Setter > q.Setter
}

// Msg is an election message, as the machine sees it. The caller encodes
// it (with the node's capability report in candidacies and heartbeats) and
// decodes what arrives.
type Msg struct {
	Op     Op
	Term   uint64
	Peer   peer.ID
	Score  uint64 // a candidacy's claimed score
	Policy Policy
	Reason string
	// HasReport says that an incoming candidacy or heartbeat carried its
	// author's capability report, whose score is ReportScore.
	HasReport   bool
	ReportScore uint64
}

// Change is one entry of a room's mixer history.
type Change struct {
	Time   time.Time
	Term   uint64
	Mixer  peer.ID
	Name   string // the mixer's name then
	Reason string
}

// Output is what a step of the machine asks of its caller.
type Output struct {
	// Send are the messages to publish, in order.
	Send []Msg
	// Changes are the mixer changes, in order.
	Changes []Change
	// Report asks the caller to publish the node's capability report
	// again: there is no mixer, and members may disagree on who is best
	// because a report was lost.
	Report bool
}

func (o *Output) add(x Output) {
	o.Send = append(o.Send, x.Send...)
	o.Changes = append(o.Changes, x.Changes...)
	o.Report = o.Report || x.Report
}

// Params are the election's tunables.
type Params struct {
	// HeartbeatInterval is how often the mixer renews its lease.
	HeartbeatInterval time.Duration
	// LeaseTimeout: a mixer not heard from for so long is replaced.
	LeaseTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for a majority.
	ElectionTimeout time.Duration
	// Tick is how often the caller calls Tick (the timers' resolution).
	Tick time.Duration
	// MarginPct is the hysteresis: a candidate replaces a live incumbent
	// only with a score more than MarginPct percent higher.
	MarginPct int
}

// DefaultParams returns the default tunables.
func DefaultParams() Params {
	return Params{
		HeartbeatInterval: 500 * time.Millisecond,
		LeaseTimeout:      2 * time.Second,
		ElectionTimeout:   time.Second,
		Tick:              100 * time.Millisecond,
		MarginPct:         20,
	}
}

// Validate reports the first bad tunable.
func (p Params) Validate() error {
	switch {
	case p.HeartbeatInterval <= 0 || p.LeaseTimeout <= 0 || p.ElectionTimeout <= 0 || p.Tick <= 0:
		return errors.New("election: HeartbeatInterval, LeaseTimeout, ElectionTimeout and Tick must be > 0")
	case p.LeaseTimeout <= p.HeartbeatInterval:
		return errors.New("election: LeaseTimeout must exceed HeartbeatInterval")
	case p.MarginPct < 0:
		return errors.New("election: MarginPct must be >= 0")
	}
	return nil
}
