package collab

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/libp2p/go-libp2p/core/peer"
)

// rssMiB reads this process's resident memory (Go heap and the Rust
// core's allocations alike).
func rssMiB(b *testing.B) float64 {
	b.Helper()
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc")
	}
	for _, l := range strings.Split(string(st), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkEditToVisible: 10 members on real libp2p hosts on loopback,
// each with its SQLite store; one member at a time inserts a marker into
// the notes, and the time until each other member's copy holds it (its
// change event, as the API's doc.changed) is one sample. Reports p50 and
// p99 in ms over all members and edits.
func BenchmarkEditToVisible(b *testing.B) {
	ctx := context.Background()
	const members, edits = 10, 40
	ms := benchMembers(b, members)
	if _, err := ms[0].s.Create(ctx, "r", "notes", KindNotes); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for e := range edits {
			author := ms[e%members]
			marker := fmt.Sprintf("<%d-%d>", e, time.Now().UnixNano())
			var wg sync.WaitGroup
			seen := make([]time.Duration, members)
			for i, m := range ms {
				if m == author {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-m.changed:
						case <-time.After(10 * time.Second):
							b.Errorf("member %d never saw %s", i, marker)
							return
						}
						if strings.Contains(m.text(), marker) {
							seen[i] = time.Since(m.t0.Load().(time.Time))
							return
						}
					}
				}()
			}
			t0 := time.Now()
			for _, m := range ms {
				m.t0.Store(t0)
			}
			if _, err := author.s.edit(ctx, "r", "notes", KindNotes, "bench", func(d *automerge.Doc) error {
				v, _ := d.RootMap().Get(keyText)
				return v.Text().Append(marker)
			}); err != nil {
				b.Fatal(err)
			}
			wg.Wait()
			for i, d := range seen {
				if ms[i] != author && d > 0 {
					lat = append(lat, d)
					if d > 500*time.Millisecond && os.Getenv("F2F_BENCH_DEBUG") != "" {
						b.Logf("edit %d by %d seen by %d after %v", e, e%members, i, d)
					}
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no samples")
	}
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

type benchMember struct {
	s       *Service
	changed chan struct{}
	t0      atomicValue
}

type atomicValue struct {
	mu sync.Mutex
	v  any
}

func (a *atomicValue) Store(v any) { a.mu.Lock(); a.v = v; a.mu.Unlock() }
func (a *atomicValue) Load() any   { a.mu.Lock(); defer a.mu.Unlock(); return a.v }

func (m *benchMember) text() string {
	v, err := m.s.Get("r", "notes")
	if err != nil {
		return ""
	}
	return v.Text
}

// benchMembers starts n services on n connected hosts, all members of
// room "r", each telling its changes on a channel.
func benchMembers(b *testing.B, n int) []*benchMember {
	b.Helper()
	tb := testing.TB(b)
	var ms []*benchMember
	var hs []*member
	for range n {
		h := newHost(tb)
		hs = append(hs, &member{h: h, db: tb.TempDir() + "/f2f.db"})
	}
	for _, m := range hs {
		m.room = &fakeRooms{members: map[peer.ID]bool{}, self: m.h.ID()}
		for _, o := range hs {
			m.room.members[o.h.ID()] = true
		}
	}
	for _, m := range hs {
		bm := &benchMember{changed: make(chan struct{}, 1)}
		s, err := New(m.h, m.room, m.db, WithEvents(func(typ string, _ any) {
			if typ == EventChanged {
				select {
				case bm.changed <- struct{}{}:
				default:
				}
			}
		}))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		bm.s = s
		ms = append(ms, bm)
	}
	for _, m := range hs {
		for _, o := range hs {
			if o != m {
				if err := m.h.Connect(context.Background(), peer.AddrInfo{ID: o.h.ID(), Addrs: o.h.Addrs()}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// Every pair's sync session is up before anything is measured.
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range ms {
		for m.s.sessionPeers("r") < n-1 {
			if time.Now().After(deadline) {
				b.Fatalf("sync sessions with %d of %d members", m.s.sessionPeers("r"), n-1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return ms
}

// BenchmarkMerge: two copies of a notes document, each with 10,000
// operations the other has not seen (single-character inserts, one
// change each, typed apart), merged: the time of the merge and the
// process's resident memory growth while both copies and the merge
// exist.
func BenchmarkMerge(b *testing.B) {
	const ops = 10000
	for range b.N {
		b.StopTimer()
		runtime.GC()
		before := rssMiB(b)
		base, err := genesis("r", "notes", KindNotes)
		if err != nil {
			b.Fatal(err)
		}
		x, _ := base.Fork()
		y, _ := base.Fork()
		for _, d := range []*automerge.Doc{x, y} {
			v, _ := d.RootMap().Get(keyText)
			t := v.Text()
			for i := range ops {
				if err := t.Insert(i, "a"); err != nil {
					b.Fatal(err)
				}
				if _, err := d.Commit(""); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := x.Merge(y); err != nil {
			b.Fatal(err)
		}
		merge := time.Since(t0)
		b.StopTimer()
		if n := len(textOf(x)); n != 2*ops {
			b.Fatalf("merged text of %d characters", n)
		}
		b.ReportMetric(float64(merge.Microseconds())/1000, "merge-ms")
		b.ReportMetric(rssMiB(b)-before, "rss-MiB")
		b.ReportMetric(float64(len(x.Save()))/1024, "saved-KiB")
		b.StartTimer()
	}
}

// BenchmarkSyncBytes: three members (services on real libp2p hosts on
// loopback, with their SQLite stores) type a 100 KB text together, each a
// third into its own line, a word of 6 characters a change, all at once;
// reports the /f2f/doc/1 bytes all three sent (framing included), in all
// and per character of text, and the time until every copy is whole.
func BenchmarkSyncBytes(b *testing.B) {
	const words = 100_002 / 6
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		ms := benchMembers(b, 3)
		if _, err := ms[0].s.Create(ctx, "r", "notes", KindNotes); err != nil {
			b.Fatal(err)
		}
		if _, err := ms[0].s.SetText(ctx, "r", "notes", nil, "", "\n\n\n"); err != nil {
			b.Fatal(err)
		}
		for _, m := range ms {
			for !strings.HasPrefix(m.text(), "\n\n\n") {
				<-m.changed
			}
		}
		var before uint64
		for _, m := range ms {
			before += m.s.Stats().BytesOut
		}
		b.StartTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		for i, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := i; k < words; k += 3 {
					if _, err := m.s.edit(ctx, "r", "notes", KindNotes, "type", func(d *automerge.Doc) error {
						v, _ := d.RootMap().Get(keyText)
						t := v.Text()
						txt, _ := t.Get()
						// Before the i-th newline: member i's line.
						pos, nl := 0, 0
						for _, r := range txt {
							if r == '\n' {
								if nl == i {
									break
								}
								nl++
							}
							pos++
						}
						return t.Insert(pos, "word, ")
					}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		want := 3 + 6*words
		for _, m := range ms {
			for len([]rune(m.text())) != want {
				select {
				case <-m.changed:
				case <-time.After(30 * time.Second):
					b.Fatalf("a copy stays at %d of %d characters", len([]rune(m.text())), want)
				}
			}
		}
		took := time.Since(t0)
		b.StopTimer()
		var wire, pushed, synced uint64
		for _, m := range ms {
			st := m.s.Stats()
			wire += st.BytesOut
			pushed += st.Pushed
			synced += st.Synced
		}
		b.ReportMetric(float64(pushed), "pushes")
		b.ReportMetric(float64(synced), "sync-msgs")
		wire -= before
		b.ReportMetric(float64(wire)/1e6, "wire-MB")
		b.ReportMetric(float64(wire)/float64(6*words), "wire-B/char")
		b.ReportMetric(took.Seconds(), "typing-s")
		_, info, _ := ms[0].s.Save("r", "notes")
		b.ReportMetric(float64(info.Size)/1024, "stored-KiB")
		for _, m := range ms {
			_ = m.s.Close()
		}
		b.StartTimer()
	}
}

// sessionPeers counts the members a room's sync sessions are with.
func (s *Service) sessionPeers(room string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := map[peer.ID]bool{}
	for se := range s.sessions[room] {
		if se.peer != "" {
			ps[se.peer] = true
		}
	}
	return len(ps)
}
