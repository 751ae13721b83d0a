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
		s, err := New(m.h, m.room, m.db, WithLimits(testLimits()), WithEvents(func(typ string, _ any) {
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

// BenchmarkSyncBytes: three members type a 100 KB text together (each a
// third, into its own region, a word of 6 characters a change), each
// change sent at once to the two others with Automerge's sync protocol in
// /f2f/doc/1 frames (as the daemon does when a change comes between two
// of its sync messages); reports the bytes on the wire in all and per
// character of text.
func BenchmarkSyncBytes(b *testing.B) {
	const total = 100_002 // 16,667 words of 6
	for range b.N {
		docs := make([]*automerge.Doc, 3)
		for i := range docs {
			d, err := genesis("r", "notes", KindNotes)
			if err != nil {
				b.Fatal(err)
			}
			docs[i] = d
		}
		// states[i][j]: i's sync state with j.
		var states [3][3]*automerge.SyncState
		for i := range 3 {
			for j := range 3 {
				if i != j {
					states[i][j] = automerge.NewSyncState(docs[i])
				}
			}
		}
		var wire int
		// exchange runs the protocol between i and j until both are quiet.
		exchange := func(i, j int) {
			for range 20 {
				quiet := true
				for _, p := range [][2]int{{i, j}, {j, i}} {
					m, ok := states[p[0]][p[1]].GenerateMessage()
					if !ok {
						continue
					}
					quiet = false
					f := frame{typ: frameSync, name: "notes", kind: KindNotes, payload: m.Bytes()}.encode()
					wire += len(f) + 3 // the varint length
					if _, err := states[p[1]][p[0]].ReceiveMessage(m.Bytes()); err != nil {
						b.Fatal(err)
					}
				}
				if quiet {
					return
				}
			}
		}
		typed := []int{0, 0, 0}
		for k := range total / 6 {
			i := k % 3
			v, _ := docs[i].RootMap().Get(keyText)
			t := v.Text()
			// Each member types at the end of its own region: region i
			// starts after the regions before it.
			pos := 0
			for r := 0; r <= i; r++ {
				pos += typed[r]
			}
			if err := t.Insert(pos, "word, "); err != nil {
				b.Fatal(err)
			}
			if _, err := docs[i].Commit(""); err != nil {
				b.Fatal(err)
			}
			typed[i] += 6
			for j := range 3 {
				if j != i {
					exchange(i, j)
				}
			}
		}
		for i := 1; i < 3; i++ {
			if textOf(docs[i]) != textOf(docs[0]) || len(textOf(docs[0])) != total {
				b.Fatalf("copies differ or short: %d %d", len(textOf(docs[i])), len(textOf(docs[0])))
			}
		}
		b.ReportMetric(float64(wire)/1e6, "wire-MB")
		b.ReportMetric(float64(wire)/total, "wire-B/char")
		b.ReportMetric(float64(len(docs[0].Save()))/1024, "saved-KiB")
	}
}
