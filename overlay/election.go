package overlay

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/overlay/election"
)

// Event types of the election.
const (
	// EventMixerChanged: a room's mixer or term changed (data: MixerChange
	// with the room hash).
	EventMixerChanged = "room.mixer_changed"
)

// MixerChange is one entry of a room's mixer history.
type MixerChange struct {
	Room   string    `json:"room"`
	Time   time.Time `json:"time"`
	Term   uint64    `json:"term"`
	Mixer  string    `json:"mixer"`
	Nick   string    `json:"nick"`
	Reason string    `json:"reason"`
}

// The election's wire vocabulary (see package election).
type (
	// ElectOp says what an election message does.
	ElectOp = election.Op
	// Policy is a room's election policy, set by any member and carried
	// in every heartbeat; the newest (Seq, then Setter) wins everywhere.
	Policy = election.Policy
)

// Election message kinds.
const (
	OpCandidate = election.OpCandidate
	OpVote      = election.OpVote
	OpHeartbeat = election.OpHeartbeat
	OpPolicy    = election.OpPolicy
)

// Topology modes of a room's policy.
const (
	TopologyAuto = election.TopologyAuto
	TopologyMesh = election.TopologyMesh
	TopologyStar = election.TopologyStar
)

var topologies = []string{TopologyAuto, TopologyMesh, TopologyStar}

// roomElection wires a room's election machine to the network: it feeds
// the machine the control topic's reports and election messages and its
// ticks, publishes what the machine sends and emits its mixer changes.
//
// Concurrency: mu guards the machine and the reports; onReport and
// onElect run on the room's control loop, tick on the election loop. Who
// is alive is asked before mu is taken (it goes through pubsub's loop);
// the machine asks for nicknames under mu (the lock order is e.mu, then
// r.mu); messages are published outside the lock.
type roomElection struct {
	r *room

	mu      sync.Mutex
	m       *election.Machine
	reports map[peer.ID]CapReport

	aliveMu    sync.Mutex
	aliveAt    time.Time
	aliveSet   map[peer.ID]bool // read only once made
	aliveStale atomic.Bool      // something alive depends on changed
}

// aliveMaxAge is how long alive's answer is reused when nothing it depends
// on was reported changed (invalidateAlive): a connection opened, closed or
// limited, a peer joined or left the chat topic, a member went, left or
// came back. The machine ticks every 100 ms and a busy election brings
// more messages; computing the view each time (every connection and the
// topic's peers, through pubsub's event loop) took a tenth of a core in an
// idle room of 50 in one process, and every 250 ms still 0.03 cores.
const aliveMaxAge = 5 * time.Second

// invalidateAlive makes the next alive compute the view again.
func (e *roomElection) invalidateAlive() { e.aliveStale.Store(true) }

func newRoomElection(r *room) (*roomElection, error) {
	e := &roomElection{r: r, reports: map[peer.ID]CapReport{}}
	m, err := election.New(election.Config{Self: r.s.h.ID(), Params: r.s.params.Election, Name: e.nick,
		MeshMax: r.s.params.Room.MeshMax})
	if err != nil {
		return nil, err
	}
	e.m = m
	return e, nil
}

func (e *roomElection) self() peer.ID { return e.r.s.h.ID() }

// nick is p's nickname in the room, the node's own for itself. It takes
// the room's lock.
func (e *roomElection) nick(p peer.ID) string {
	if p == e.self() {
		return e.r.nickname()
	}
	return e.r.nickOf(p)
}

// alive returns the members the node counts for the election: itself and
// every member that is connected, subscribed to the room and not gone (as
// of the last change reported, see aliveMaxAge). The map must not be
// modified.
func (e *roomElection) alive() map[peer.ID]bool {
	e.aliveMu.Lock()
	defer e.aliveMu.Unlock()
	// Swapped before computing: a change while it runs counts for the
	// next call.
	stale := e.aliveStale.Swap(false)
	if e.aliveSet == nil || stale || time.Since(e.aliveAt) >= aliveMaxAge {
		e.aliveSet, e.aliveAt = e.aliveNow(), time.Now()
	}
	return e.aliveSet
}

