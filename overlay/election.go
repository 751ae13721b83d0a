package overlay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
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

// maxMixerHistory bounds a room's mixer history.
const maxMixerHistory = 32

// maxWonTerms bounds the list of terms a node won (kept for tests and
// `f2f mixer --json`).
const maxWonTerms = 256

// election is one room's mixer election. Every member scores the capability
// reports with Score; the member that should be the mixer (the best score,
// or the pinned member, with hysteresis in favour of a live incumbent)
// asks for votes in a new term. Each member votes at most once per term,
// and only for the member it also sees as the one to elect; a candidate
// with votes from more than half of the members it sees alive (itself
// included) is the mixer of that term, announces it and renews its lease
// with heartbeats. A member that sees a higher term follows it.
//
// In a connected room every member sees the same members alive, so two
// majorities of one term share a voter, and a term has at most one mixer.
// Under a partition each side sees only itself and elects its own; after
// healing the higher term wins (a tie between two terms of equal number
// starts a new term).
//
// Concurrency: mu guards every field; onReport and onElect run on the
// room's control loop, tick on the election loop; messages are published
// outside the lock.
type election struct {
	r *room

	mu        sync.Mutex
	reports   map[peer.ID]CapReport
	claimed   map[peer.ID]uint64 // scores candidates claimed, for members without a report
	term      uint64
	mixer     peer.ID
	lease     time.Time
	reason    string
	since     time.Time
	votedTerm uint64
	votedFor  peer.ID
	cand      *candidacy
	retryAt   time.Time
	lastBeat  time.Time
	policy    Policy
	// conflictTerm is a term in which two members announced themselves
	// mixer (after a partition healed); while it is the current term the
	// incumbent's lease counts for nothing and a new term is elected.
	conflictTerm uint64
	history      []MixerChange
	lastReport   time.Time // when tick last republished the node's report
	// present is the set alive() returned at the last tick: messages use
	// it instead of asking pubsub for the topic's peers each time.
	present map[peer.ID]bool
	// unheard holds the members that became present at the given time and
	// have sent no election message since: once the room has had a term,
	// the node does not ask for votes until it has heard them (at most
	// LeaseTimeout; a mixer heartbeats within HeartbeatInterval), so that
	// after a partition heals it learns the other side's term before it
	// picks a term of its own.
	unheard    map[peer.ID]time.Time
	lastPolicy time.Time // when the node last republished its policy
	won        []uint64
}

type candidacy struct {
	term     uint64
	votes    map[peer.ID]bool
	deadline time.Time
	sent     time.Time
	reason   string
}

func newElection(r *room) *election {
	return &election{r: r, reports: map[peer.ID]CapReport{}, claimed: map[peer.ID]uint64{}, unheard: map[peer.ID]time.Time{}}
}

func (e *election) self() peer.ID { return e.r.s.h.ID() }

// nick is p's nickname in the room, the node's own for itself. It takes
// the room's lock: callers may hold e.mu (the order is e.mu, then r.mu).
func (e *election) nick(p peer.ID) string {
	if p == e.self() {
		return e.r.nickname()
	}
	return e.r.nickOf(p)
}

