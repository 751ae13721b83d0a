package election

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSingleMemberElectsItselfOnFirstTick(t *testing.T) {
	s := newSim(t, 10)
	s.step()
	st := s.ms["n0"].State()
	if st.Mixer != "n0" || st.Term != 1 || !strings.Contains(st.Reason, "n0 is the only member") {
		t.Fatalf("state %+v, want n0 mixer of term 1 as the only member", st)
	}
}

func TestBestScoreIsElectedOnceByAll(t *testing.T) {
	s := newSim(t, 10, 50, 30, 20, 40)
	m, term := s.settle(s.ids, 5*time.Second)
	if m != "n1" || term != 1 {
		t.Fatalf("mixer %s term %d, want n1 term 1", m, term)
	}
	if st := s.ms["n3"].State(); !strings.Contains(st.Reason, "n1 has the best score of the 5 members") {
		t.Fatalf("reason %q", st.Reason)
	}
	s.run(10 * time.Second) // heartbeats keep it: no new term
	if m2, term2 := s.agreed(s.ids); m2 != m || term2 != term {
		t.Fatalf("after 10 s: %s term %d, want %s term %d", m2, term2, m, term)
	}
	s.checkUnique("stable room")
	if h := s.ms["n0"].State().History; len(h) != 1 || h[0].Mixer != "n1" || h[0].Time.IsZero() {
		t.Fatalf("history %+v", h)
	}
}

// A member votes once per term, only for the member it would elect, and
// repeats a vote it gave (the first may have been lost).
func TestVotesOncePerTermForTheDesired(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	v := s.ms["n0"]
	s.now = s.now.Add(time.Second)
	v.Tick(s.now, s.aliveFor("n0")) // n0 sees everyone, wants n1
	vote := func(from peer.ID, term uint64) bool {
		out, ok := v.Handle(s.now, from, Msg{Op: OpCandidate, Term: term, Peer: from, Score: s.score[from]}, s.aliveFor("n0"))
		if !ok {
			t.Fatal("candidacy ignored as hostile")
		}
		return len(out.Send) == 1 && out.Send[0].Op == OpVote && out.Send[0].Peer == from && out.Send[0].Term == term
	}
	if vote("n2", 1) {
		t.Fatal("voted for n2, whose score is not the best")
	}
	if !vote("n1", 1) {
		t.Fatal("no vote for n1, the best")
	}
	if !vote("n1", 1) {
		t.Fatal("the vote for n1 was not repeated")
	}
	s.ms["n0"].SetScore("n2", 90) // n2 is now best, but n0 voted in term 1
	if vote("n2", 1) {
		t.Fatal("two votes in term 1")
	}
	if !vote("n2", 2) {
		t.Fatal("no vote for n2 in term 2")
	}
	// A candidacy for someone else is no candidacy.
	out, _ := v.Handle(s.now, "n1", Msg{Op: OpCandidate, Term: 3, Peer: "n2"}, s.aliveFor("n0"))
	if len(out.Send) != 0 {
		t.Fatalf("answered a candidacy whose peer is not its author: %+v", out.Send)
	}
}

// Two candidates that split the votes retry after random pauses; once the
// reports reach everyone, one wins, and no term has two mixers.
func TestSplitVoteRetriesUntilOneWins(t *testing.T) {
	s := newSim(t, 50, 50, 10, 10)
	// n0 and n1 each believe themselves best, n2 and n3 disagree which.
	s.ms["n0"].SetScore("n1", 1)
	s.ms["n1"].SetScore("n0", 1)
	s.ms["n2"].SetScore("n1", 1)
	s.ms["n3"].SetScore("n0", 1)
	s.noReports = true
	s.step()
	if c0, c1 := s.ms["n0"].cand, s.ms["n1"].cand; c0 == nil || c1 == nil || c0.term != 1 || c1.term != 1 {
		t.Fatal("want two candidacies in term 1")
	}
	if m, _ := s.agreed(s.ids); m != "" {
		t.Fatalf("a majority of 4 from split votes: %s", m)
	}
	s.run(3 * time.Second)
	if m, _ := s.agreed(s.ids); m != "" {
		t.Fatalf("a majority of 4 from split votes: %s", m)
	}
	s.noReports = false // the reports get through: the views agree
	m, term := s.settle(s.ids, 20*time.Second)
	if m != "n0" || term < 2 {
		t.Fatalf("mixer %s term %d, want n0 (ties go to the lower ID) in a later term", m, term)
	}
	s.checkUnique("split vote")
}

