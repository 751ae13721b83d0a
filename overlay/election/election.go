package election

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MaxHistory bounds a room's mixer history.
const MaxHistory = 32

// MaxWon bounds the list of terms a node won.
const MaxWon = 256

// MaxTermJump is how far beyond the highest term a node knows an election
// message's term may be. Honest terms grow by one per candidacy, so a room
// needs a million elections to get there; a liar cannot push the term to
// where it no longer encodes (2^53) and freeze every later candidacy.
const MaxTermJump = 1 << 20

// Config is what a machine needs of its room.
type Config struct {
	// Self is the node.
	Self peer.ID
	// Params are the tunables (see DefaultParams).
	Params Params
	// Name is a member's name in reasons (nil: its peer ID). It must not
	// call the machine.
	Name func(peer.ID) string
	// Jitter returns a random duration in [0, d] (nil: math/rand/v2).
	Jitter func(d time.Duration) time.Duration
	// MeshMax is the room's default largest mesh, for Topology.
	MeshMax int
}

// Machine is one room's election state. It is not safe for concurrent
// use: the caller serializes its calls.
type Machine struct {
	cfg Config

	scores    map[peer.ID]uint64 // from the members' capability reports
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
	history      []Change
	lastReport   time.Time // when Tick last asked for the report again
	lastPolicy   time.Time // when the node last republished its policy
	// present is the alive set of the last step: who arrives is told
	// against it.
	present map[peer.ID]bool
	// bestPresent caches best(present) while present and the scores stay
	// (bestKnown): every tick asks, in a room of 50 that was 50 score
	// lookups ten times a second at every member.
	bestPresent peer.ID
	bestKnown   bool
	// unheard holds the members that became present at the given time and
	// have sent no election message since (see the package comment).
	unheard map[peer.ID]time.Time
	// seen is the highest term a heartbeat or a member's policy carried
	// (the term it is in). A mixer
	// that learns of a higher term than its own (from a member whose own
	// mixer went quiet: a liar, or a partition's other side) is elected
	// again, in a term above it, so that every member follows one mixer.
	seen uint64
	// lowerBeat is when a heartbeat of a term below the node's last came:
	// a mixer behind; the node then tells its term (see Tick).
	lowerBeat time.Time
	won       []uint64
}

type candidacy struct {
	term     uint64
	votes    map[peer.ID]bool
	deadline time.Time
	sent     time.Time
	reason   string
}