// alive returns the members the node counts for the election: itself and
// every member that is connected, subscribed to the room and not gone.
func (e *election) alive() map[peer.ID]bool {
	r := e.r
	out := map[peer.ID]bool{e.self(): true}
	for _, p := range r.chat.ListPeers() {
		if r.s.connected(p) {
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

// scoreLocked is p's score: from its report, else from its candidacy.
func (e *election) scoreLocked(p peer.ID) (uint64, bool) {
	if c, ok := e.reports[p]; ok {
		return Score(c), true
	}
	s, ok := e.claimed[p]
	return s, ok
}

// better reports whether a ranks above b: higher score, then lower ID.
func (e *election) betterLocked(a, b peer.ID) bool {
	sa, _ := e.scoreLocked(a)
	sb, _ := e.scoreLocked(b)
	if sa != sb {
		return sa > sb
	}
	return a < b
}

// bestLocked is the alive member with a known score that ranks first.
func (e *election) bestLocked(alive map[peer.ID]bool) peer.ID {
	var best peer.ID
	for p := range alive {
		if _, ok := e.scoreLocked(p); !ok && p != e.self() {
			continue
		}
		if best == "" || e.betterLocked(p, best) {
			best = p
		}
	}
	return best
}

// leaseValidLocked reports whether the current mixer holds a live lease.
func (e *election) leaseValidLocked(alive map[peer.ID]bool, now time.Time) bool {
	return e.mixer != "" && alive[e.mixer] && now.Before(e.lease)
}

// desiredLocked returns who should be the mixer and why: the pinned member
// when it is alive; else the incumbent unless the best beats it by the
// margin; else the best.
func (e *election) desiredLocked(alive map[peer.ID]bool, now time.Time) (peer.ID, string) {
	if pin := e.policy.Pin; pin != "" && alive[pin] {
		return pin, "pinned by " + e.nick(e.policy.Setter)
	}
	best := e.bestLocked(alive)
	if e.conflictLocked() {
		return best, "two mixers in one term after a partition healed"
	}
	if !e.leaseValidLocked(alive, now) {
		why := e.bestReasonLocked(best, len(alive))
		switch {
		case e.mixer == "":
			return best, "no mixer yet: " + why
		case !alive[e.mixer]:
			return best, fmt.Sprintf("mixer %s is gone: %s", e.nick(e.mixer), why)
		default:
			return best, fmt.Sprintf("mixer %s stopped its heartbeats: %s", e.nick(e.mixer), why)
		}
	}
	if best == e.mixer || best == "" {
		return e.mixer, e.reason
	}
	sb, _ := e.scoreLocked(best)
	sm, known := e.scoreLocked(e.mixer)
	if sb*100 > sm*uint64(100+e.r.s.params.MarginPct) {
		if !known || sm == 0 {
			return best, fmt.Sprintf("%s (score %d) replaces mixer %s, whose score is not known yet", e.nick(best), sb, e.nick(e.mixer))
		}
		return best, fmt.Sprintf("%s's score %d beats mixer %s's %d by more than %d%%", e.nick(best), sb, e.nick(e.mixer), sm, e.r.s.params.MarginPct)
	}
	return e.mixer, e.reason
}

// bestReasonLocked says why best is chosen among n alive members.
func (e *election) bestReasonLocked(best peer.ID, n int) string {
	if best == "" {
		return "no member has reported its capabilities yet"
	}
	if n <= 1 {
		return fmt.Sprintf("%s is the only member", e.nick(best))
	}
	return fmt.Sprintf("%s has the best score of the %d members", e.nick(best), n)
}

func (e *election) conflictLocked() bool { return e.conflictTerm != 0 && e.conflictTerm == e.term }

// tick runs the timers: heartbeats while mixer, a candidacy when the node
// should be the mixer and is not.
func (e *election) tick(now time.Time) {
	alive := e.alive()
	var out []Elect
	e.mu.Lock()
	e.notePresentLocked(alive, now)
	p := e.r.s.params
	me := e.self()
	if e.mixer == me && now.Sub(e.lastBeat) >= p.HeartbeatInterval {
		e.lastBeat = now
		e.lease = now.Add(p.LeaseTimeout)
		out = append(out, Elect{Op: OpHeartbeat, Term: e.term, Peer: me, Policy: e.policy, Reason: e.reason, Report: e.myReportLocked()})
	}
	var report *CapReport
	if !e.leaseValidLocked(alive, now) && now.Sub(e.lastReport) >= p.HeartbeatInterval*4 {
		// No mixer: members may disagree on who is best because a report
		// was lost; send ours again so that their views converge.
		e.lastReport = now
		report = e.myReportLocked()
		if e.policy.Seq > 0 { // and the policy: a pin may have been lost
			out = append(out, Elect{Op: OpPolicy, Policy: e.policy})
		}
	}
	want, why := e.desiredLocked(alive, now)
	if want == me && (e.mixer != me || !e.leaseValidLocked(alive, now) || e.conflictLocked()) {
		c := e.cand
		switch {
		case c != nil && now.Before(c.deadline):
			if e.countLocked(alive) {
				out = append(out, e.winLocked(now))
			} else if now.Sub(c.sent) >= p.HeartbeatInterval {
				c.sent = now // ask again: a candidacy or a vote may have been dropped
				out = append(out, Elect{Op: OpCandidate, Term: c.term, Peer: me, Score: e.myScoreLocked(), Reason: c.reason, Report: e.myReportLocked(), Policy: e.policy})
			}
		case c != nil && e.retryAt.IsZero():
			// Lost (no majority in time): retry after a random pause, so
			// that two candidates do not keep splitting the votes.
			e.retryAt = now.Add(rand.N(p.ElectionTimeout/2 + 1))
		case e.waitingLocked(now):
			// A member just arrived: hear it first (see unheard).
		case c == nil || !now.Before(e.retryAt):
			term := max(e.term, e.votedTerm) + 1
			if c != nil {
				term = max(term, c.term+1)
			}
			e.cand = &candidacy{term: term, votes: map[peer.ID]bool{me: true}, deadline: now.Add(p.ElectionTimeout), sent: now, reason: why}
			e.retryAt = time.Time{}
			e.votedTerm, e.votedFor = term, me
			if e.countLocked(alive) {
				out = append(out, e.winLocked(now))
			} else {
				out = append(out, Elect{Op: OpCandidate, Term: term, Peer: me, Score: e.myScoreLocked(), Reason: why, Report: e.myReportLocked(), Policy: e.policy})
			}
		}
	} else if e.cand != nil && want != me {
		e.cand = nil
	}
	e.mu.Unlock()
	if report != nil {
		e.r.publishControl(e.r.control, KindCaps, report.Marshal())
	}
	for _, m := range out {
		e.r.publishElect(m)
	}
}

// notePresentLocked records who is present, and when members arrive.
func (e *election) notePresentLocked(alive map[peer.ID]bool, now time.Time) {
	for p := range alive {
		if !e.present[p] && p != e.self() && e.present != nil {
			e.unheard[p] = now
		}
	}
	for p := range e.unheard {
		if !alive[p] {
			delete(e.unheard, p)
		}
	}
	e.present = alive
}

// waitingLocked reports whether, in a room that has had a term, a member
// that arrived less than LeaseTimeout ago has sent no election message yet.
func (e *election) waitingLocked(now time.Time) bool {
	if e.term == 0 {
		return false
	}
	for p, at := range e.unheard {
		if now.Sub(at) < e.r.s.params.LeaseTimeout {
			return true
		}
		delete(e.unheard, p)
	}
	return false
}

func (e *election) myReportLocked() *CapReport {
	if c, ok := e.reports[e.self()]; ok {
		return &c
	}
	return nil
}

func (e *election) myScoreLocked() uint64 {
	s, _ := e.scoreLocked(e.self())
	return s
}

// countLocked reports whether the running candidacy has a majority of the
// members alive.
func (e *election) countLocked(alive map[peer.ID]bool) bool {
	n := 0
	for v := range e.cand.votes {
		if alive[v] {
			n++
		}
	}
	return n*2 > len(alive)
}

// winLocked makes the node the mixer of its candidacy's term and returns
// the first heartbeat.
func (e *election) winLocked(now time.Time) Elect {
	c := e.cand
	e.cand = nil
	e.won = append(e.won, c.term)
	if len(e.won) > maxWonTerms {
		e.won = e.won[1:]
	}
	e.setMixerLocked(c.term, e.self(), c.reason, now)
	e.lastBeat = now
	return Elect{Op: OpHeartbeat, Term: c.term, Peer: e.self(), Policy: e.policy, Reason: c.reason, Report: e.myReportLocked()}
}

// setMixerLocked records a new (term, mixer) and emits the change.
func (e *election) setMixerLocked(term uint64, m peer.ID, reason string, now time.Time) {
	changed := term != e.term || m != e.mixer
	e.term, e.mixer, e.reason = term, m, reason
	e.lease = now.Add(e.r.s.params.LeaseTimeout)
	if !changed {
		return
	}
	e.since = now
	ch := MixerChange{Room: e.r.hash, Time: now.UTC(), Term: term, Mixer: m.String(), Nick: e.nick(m), Reason: reason}
	e.history = append(e.history, ch)
	if len(e.history) > maxMixerHistory {
		e.history = e.history[1:]
	}
	e.r.s.events(EventMixerChanged, ch)
}

// maxTermJump is how far beyond the highest term a node knows an election
// message's term may be. Honest terms grow by one per candidacy, so a room
// needs a million elections to get there; a liar cannot push the term to
// where it no longer encodes (2^53) and freeze every later candidacy.
const maxTermJump = 1 << 20

// fromMember reports whether an election message or report from p counts:
// p is the node itself or a member present in the room.
func (e *election) fromMember(p peer.ID) bool {
	if p == e.self() || e.r.isMember(p) {
		return true
	}
	e.r.s.stats.electIgnored.Add(1)
	return false
}

// forget drops what the election keeps of a departed member.
func (e *election) forget(p peer.ID) {
	e.mu.Lock()
	delete(e.reports, p)
	delete(e.claimed, p)
	delete(e.unheard, p)
	e.mu.Unlock()
}

// onReport takes a member's capability report.
func (e *election) onReport(from peer.ID, c CapReport) {
	if !e.fromMember(from) {
		return
	}
	e.mu.Lock()
	e.reports[from] = c
	e.mu.Unlock()
}

// onElect takes an election message from its author.
func (e *election) onElect(from peer.ID, m Elect) {
	if !e.fromMember(from) {
		return
	}
	now := time.Now()
	var out []Elect
	e.mu.Lock()
	if m.Op != OpPolicy && m.Term > max(e.term, e.votedTerm)+maxTermJump {
		e.mu.Unlock()
		e.r.s.stats.electIgnored.Add(1)
		return
	}
	alive := e.present
	if m.Op == OpCandidate || m.Op == OpVote && !alive[from] {
		// A candidacy (rare) is judged on who is present now: the
		// incumbent may have gone since the last tick. A vote from a
		// member that joined since then is counted too.
		e.mu.Unlock()
		alive = e.alive()
		e.mu.Lock()
		e.notePresentLocked(alive, now)
	}
	delete(e.unheard, from)
	if alive == nil {
		alive = map[peer.ID]bool{e.self(): true}
	}
	me := e.self()
	if m.Report != nil && (m.Op == OpCandidate || m.Op == OpHeartbeat) && m.Peer == from {
		e.reports[from] = *m.Report
	}
	switch m.Op {
	case OpPolicy:
		e.mergePolicyLocked(m.Policy)
	case OpCandidate:
		if m.Peer != from || m.Term < e.term {
			break
		}
		if _, ok := e.reports[from]; !ok {
			e.claimed[from] = m.Score
		}
		e.mergePolicyLocked(m.Policy)
		if m.Term == e.votedTerm && e.votedFor == from {
			out = append(out, Elect{Op: OpVote, Term: m.Term, Peer: from}) // again: it may not have arrived
			break
		}
		if m.Term <= e.votedTerm || m.Term <= e.term {
			break
		}
		if want, _ := e.desiredLocked(alive, now); want != from {
			break
		}
		e.votedTerm, e.votedFor = m.Term, from
		out = append(out, Elect{Op: OpVote, Term: m.Term, Peer: from})
	case OpVote:
		c := e.cand
		if m.Peer != me || c == nil || m.Term != c.term || !now.Before(c.deadline) {
			break
		}
		c.votes[from] = true
		if e.countLocked(alive) {
			out = append(out, e.winLocked(now))
		}
	case OpHeartbeat:
		if m.Peer != from {
			break
		}
		e.mergePolicyLocked(m.Policy)
		if e.policy.newer(m.Policy) && now.Sub(e.lastPolicy) >= e.r.s.params.HeartbeatInterval {
			// The mixer missed a policy change: send it again.
			e.lastPolicy = now
			out = append(out, Elect{Op: OpPolicy, Policy: e.policy})
		}
		switch {
		case m.Term > e.term || m.Term == e.term && (e.mixer == "" || e.mixer == from || !e.leaseValidLocked(alive, now)):
			// A higher term, the current mixer, or (after a partition
			// healed) the other mixer of this term once ours went quiet.
			if e.cand != nil && e.cand.term <= m.Term {
				e.cand = nil
			}
			e.setMixerLocked(m.Term, from, m.Reason, now)
		case m.Term == e.term:
			// Two mixers in one term: only after a partition healed. A
			// mixer ranked lower steps down; everyone elects a new term.
			e.conflictTerm = m.Term
			if e.mixer == me && e.betterLocked(from, me) {
				e.setMixerLocked(m.Term, from, m.Reason, now)
			}
		}
	}
	e.mu.Unlock()
	for _, x := range out {
		e.r.publishElect(x)
	}
}

func (e *election) mergePolicyLocked(p Policy) {
	if p.newer(e.policy) {
		e.policy = p
	}
}

// setPolicy changes the room's policy for everyone.
func (e *election) setPolicy(f func(*Policy)) Policy {
	e.mu.Lock()
	p := e.policy
	f(&p)
	p.Seq, p.Setter = e.policy.Seq+1, e.self()
	e.policy = p
	e.lastPolicy = time.Now()
	e.mu.Unlock()
	e.r.publishElect(Elect{Op: OpPolicy, Policy: p})
	return p
}

// run is the room's election loop.
func (e *election) run(ctx context.Context) {
	t := time.NewTicker(e.r.s.params.ElectionTick)
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

func (e *election) topologyLocked(alive map[peer.ID]bool) Topology {
	t := Topology{Room: e.r.hash, Term: e.term, Mixer: e.mixer}
	for p := range alive {
		t.Members = append(t.Members, p)
	}
	sort.Slice(t.Members, func(i, j int) bool { return t.Members[i] < t.Members[j] })
	meshMax := e.meshMaxLocked()
	switch e.policy.Topology {
	case TopologyMesh, TopologyStar:
		t.Mode = e.policy.Topology
	default:
		t.Mode = TopologyMesh
		if len(alive) > meshMax {
			t.Mode = TopologyStar
		}
	}
	if t.Mode == TopologyStar && (t.Mixer == "" || !alive[t.Mixer]) {
		t.Mode = TopologyMesh // no mixer yet: everyone to everyone until one is elected
	}
	return t
}

func (e *election) meshMaxLocked() int {
	if e.policy.MeshMax > 0 {
		return int(e.policy.MeshMax)
	}
	return e.r.s.params.MeshMax
}

// topology is the room's media topology now (cheaper than info).
func (e *election) topology() Topology {
	alive := e.alive()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.topologyLocked(alive)
}

func (e *election) info() (MixerInfo, Topology) {
	alive := e.alive()
	e.mu.Lock()
	defer e.mu.Unlock()
	me := e.self()
	in := MixerInfo{Room: e.r.hash, Name: e.r.key.Name, Term: e.term, Since: e.since.UTC(), Reason: e.reason,
		Policy: e.policy, MeshMax: e.meshMaxLocked(), History: append([]MixerChange{}, e.history...),
		Won: append([]uint64(nil), e.won...)}
	if e.mixer != "" {
		in.Mixer, in.Nick = e.mixer.String(), e.nick(e.mixer)
	}
	topo := e.topologyLocked(alive)
	in.Topology = topo.Mode
	ids := map[peer.ID]bool{}
	for p := range alive {
		ids[p] = true
	}
	for p := range e.reports {
		ids[p] = true
	}
	for p := range ids {
		ms := MemberScore{ID: p.String(), Nick: e.nick(p), Alive: alive[p], Mixer: p == e.mixer, Me: p == me}
		ms.Score, _ = e.scoreLocked(p)
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