// Heartbeats renew the lease; a mixer whose heartbeats stop is replaced
// by a better member after LeaseTimeout (the hysteresis no longer holds),
// one that leaves at once.
func TestLeaseExpiresWithoutHeartbeats(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	m, term := s.settle(s.ids, 5*time.Second)
	for _, id := range s.ids { // n2 is better now, but not by the margin
		s.ms[id].SetScore("n2", 55)
	}
	s.score["n2"] = 55
	s.run(5 * time.Second)
	if m2, _ := s.agreed(s.ids); m2 != m {
		t.Fatalf("within the margin the mixer changed to %s", m2)
	}
	s.mute[m] = true
	start := s.now
	for {
		s.step()
		if st := s.ms["n0"].State(); st.Mixer != m {
			if st.Mixer != "n2" || st.Term <= term || !strings.Contains(st.Reason, "mixer n1 stopped its heartbeats") {
				t.Fatalf("after silence: %+v", st)
			}
			break
		}
		if s.now.Sub(start) > 10*time.Second {
			t.Fatal("the silent mixer kept its lease")
		}
	}
	if d := s.now.Sub(start); d < s.params.LeaseTimeout {
		t.Fatalf("replaced after %v, before the lease of %v ended", d, s.params.LeaseTimeout)
	}
	s.mute[m] = false
	s.settle(s.ids, 5*time.Second)

	// The new mixer leaves: replaced without waiting for its lease.
	s.down["n2"] = true
	start = s.now
	m2, _ := s.settle([]peer.ID{"n0", "n1"}, 5*time.Second)
	if m2 != "n1" || s.now.Sub(start) >= s.params.LeaseTimeout {
		t.Fatalf("after the mixer left: %s after %v", m2, s.now.Sub(start))
	}
	if r := s.ms["n0"].State().History; !strings.Contains(r[len(r)-1].Reason, "mixer n2 is gone") {
		t.Fatalf("reason %q", r[len(r)-1].Reason)
	}
	s.checkUnique("failover")
}

// A better member replaces a live incumbent only with a score more than
// MarginPct higher.
func TestHysteresisKeepsTheIncumbent(t *testing.T) {
	s := newSim(t, 100, 10)
	s.settle(s.ids, 5*time.Second)
	s.add("n2", 115)
	s.run(5 * time.Second)
	if m, _ := s.agreed(s.ids); m != "n0" {
		t.Fatalf("15%% better replaced the incumbent: %s", m)
	}
	for _, id := range s.ids {
		s.ms[id].SetScore("n2", 121)
	}
	s.score["n2"] = 121
	s.run(5 * time.Second)
	m, _ := s.agreed(s.ids)
	if m != "n2" {
		t.Fatalf("21%% better did not replace the incumbent: %s", m)
	}
	if r := s.ms["n1"].State().Reason; !strings.Contains(r, "n2's score 121 beats mixer n0's 100 by more than 20%") {
		t.Fatalf("reason %q", r)
	}
	s.checkUnique("hysteresis")
}

// A pin elects the pinned member while it is present; auto lets the
// scores decide again; the newest policy wins everywhere.
func TestPinAndAuto(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	s.settle(s.ids, 5*time.Second)
	_, msg := s.ms["n0"].SetPolicy(s.now, func(p *Policy) { p.Pin = "n2" })
	s.apply("n0", Output{Send: []Msg{msg}})
	for i := 0; i < 50; i++ {
		s.step()
		if m, _ := s.agreed(s.ids); m == "n2" {
			break
		}
	}
	st := s.ms["n1"].State()
	if st.Mixer != "n2" || st.Reason != "pinned by n0" || st.Policy.Pin != "n2" || st.Policy.Seq != 1 {
		t.Fatalf("after pin: %+v", st)
	}
	// The pinned member leaves: the best is elected; it comes back: pinned again.
	s.down["n2"] = true
	if m, _ := s.settle([]peer.ID{"n0", "n1"}, 5*time.Second); m != "n1" {
		t.Fatalf("pinned member gone: %s", m)
	}
	s.down["n2"] = false
	for i := 0; i < 100; i++ {
		s.step()
		if m, _ := s.agreed(s.ids); m == "n2" {
			break
		}
	}
	if m, _ := s.agreed(s.ids); m != "n2" {
		t.Fatalf("pinned member back: %s", m)
	}
	_, msg = s.ms["n1"].SetPolicy(s.now, func(p *Policy) { p.Pin = "" })
	s.apply("n1", Output{Send: []Msg{msg}})
	s.run(5 * time.Second)
	if m, _ := s.agreed(s.ids); m != "n1" {
		t.Fatalf("auto: %s, want n1 (50 beats 30 by more than the margin)", m)
	}
	// An older policy does not replace a newer one.
	old := Policy{Seq: 1, Setter: "n0", Pin: "n0"}
	s.ms["n0"].Handle(s.now, "n2", Msg{Op: OpPolicy, Policy: old}, s.aliveFor("n0"))
	if p := s.ms["n0"].State().Policy; p.Seq != 2 || p.Pin != "" {
		t.Fatalf("an older policy replaced the newer: %+v", p)
	}
	s.checkUnique("pins")
}