// New returns the machine of a room with no mixer yet.
func New(cfg Config) (*Machine, error) {
	if cfg.Self == "" {
		return nil, fmt.Errorf("election: Self is required")
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == nil {
		cfg.Name = func(p peer.ID) string { return p.String() }
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration { return rand.N(d + 1) }
	}
	return &Machine{cfg: cfg, scores: map[peer.ID]uint64{}, claimed: map[peer.ID]uint64{}, unheard: map[peer.ID]time.Time{}}, nil
}

func (m *Machine) self() peer.ID { return m.cfg.Self }

// SetScore records p's score from its capability report.
func (m *Machine) SetScore(p peer.ID, score uint64) {
	if old, ok := m.scores[p]; !ok || old != score {
		m.bestKnown = false
	}
	m.scores[p] = score
}

// Score is p's score: from its report, else from its candidacy.
func (m *Machine) Score(p peer.ID) (uint64, bool) {
	if s, ok := m.scores[p]; ok {
		return s, true
	}
	s, ok := m.claimed[p]
	return s, ok
}

// Scored returns the members with a score from a report.
func (m *Machine) Scored() []peer.ID {
	out := make([]peer.ID, 0, len(m.scores))
	for p := range m.scores {
		out = append(out, p)
	}
	return out
}

// Forget drops what the machine keeps of a departed member.
func (m *Machine) Forget(p peer.ID) {
	m.bestKnown = false
	delete(m.scores, p)
	delete(m.claimed, p)
	delete(m.unheard, p)
}

// State is the machine's view of the room.
type State struct {
	Term   uint64
	Mixer  peer.ID
	Since  time.Time
	Reason string
	Policy Policy
	// History is the latest mixer changes, oldest first.
	History []Change
	// Won is the terms the node won, oldest first.
	Won []uint64
}

// State returns the current state (copies).
func (m *Machine) State() State {
	return State{Term: m.term, Mixer: m.mixer, Since: m.since, Reason: m.reason, Policy: m.policy,
		History: append([]Change(nil), m.history...), Won: append([]uint64(nil), m.won...)}
}

// better reports whether a ranks above b: higher score, then lower ID.
func (m *Machine) better(a, b peer.ID) bool {
	sa, _ := m.Score(a)
	sb, _ := m.Score(b)
	if sa != sb {
		return sa > sb
	}
	return a < b
}

// best is the alive member with a known score that ranks first.
func (m *Machine) best(alive map[peer.ID]bool) peer.ID {
	present := m.present != nil && reflect.ValueOf(alive).UnsafePointer() == reflect.ValueOf(m.present).UnsafePointer()
	if present && m.bestKnown {
		return m.bestPresent
	}
	var best peer.ID
	for p := range alive {
		if _, ok := m.Score(p); !ok && p != m.self() {
			continue
		}
		if best == "" || m.better(p, best) {
			best = p
		}
	}
	if present {
		m.bestPresent, m.bestKnown = best, true
	}
	return best
}

// leaseValid reports whether the current mixer holds a live lease.
func (m *Machine) leaseValid(alive map[peer.ID]bool, now time.Time) bool {
	return m.mixer != "" && alive[m.mixer] && now.Before(m.lease)
}

func (m *Machine) conflict() bool { return m.conflictTerm != 0 && m.conflictTerm == m.term }

// Desired returns who should be the mixer among alive, and why: the pinned
// member when it is alive; else the incumbent unless the best beats it by
// the margin; else the best.
func (m *Machine) Desired(alive map[peer.ID]bool, now time.Time) (peer.ID, string) {
	name := m.cfg.Name
	if pin := m.policy.Pin; pin != "" && alive[pin] {
		return pin, "pinned by " + name(m.policy.Setter)
	}
	best := m.best(alive)
	if m.conflict() {
		return best, "two mixers in one term after a partition healed"
	}
	if !m.leaseValid(alive, now) {
		why := m.bestReason(best, len(alive))
		switch {
		case m.mixer == "":
			return best, "no mixer yet: " + why
		case !alive[m.mixer]:
			return best, fmt.Sprintf("mixer %s is gone: %s", name(m.mixer), why)
		default:
			return best, fmt.Sprintf("mixer %s stopped its heartbeats: %s", name(m.mixer), why)
		}
	}
	if best == m.mixer || best == "" {
		return m.mixer, m.reason
	}
	sb, _ := m.Score(best)
	sm, known := m.Score(m.mixer)
	if sb*100 > sm*uint64(100+m.cfg.Params.MarginPct) {
		if !known || sm == 0 {
			return best, fmt.Sprintf("%s (score %d) replaces mixer %s, whose score is not known yet", name(best), sb, name(m.mixer))
		}
		return best, fmt.Sprintf("%s's score %d beats mixer %s's %d by more than %d%%", name(best), sb, name(m.mixer), sm, m.cfg.Params.MarginPct)
	}
	return m.mixer, m.reason
}

// bestReason says why best is chosen among n alive members.
func (m *Machine) bestReason(best peer.ID, n int) string {
	if best == "" {
		return "no member has reported its capabilities yet"
	}
	if n <= 1 {
		return fmt.Sprintf("%s is the only member", m.cfg.Name(best))
	}
	return fmt.Sprintf("%s has the best score of the %d members", m.cfg.Name(best), n)
}

// look takes who is alive now (the node itself always) and notes who
// arrived.
func (m *Machine) look(now time.Time, in map[peer.ID]bool) map[peer.ID]bool {
	if m.unchanged(in) {
		return m.present // every tick between membership changes
	}
	alive := make(map[peer.ID]bool, len(in)+1)
	for p, ok := range in {
		if ok {
			alive[p] = true
		}
	}
	alive[m.self()] = true
	for p := range alive {
		if !m.present[p] && p != m.self() && m.present != nil {
			m.unheard[p] = now
		}
	}
	for p := range m.unheard {
		if !alive[p] {
			delete(m.unheard, p)
		}
	}
	m.present, m.bestKnown = alive, false
	return alive
}

// unchanged reports whether in names exactly the members present (besides
// the node itself, which is always present).
func (m *Machine) unchanged(in map[peer.ID]bool) bool {
	if m.present == nil {
		return false
	}
	n := 1 // the node itself
	for p, ok := range in {
		if !ok || p == m.self() {
			continue
		}
		if !m.present[p] {
			return false
		}
		n++
	}
	return n == len(m.present)
}

// waiting reports whether, in a room that has had a term, a member that
// arrived less than LeaseTimeout ago has sent no election message yet.
func (m *Machine) waiting(now time.Time) bool {
	if m.term == 0 {
		return false
	}
	for p, at := range m.unheard {
		if now.Sub(at) < m.cfg.Params.LeaseTimeout {
			return true
		}
		delete(m.unheard, p)
	}
	return false
}

// majority reports whether the running candidacy has votes from more than
// half of alive.
func (m *Machine) majority(alive map[peer.ID]bool) bool {
	n := 0
	for v := range m.cand.votes {
		if alive[v] {
			n++
		}
	}
	return n*2 > len(alive)
}

// canWin reports whether the running candidacy wins now: it has a majority
// of the members alive, and no member that just arrived is unheard.
func (m *Machine) canWin(now time.Time, alive map[peer.ID]bool) bool {
	return !m.waiting(now) && m.majority(alive)
}

func (m *Machine) candidacyMsg(c *candidacy) Msg {
	s, _ := m.Score(m.self())
	return Msg{Op: OpCandidate, Term: c.term, Peer: m.self(), Score: s, Reason: c.reason, Policy: m.policy}
}

// Tick runs the timers: heartbeats while mixer, a candidacy when the node
// should be the mixer and is not. alive is who the node counts now: every
// member that is connected and present (the node itself is added).
func (m *Machine) Tick(now time.Time, alive map[peer.ID]bool) Output {
	var out Output
	alive = m.look(now, alive)
	p := m.cfg.Params
	me := m.self()
	if m.mixer == me && now.Sub(m.lastBeat) >= p.HeartbeatInterval {
		m.lastBeat = now
		m.lease = now.Add(p.LeaseTimeout)
		out.Send = append(out.Send, Msg{Op: OpHeartbeat, Term: m.term, Peer: me, Policy: m.policy, Reason: m.reason})
	}
	if !m.leaseValid(alive, now) && now.Sub(m.lastReport) >= p.HeartbeatInterval*4 {
		// No mixer: members may disagree on who is best because a report
		// was lost; send ours again so that their views converge. And the
		// policy (a pin may have been lost), with the node's term when a
		// mixer of a lower term is heartbeating, so that it learns of it.
		m.lastReport = now
		out.Report = true
		if m.policy.Seq > 0 || m.term > 0 && now.Sub(m.lowerBeat) < p.LeaseTimeout {
			out.Send = append(out.Send, Msg{Op: OpPolicy, Policy: m.policy, Term: m.term})
		}
	}
	stale := m.mixer == me && m.seen > m.term // a member is in a higher term
	want, why := m.Desired(alive, now)
	if stale {
		why = fmt.Sprintf("a member is in term %d, above this mixer's %d", m.seen, m.term)
	}
	if want != me || m.mixer == me && m.leaseValid(alive, now) && !m.conflict() && !stale {
		if want != me {
			m.cand = nil
		}
		return out
	}
	c := m.cand
	switch {
	case c != nil && now.Before(c.deadline):
		if m.canWin(now, alive) {
			out.add(m.win(now))
		} else if now.Sub(c.sent) >= p.HeartbeatInterval {
			c.sent = now // ask again: a candidacy or a vote may have been dropped
			out.Send = append(out.Send, m.candidacyMsg(c))
		}
	case c != nil && m.retryAt.IsZero():
		// Lost (no majority in time): retry after a random pause, so that
		// two candidates do not keep splitting the votes.
		m.retryAt = now.Add(m.cfg.Jitter(p.ElectionTimeout / 2))
	case m.waiting(now):
		// A member just arrived: hear it first.
	case c == nil || !now.Before(m.retryAt):
		term := max(m.term, m.votedTerm, m.seen) + 1
		if c != nil {
			term = max(term, c.term+1)
		}
		m.cand = &candidacy{term: term, votes: map[peer.ID]bool{me: true}, deadline: now.Add(p.ElectionTimeout), sent: now, reason: why}
		m.retryAt = time.Time{}
		m.votedTerm, m.votedFor = term, me
		if m.majority(alive) {
			out.add(m.win(now))
		} else {
			out.Send = append(out.Send, m.candidacyMsg(m.cand))
		}
	}
	return out
}

// win makes the node the mixer of its candidacy's term and returns the
// first heartbeat.
func (m *Machine) win(now time.Time) Output {
	c := m.cand
	m.cand = nil
	m.won = append(m.won, c.term)
	if len(m.won) > MaxWon {
		m.won = m.won[1:]
	}
	out := m.setMixer(c.term, m.self(), c.reason, now)
	m.lastBeat = now
	out.Send = append(out.Send, Msg{Op: OpHeartbeat, Term: c.term, Peer: m.self(), Policy: m.policy, Reason: c.reason})
	return out
}

// setMixer records a new (term, mixer) and returns the change.
func (m *Machine) setMixer(term uint64, p peer.ID, reason string, now time.Time) Output {
	changed := term != m.term || p != m.mixer
	m.term, m.mixer, m.reason = term, p, reason
	m.lease = now.Add(m.cfg.Params.LeaseTimeout)
	if !changed {
		return Output{}
	}
	m.since = now
	ch := Change{Time: now, Term: term, Mixer: p, Name: m.cfg.Name(p), Reason: reason}
	m.history = append(m.history, ch)
	if len(m.history) > MaxHistory {
		m.history = m.history[1:]
	}
	return Output{Changes: []Change{ch}}
}

// NeedsAlive reports whether Handle needs who is alive now for this
// message: a candidacy is judged on who is present now (the incumbent may
// have gone since the last tick), a vote from a member that arrived since
// then is counted, and a win is counted on who is alive now. Other
// messages are handled with the set of the last step, which saves asking
// for it on every heartbeat and vote.
func (m *Machine) NeedsAlive(from peer.ID, msg Msg) bool {
	if m.present == nil || msg.Op == OpCandidate || msg.Op == OpVote && !m.present[from] {
		return true
	}
	// The vote that makes a majority: the win is counted on who is alive
	// now (a partition may just have healed).
	c := m.cand
	if msg.Op != OpVote || c == nil || msg.Peer != m.self() || msg.Term != c.term || c.votes[from] {
		return false
	}
	n := 1 // from
	for v := range c.votes {
		if m.present[v] {
			n++
		}
	}
	return n*2 > len(m.present)
}

// Handle takes an election message from its author, a member of the room
// (the caller checks that), with who is alive now (as for Tick), or nil
// when NeedsAlive said it is not needed. It returns false when the message
// is ignored as hostile: a term absurdly far beyond the node's.
func (m *Machine) Handle(now time.Time, from peer.ID, msg Msg, alive map[peer.ID]bool) (Output, bool) {
	var out Output
	if msg.Term > max(m.term, m.votedTerm)+MaxTermJump {
		if msg.Op != OpPolicy {
			return out, false
		}
		msg.Term = 0 // a policy is taken; its absurd term is not
	}
	if msg.Op == OpHeartbeat || msg.Op == OpPolicy {
		// A term some member is in (a candidacy's is only asked for: it
		// must not depose a mixer by itself).
		m.seen = max(m.seen, msg.Term)
	}
	if alive != nil || m.present == nil {
		alive = m.look(now, alive)
	} else {
		alive = m.present
	}
	delete(m.unheard, from)
	me := m.self()
	if msg.HasReport && (msg.Op == OpCandidate || msg.Op == OpHeartbeat) && msg.Peer == from {
		m.SetScore(from, msg.ReportScore)
	}
	switch msg.Op {
	case OpPolicy:
		m.mergePolicy(msg.Policy)
	case OpCandidate:
		if msg.Peer != from || msg.Term < m.term {
			break
		}
		if _, ok := m.scores[from]; !ok {
			if old, ok := m.claimed[from]; !ok || old != msg.Score {
				m.bestKnown = false
			}
			m.claimed[from] = msg.Score
		}
		m.mergePolicy(msg.Policy)
		if msg.Term == m.votedTerm && m.votedFor == from {
			out.Send = append(out.Send, Msg{Op: OpVote, Term: msg.Term, Peer: from}) // again: it may not have arrived
			break
		}
		if msg.Term <= m.votedTerm || msg.Term <= m.term {
			break
		}
		if want, _ := m.Desired(alive, now); want != from {
			break
		}
		m.votedTerm, m.votedFor = msg.Term, from
		out.Send = append(out.Send, Msg{Op: OpVote, Term: msg.Term, Peer: from})
	case OpVote:
		c := m.cand
		if msg.Peer != me || c == nil || msg.Term != c.term || !now.Before(c.deadline) {
			break
		}
		c.votes[from] = true
		if m.canWin(now, alive) {
			out.add(m.win(now))
		}
	case OpHeartbeat:
		if msg.Peer != from {
			break
		}
		m.mergePolicy(msg.Policy)
		if m.policy.Newer(msg.Policy) && now.Sub(m.lastPolicy) >= m.cfg.Params.HeartbeatInterval {
			// The mixer missed a policy change: send it again.
			m.lastPolicy = now
			out.Send = append(out.Send, Msg{Op: OpPolicy, Policy: m.policy})
		}
		if msg.Term < m.term {
			m.lowerBeat = now
		}
		switch {
		case msg.Term > m.term || msg.Term == m.term && (m.mixer == "" || m.mixer == from || !m.leaseValid(alive, now)):
			// A higher term, the current mixer, or (after a partition
			// healed) the other mixer of this term once ours went quiet.
			if m.cand != nil && m.cand.term <= msg.Term {
				m.cand = nil
			}
			out.add(m.setMixer(msg.Term, from, msg.Reason, now))
		case msg.Term == m.term:
			// Two mixers in one term: only after a partition healed. A
			// mixer ranked lower steps down; everyone elects a new term.
			m.conflictTerm = msg.Term
			if m.mixer == me && m.better(from, me) {
				out.add(m.setMixer(msg.Term, from, msg.Reason, now))
			}
		}
	}
	return out, true
}

func (m *Machine) mergePolicy(p Policy) {
	if p.Newer(m.policy) {
		m.policy = p
	}
}

// SetPolicy changes the room's policy for everyone: it returns the new
// policy and the message that carries it.
func (m *Machine) SetPolicy(now time.Time, f func(*Policy)) (Policy, Msg) {
	p := m.policy
	f(&p)
	p.Seq, p.Setter = m.policy.Seq+1, m.self()
	m.policy = p
	m.lastPolicy = now
	return p, Msg{Op: OpPolicy, Policy: p}
}

// Topology is the room's media topology: the mixer, the mode and who
// sends media to whom.
type Topology struct {
	Term  uint64
	Mixer peer.ID
	// Mode is TopologyMesh or TopologyStar.
	Mode    string
	Members []peer.ID // alive members, the node included, sorted
}

// MeshMax is the largest room run as a mesh: the policy's, else the
// default.
func (m *Machine) MeshMax() int {
	if m.policy.MeshMax > 0 {
		return int(m.policy.MeshMax)
	}
	return m.cfg.MeshMax
}

// Topology returns the room's media topology among alive: the policy's
// mode, else a mesh up to MeshMax members and a star beyond; a mesh while
// a star has no live mixer.
func (m *Machine) Topology(alive map[peer.ID]bool) Topology {
	t := Topology{Term: m.term, Mixer: m.mixer}
	for p := range alive {
		t.Members = append(t.Members, p)
	}
	slices.Sort(t.Members)
	switch m.policy.Topology {
	case TopologyMesh, TopologyStar:
		t.Mode = m.policy.Topology
	default:
		t.Mode = TopologyMesh
		if len(alive) > m.MeshMax() {
			t.Mode = TopologyStar
		}
	}
	if t.Mode == TopologyStar && (t.Mixer == "" || !alive[t.Mixer]) {
		t.Mode = TopologyMesh // no mixer yet: everyone to everyone until one is elected
	}
	return t
}