func (e *roomElection) aliveNow() map[peer.ID]bool {
	r := e.r
	out := map[peer.ID]bool{e.self(): true}
	// Connected as Connectedness says (an open connection that is not a
	// limited, relayed one), in one pass over the connections instead of
	// one search per member.
	conns := r.s.h.Network().Conns()
	connected := make(map[peer.ID]bool, len(conns))
	for _, c := range conns {
		if !c.IsClosed() && !c.Stat().Limited {
			connected[c.RemotePeer()] = true
		}
	}
	for _, p := range r.chat.ListPeers() {
		if connected[p] {
			out[p] = true
		}
	}
	r.mu.Lock()
	for id, m := range r.members {
		if m.gone || m.left {
			delete(out, id)
		}
	}
	r.mu.Unlock()
	return out
}

// myReportLocked is the node's own latest report, nil before its first.
func (e *roomElection) myReportLocked() *CapReport {
	if c, ok := e.reports[e.self()]; ok {
		return &c
	}
	return nil
}

// wire turns the machine's messages into election messages: candidacies
// and heartbeats carry the node's report.
func (e *roomElection) wireLocked(out election.Output) []Elect {
	msgs := make([]Elect, 0, len(out.Send))
	for _, m := range out.Send {
		x := Elect{Op: m.Op, Term: m.Term, Peer: m.Peer, Score: m.Score, Policy: m.Policy, Reason: m.Reason}
		if m.Op == OpCandidate || m.Op == OpHeartbeat {
			x.Report = e.myReportLocked()
		}
		msgs = append(msgs, x)
	}
	return msgs
}

// emit publishes what a step of the machine produced (outside e.mu).
func (e *roomElection) emit(out election.Output, msgs []Elect, report *CapReport) {
	for _, ch := range out.Changes {
		e.r.s.events(EventMixerChanged, e.change(ch))
	}
	if report != nil {
		e.r.publishControl(e.r.control, KindCaps, report.Marshal())
	}
	for _, m := range msgs {
		if m.Op == OpVote {
			e.r.sendVote(m)
		} else {
			e.r.publishElect(m)
		}
	}
}

func (e *roomElection) change(ch election.Change) MixerChange {
	return MixerChange{Room: e.r.hash, Time: ch.Time.UTC(), Term: ch.Term, Mixer: ch.Mixer.String(), Nick: ch.Name, Reason: ch.Reason}
}

// tick runs the machine's timers.
func (e *roomElection) tick(now time.Time) {
	alive := e.alive() // outside e.mu: it asks pubsub
	e.mu.Lock()
	out := e.m.Tick(now, alive)
	msgs := e.wireLocked(out)
	var report *CapReport
	if out.Report {
		report = e.myReportLocked()
	}
	e.mu.Unlock()
	e.emit(out, msgs, report)
}

// fromMember reports whether an election message or report from p counts:
// p is the node itself or a member present in the room.
func (e *roomElection) fromMember(p peer.ID) bool {
	if p == e.self() || e.r.isMember(p) {
		return true
	}
	e.r.s.stats.electIgnored.Add(1)
	return false
}

// forget drops what the election keeps of a departed member.
func (e *roomElection) forget(p peer.ID) {
	e.invalidateAlive()
	e.mu.Lock()
	delete(e.reports, p)
	e.m.Forget(p)
	e.mu.Unlock()
}

// onReport takes a member's capability report.
func (e *roomElection) onReport(from peer.ID, c CapReport) {
	if !e.fromMember(from) {
		return
	}
	e.mu.Lock()
	e.reports[from] = c
	e.m.SetScore(from, Score(c))
	e.mu.Unlock()
}

// onElect takes an election message from its author.
func (e *roomElection) onElect(from peer.ID, x Elect) {
	if !e.fromMember(from) {
		return
	}
	m := election.Msg{Op: x.Op, Term: x.Term, Peer: x.Peer, Score: x.Score, Policy: x.Policy, Reason: x.Reason}
	if x.Report != nil {
		m.HasReport, m.ReportScore = true, Score(*x.Report)
	}
	e.mu.Lock()
	needs := e.m.NeedsAlive(from, m)
	e.mu.Unlock()
	var alive map[peer.ID]bool
	if needs {
		alive = e.alive() // outside e.mu: it asks pubsub
	}
	e.mu.Lock()
	out, ok := e.m.Handle(time.Now(), from, m, alive)
	if ok && m.HasReport && (m.Op == OpCandidate || m.Op == OpHeartbeat) && m.Peer == from {
		e.reports[from] = *x.Report
	}
	msgs := e.wireLocked(out)
	e.mu.Unlock()
	if !ok {
		e.r.s.stats.electIgnored.Add(1)
	}
	e.emit(out, msgs, nil)
}