// Under a partition each side elects its own mixer; after healing the
// room agrees on one, and no term won after healing was won before.
func TestPartitionsHealToOneMixer(t *testing.T) {
	for seed := range uint64(20) {
		s := newSim(t, 40, 90, 60, 120, 50, 80)
		s.rng = rand.New(rand.NewPCG(seed, 9))
		s.loss = 0.2
		s.settle(s.ids, 10*time.Second)
		for run := range 5 {
			var sides [2][]peer.ID
			for _, id := range s.ids {
				g := s.rng.IntN(2)
				s.side[id] = g
				sides[g] = append(sides[g], id)
			}
			for _, side := range sides {
				if len(side) > 0 {
					s.settle(side, 20*time.Second)
				}
			}
			before := map[uint64]bool{}
			for term := range s.wins {
				before[term] = true
			}
			for _, id := range s.ids {
				s.side[id] = 0
			}
			healed := s.now
			m, term := s.settle(s.ids, 30*time.Second)
			s.run(5 * time.Second)
			if m2, _ := s.agreed(s.ids); m2 == "" {
				t.Fatalf("seed %d run %d: agreement on %s term %d did not last", seed, run, m, term)
			}
			for term, ws := range s.wins {
				for _, w := range ws {
					if !w.at.Before(healed) && before[term] {
						t.Fatalf("seed %d run %d: term %d won again by %s after healing (%v)", seed, run, term, w.by, s.wins[term])
					}
				}
			}
		}
	}
}

// The defect CI once caught: a candidacy begun on one side of a partition
// must not win, with only that side's votes, a term that the other side
// already gave a mixer, when the partition heals while it runs.
func TestCandidacyInFlightAcrossHealDoesNotReuseATerm(t *testing.T) {
	s := newSim(t, 10, 20, 30, 40, 50, 60)
	s.settle(s.ids, 5*time.Second) // n5, term 1
	a, b := []peer.ID{"n5", "n0"}, []peer.ID{"n1", "n2", "n3", "n4"}
	for _, id := range b {
		s.side[id] = 1
	}
	_, tb := s.settle(b, 10*time.Second) // n4 in term 2
	// Side a runs two more terms: its mixer drops out and comes back.
	s.down["n5"] = true
	s.settle([]peer.ID{"n0"}, 10*time.Second)
	s.down["n5"] = false
	var ma peer.ID
	var ta uint64
	for ma != "n5" {
		ma, ta = s.settle(a, 10*time.Second)
	}
	if ta <= tb {
		t.Fatalf("side a term %d, side b term %d: want a ahead", ta, tb)
	}
	// Side b's mixer leaves, and n3 asks for votes in the term side a has.
	s.down["n4"] = true
	s.now = s.now.Add(s.params.Tick)
	s.ms["n3"].Tick(s.now, s.aliveFor("n3")) // its candidacy is not delivered: handed over below
	c := s.ms["n3"].cand
	if c == nil || c.term != ta {
		t.Fatalf("n3's candidacy %+v, want one for term %d", c, ta)
	}
	var votes []delivery
	for _, id := range []peer.ID{"n1", "n2"} {
		out, _ := s.ms[id].Handle(s.now, "n3", s.ms["n3"].candidacyMsg(c), s.aliveFor(id))
		for _, m := range out.Send {
			votes = append(votes, delivery{id, "n3", m})
		}
	}
	if len(votes) != 2 {
		t.Fatalf("votes %+v", votes)
	}
	// The partition heals while the votes are on their way.
	for _, id := range s.ids {
		s.side[id] = 0
	}
	for _, v := range votes {
		var alive map[peer.ID]bool
		if s.ms["n3"].NeedsAlive(v.from, v.msg) {
			alive = s.aliveFor("n3")
		}
		out, _ := s.ms["n3"].Handle(s.now, v.from, v.msg, alive)
		s.apply("n3", out)
	}
	if st := s.ms["n3"].State(); st.Mixer == "n3" && st.Term == ta {
		t.Fatalf("n3 won term %d with one side's votes; %s of side a won it before", ta, string(ma))
	}
	s.step()
	m, term := s.settle([]peer.ID{"n0", "n1", "n2", "n3", "n5"}, 20*time.Second)
	if m != "n5" || term != ta {
		t.Fatalf("healed on %s term %d, want %s's term %d", m, term, ma, ta)
	}
	if ws := s.wins[ta]; len(ws) != 1 {
		t.Fatalf("term %d won by %v", ta, ws)
	}
}

