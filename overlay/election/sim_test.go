package election

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// sim runs machines on a fake clock and an in-memory network: each step
// ticks every machine and delivers what it sends to the members of its
// side of the partition, losing a share of the messages.
type sim struct {
	t     *testing.T
	now   time.Time
	ids   []peer.ID
	ms    map[peer.ID]*Machine
	score map[peer.ID]uint64
	side  map[peer.ID]int // partition: members see the members of their side
	down  map[peer.ID]bool
	mute  map[peer.ID]bool // sends nothing (its messages are lost)
	loss  float64
	// noReports loses the capability reports the machines ask to publish.
	noReports bool
	rng       *rand.Rand
	params    Params
	queue     []delivery
	// wins records every term won and by whom, with the time.
	wins map[uint64][]win
}

type delivery struct {
	from, to peer.ID
	msg      Msg
}

type win struct {
	by peer.ID
	at time.Time
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func newSim(t *testing.T, scores ...uint64) *sim {
	s := &sim{t: t, now: t0, ms: map[peer.ID]*Machine{}, score: map[peer.ID]uint64{}, side: map[peer.ID]int{},
		down: map[peer.ID]bool{}, mute: map[peer.ID]bool{}, rng: rand.New(rand.NewPCG(1, 2)), params: DefaultParams(),
		wins: map[uint64][]win{}}
	for i, sc := range scores {
		s.add(peer.ID(fmt.Sprintf("n%d", i)), sc)
	}
	return s
}

// add starts a member with a score; every member learns it (its report).
func (s *sim) add(id peer.ID, score uint64) *Machine {
	s.t.Helper()
	m, err := New(Config{Self: id, Params: s.params, MeshMax: 4,
		Name:   func(p peer.ID) string { return string(p) },
		Jitter: func(d time.Duration) time.Duration { return time.Duration(s.rng.Int64N(int64(d) + 1)) }})
	if err != nil {
		s.t.Fatal(err)
	}
	s.ids = append(s.ids, id)
	s.ms[id] = m
	s.score[id] = score
	for _, p := range s.ids {
		s.ms[p].SetScore(id, score)
		m.SetScore(p, s.score[p])
	}
	return m
}

// aliveFor is who id sees: the members up on its side.
func (s *sim) aliveFor(id peer.ID) map[peer.ID]bool {
	out := map[peer.ID]bool{}
	for _, p := range s.ids {
		if !s.down[p] && s.side[p] == s.side[id] {
			out[p] = true
		}
	}
	return out
}

// apply sends what from's machine asked for.
func (s *sim) apply(from peer.ID, out Output) {
	for _, m := range out.Send {
		for _, to := range s.ids {
			if to != from && !s.down[to] && !s.mute[from] && s.side[to] == s.side[from] && s.rng.Float64() >= s.loss {
				s.queue = append(s.queue, delivery{from, to, m})
			}
		}
		if m.Op == OpHeartbeat && m.Peer == from && s.isWin(from, m.Term) {
			s.wins[m.Term] = append(s.wins[m.Term], win{from, s.now})
		}
	}
	if out.Report && !s.noReports {
		for _, to := range s.ids {
			if s.side[to] == s.side[from] && !s.mute[from] {
				s.ms[to].SetScore(from, s.score[from])
			}
		}
	}
}

// isWin reports whether term is the newest won term of id, not recorded yet.
func (s *sim) isWin(id peer.ID, term uint64) bool {
	won := s.ms[id].State().Won
	if len(won) == 0 || won[len(won)-1] != term {
		return false
	}
	return !slices.ContainsFunc(s.wins[term], func(w win) bool { return w.by == id })
}

// step advances the clock by one tick: every machine ticks, then every
// message sent is delivered (and the answers, until none is left).
func (s *sim) step() {
	s.now = s.now.Add(s.params.Tick)
	for _, id := range s.ids {
		if !s.down[id] {
			s.apply(id, s.ms[id].Tick(s.now, s.aliveFor(id)))
		}
	}
	for len(s.queue) > 0 {
		d := s.queue[0]
		s.queue = s.queue[1:]
		if s.down[d.to] {
			continue
		}
		var alive map[peer.ID]bool
		if s.ms[d.to].NeedsAlive(d.from, d.msg) {
			alive = s.aliveFor(d.to)
		}
		out, ok := s.ms[d.to].Handle(s.now, d.from, d.msg, alive)
		if !ok {
			s.t.Fatalf("%s ignored an honest message from %s: %+v", d.to, d.from, d.msg)
		}
		s.apply(d.to, out)
	}
}

// run steps for d of simulated time.
func (s *sim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.step()
	}
}

// agreed returns the mixer every up member of ids sees, or "".
func (s *sim) agreed(ids []peer.ID) (peer.ID, uint64) {
	var m peer.ID
	var term uint64
	for i, id := range ids {
		if s.down[id] {
			continue
		}
		st := s.ms[id].State()
		if st.Mixer == "" || i > 0 && m != "" && (st.Mixer != m || st.Term != term) {
			return "", 0
		}
		m, term = st.Mixer, st.Term
	}
	return m, term
}

// settle steps until the members of ids agree on a mixer (at most limit).
func (s *sim) settle(ids []peer.ID, limit time.Duration) (peer.ID, uint64) {
	s.t.Helper()
	for end := s.now.Add(limit); s.now.Before(end); {
		s.step()
		if m, term := s.agreed(ids); m != "" {
			return m, term
		}
	}
	for _, id := range ids {
		st := s.ms[id].State()
		s.t.Logf("%s sees %s term %d (%s)", id, st.Mixer, st.Term, st.Reason)
	}
	s.t.Fatalf("no agreement within %v", limit)
	return "", 0
}

// checkUnique fails when a term was won by two members.
func (s *sim) checkUnique(what string) {
	s.t.Helper()
	for term, ws := range s.wins {
		if len(ws) > 1 {
			s.t.Fatalf("%s: term %d won by %d members: %v", what, term, len(ws), ws)
		}
	}
}