// setPolicy changes the room's policy for everyone.
func (e *roomElection) setPolicy(f func(*Policy)) Policy {
	e.mu.Lock()
	p, m := e.m.SetPolicy(time.Now(), f)
	e.mu.Unlock()
	e.r.publishElect(Elect{Op: m.Op, Policy: m.Policy})
	return p
}

// run is the room's election loop.
func (e *roomElection) run(ctx context.Context) {
	t := time.NewTicker(e.r.s.params.Election.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.tick(now)
		}
	}
}

// MemberScore is one member's line of `f2f mixer`.
type MemberScore struct {
	ID     string     `json:"id"`
	Nick   string     `json:"nick"`
	Score  uint64     `json:"score"`
	Report *CapReport `json:"report,omitempty"`
	Alive  bool       `json:"alive"`
	Mixer  bool       `json:"mixer"`
	Me     bool       `json:"me"`
}

// MixerInfo is a room's election state (`f2f mixer ROOM`).
type MixerInfo struct {
	Room     string        `json:"room"`
	Name     string        `json:"name"`
	Term     uint64        `json:"term"`
	Mixer    string        `json:"mixer,omitempty"`
	Nick     string        `json:"nick,omitempty"`
	Since    time.Time     `json:"since,omitzero"`
	Reason   string        `json:"reason,omitempty"`
	Policy   Policy        `json:"policy"`
	Topology string        `json:"topology"`
	MeshMax  int           `json:"mesh_max"`
	Members  []MemberScore `json:"members"`
	History  []MixerChange `json:"history"`
	Won      []uint64      `json:"won_terms,omitempty"`
}

// Topology is what media needs of a room: the mixer, the mode and who
// sends media to whom.
type Topology struct {
	Room  string `json:"room"`
	Term  uint64 `json:"term"`
	Mixer peer.ID
	// Mode is TopologyMesh or TopologyStar.
	Mode    string
	Members []peer.ID // alive members, the node included, sorted
}

// Peers returns the members self exchanges media with: all others in a
// mesh; in a star the mixer, or every member for the mixer itself.
func (t Topology) Peers(self peer.ID) []peer.ID {
	var out []peer.ID
	for _, p := range t.Members {
		if p == self {
			continue
		}
		if t.Mode == TopologyMesh || self == t.Mixer || p == t.Mixer {
			out = append(out, p)
		}
	}
	return out
}

func (e *roomElection) topologyLocked(alive map[peer.ID]bool) Topology {
	t := e.m.Topology(alive)
	return Topology{Room: e.r.hash, Term: t.Term, Mixer: t.Mixer, Mode: t.Mode, Members: t.Members}
}

// topology is the room's media topology now (cheaper than info).
func (e *roomElection) topology() Topology {
	alive := e.alive()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.topologyLocked(alive)
}

func (e *roomElection) info() (MixerInfo, Topology) {
	alive := e.alive()
	e.mu.Lock()
	defer e.mu.Unlock()
	me := e.self()
	st := e.m.State()
	in := MixerInfo{Room: e.r.hash, Name: e.r.key.Name, Term: st.Term, Since: st.Since.UTC(), Reason: st.Reason,
		Policy: st.Policy, MeshMax: e.m.MeshMax(), Won: st.Won, History: make([]MixerChange, 0, len(st.History))}
	for _, ch := range st.History {
		in.History = append(in.History, e.change(ch))
	}
	if st.Mixer != "" {
		in.Mixer, in.Nick = st.Mixer.String(), e.nick(st.Mixer)
	}
	topo := e.topologyLocked(alive)
	in.Topology = topo.Mode
	ids := map[peer.ID]bool{}
	for p := range alive {
		ids[p] = true
	}
	for _, p := range e.m.Scored() {
		ids[p] = true
	}
	for p := range ids {
		ms := MemberScore{ID: p.String(), Nick: e.nick(p), Alive: alive[p], Mixer: p == st.Mixer, Me: p == me}
		ms.Score, _ = e.m.Score(p)
		if c, ok := e.reports[p]; ok {
			ms.Report = &c
		}
		in.Members = append(in.Members, ms)
	}
	sort.Slice(in.Members, func(i, j int) bool {
		a, b := in.Members[i], in.Members[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.ID < b.ID
	})
	return in, topo
}