// Hostile inputs: an absurd term is ignored; messages whose peer is not
// their author change nothing; a vote after the candidacy's deadline does
// not count; a departed member is forgotten.
func TestHostileInputs(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	s.settle(s.ids, 5*time.Second)
	v := s.ms["n0"]
	before := v.State()
	if _, ok := v.Handle(s.now, "n2", Msg{Op: OpHeartbeat, Term: 1 << 52, Peer: "n2"}, s.aliveFor("n0")); ok {
		t.Fatal("a heartbeat of term 2^52 was taken")
	}
	if _, ok := v.Handle(s.now, "n2", Msg{Op: OpCandidate, Term: before.Term + MaxTermJump + 1, Peer: "n2"}, s.aliveFor("n0")); ok {
		t.Fatal("a candidacy far beyond the term was taken")
	}
	v.Handle(s.now, "n2", Msg{Op: OpHeartbeat, Term: before.Term + 1, Peer: "n1"}, s.aliveFor("n0"))
	if st := v.State(); st.Term != before.Term || st.Mixer != before.Mixer {
		t.Fatalf("a heartbeat on behalf of another member changed the mixer: %+v", st)
	}
	// A vote for a candidacy that ended.
	s.ms["n2"].cand = &candidacy{term: 9, votes: map[peer.ID]bool{"n2": true}, deadline: s.now}
	if out, _ := s.ms["n2"].Handle(s.now, "n0", Msg{Op: OpVote, Term: 9, Peer: "n2"}, s.aliveFor("n2")); len(out.Send) != 0 || s.ms["n2"].State().Mixer == "n2" {
		t.Fatal("a late vote won a term")
	}
	s.ms["n2"].cand = nil
	v.Forget("n1")
	if _, ok := v.Score("n1"); ok {
		t.Fatal("a forgotten member keeps its score")
	}
}

func TestParamsValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.HeartbeatInterval = 0 },
		func(p *Params) { p.LeaseTimeout = p.HeartbeatInterval },
		func(p *Params) { p.Tick = -1 },
		func(p *Params) { p.MarginPct = -1 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if p.Validate() == nil {
			t.Errorf("case %d: %+v passed", i, p)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Params: DefaultParams()}); err == nil {
		t.Fatal("New without Self succeeded")
	}
}

func TestTopology(t *testing.T) {
	s := newSim(t, 10, 50, 30, 20, 40)
	m := s.ms["n0"]
	all := s.aliveFor("n0")
	if tp := m.Topology(all); tp.Mode != TopologyMesh {
		t.Fatalf("no mixer yet: %s", tp.Mode)
	}
	s.settle(s.ids, 5*time.Second)
	tp := m.Topology(all)
	if tp.Mode != TopologyStar || tp.Mixer != "n1" || len(tp.Members) != 5 || tp.Members[0] != "n0" {
		t.Fatalf("5 members over mesh max 4: %+v", tp)
	}
	_, msg := m.SetPolicy(s.now, func(p *Policy) { p.MeshMax = 8 })
	if tp := m.Topology(all); tp.Mode != TopologyMesh || m.MeshMax() != 8 || msg.Policy.MeshMax != 8 {
		t.Fatalf("mesh max 8: %+v", tp)
	}
	m.SetPolicy(s.now, func(p *Policy) { p.Topology = TopologyStar })
	if tp := m.Topology(map[peer.ID]bool{"n0": true, "n1": true}); tp.Mode != TopologyStar {
		t.Fatalf("forced star: %+v", tp)
	}
}

// A member that joins a room with a mixer follows it: no new term, no
// vote, whatever its own score (within the margin).
func TestJoinerFollowsTheMixer(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	m, term := s.settle(s.ids, 5*time.Second)
	s.add("n3", 55)
	s.run(5 * time.Second)
	if m2, term2 := s.agreed(s.ids); m2 != m || term2 != term {
		t.Fatalf("after a join: %s term %d, want %s term %d", m2, term2, m, term)
	}
	if st := s.ms["n3"].State(); st.Mixer != m || len(st.Won) != 0 {
		t.Fatalf("the joiner: %+v", st)
	}
}

// Terms: a heartbeat of a higher term is followed at once; one of a lower
// term changes nothing; a candidacy of an old term gets no vote.
func TestTerms(t *testing.T) {
	s := newSim(t, 10, 50, 30)
	s.settle(s.ids, 5*time.Second) // n1, term 1
	v := s.ms["n0"]
	out, _ := v.Handle(s.now, "n2", Msg{Op: OpHeartbeat, Term: 7, Peer: "n2", Reason: "after a partition"}, s.aliveFor("n0"))
	if st := v.State(); st.Mixer != "n2" || st.Term != 7 || len(out.Changes) != 1 || out.Changes[0].Term != 7 {
		t.Fatalf("higher term: %+v, changes %+v", st, out.Changes)
	}
	v.Handle(s.now, "n1", Msg{Op: OpHeartbeat, Term: 3, Peer: "n1"}, s.aliveFor("n0"))
	if st := v.State(); st.Mixer != "n2" || st.Term != 7 {
		t.Fatalf("a lower term's heartbeat changed the mixer: %+v", st)
	}
	if out, _ := v.Handle(s.now, "n1", Msg{Op: OpCandidate, Term: 5, Peer: "n1", Score: 50}, s.aliveFor("n0")); len(out.Send) != 0 {
		t.Fatalf("voted in term 5 below term 7: %+v", out.Send)
	}
	// n2 never sends a heartbeat of term 7 (a liar spoke for it, or it
	// died): n0's lease for it ends, n0 tells its term, and n1 is elected
	// again above it, by everyone.
	m, term := s.settle(s.ids, 10*time.Second)
	if m != "n1" || term <= 7 {
		t.Fatalf("settled on %s term %d, want n1 above term 7", m, term)
	}
	if r := s.ms["n0"].State().Reason; !strings.Contains(r, "a member is in term 7, above this mixer's 1") {
		t.Fatalf("reason %q", r)
	}
}

// A tick with the members of the last one keeps the machine's view (no
// copy per tick); any change of who is alive replaces it.
func TestLookKeepsViewWhileMembersAreUnchanged(t *testing.T) {
	s := newSim(t, 10, 20, 30)
	m := s.ms["n0"]
	now := t0
	v1 := m.look(now, map[peer.ID]bool{"n1": true, "n2": true})
	v2 := m.look(now, map[peer.ID]bool{"n0": true, "n1": true, "n2": true, "n9": false})
	if len(v2) != 3 || fmt.Sprintf("%p", v1) != fmt.Sprintf("%p", v2) {
		t.Fatalf("unchanged members: view %v (%p), first %v (%p)", v2, v2, v1, v1)
	}
	for _, tc := range []struct {
		in   map[peer.ID]bool
		want []peer.ID
	}{
		{map[peer.ID]bool{"n1": true}, []peer.ID{"n0", "n1"}},
		{map[peer.ID]bool{"n1": true, "n2": false}, []peer.ID{"n0", "n1"}},
		{map[peer.ID]bool{"n2": true}, []peer.ID{"n0", "n2"}},
		{map[peer.ID]bool{"n1": true, "n2": true, "n3": true}, []peer.ID{"n0", "n1", "n2", "n3"}},
	} {
		v := m.look(now, tc.in)
		if len(v) != len(tc.want) {
			t.Fatalf("look(%v) = %v, want %v", tc.in, v, tc.want)
		}
		for _, p := range tc.want {
			if !v[p] {
				t.Fatalf("look(%v) = %v, want %v", tc.in, v, tc.want)
			}
		}
	}
	if _, ok := m.unheard["n3"]; !ok {
		t.Fatal("n3's arrival was not noted")
	}
}

// The best member of an unchanged view is cached; a score that changes, a
// member forgotten or a new view is seen at once.
func TestBestFollowsScoresAndView(t *testing.T) {
	s := newSim(t, 10, 20, 30)
	m := s.ms["n0"]
	view := m.look(t0, map[peer.ID]bool{"n1": true, "n2": true})
	if b := m.best(view); b != "n2" {
		t.Fatalf("best %s, want n2", b)
	}
	m.SetScore("n1", 50)
	if b := m.best(view); b != "n1" {
		t.Fatalf("after n1's new score: best %s, want n1", b)
	}
	m.Forget("n1")
	if b := m.best(view); b != "n2" {
		t.Fatalf("after forgetting n1: best %s, want n2", b)
	}
	view = m.look(t0, map[peer.ID]bool{"n1": true})
	if b := m.best(view); b != "n0" {
		t.Fatalf("n2 gone, n1 unscored: best %s, want n0", b)
	}
	if b := m.best(map[peer.ID]bool{"n0": true, "n2": true}); b != "n2" {
		t.Fatalf("another view: best %s, want n2", b)
	}
}
