package collab

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRooms: every node in the set is a member of room "r" (unless
// excluded).
type fakeRooms struct {
	mu      sync.Mutex
	members map[peer.ID]bool
	self    peer.ID
}

func (f *fakeRooms) JoinedHashes() []string { return []string{"r"} }
func (f *fakeRooms) Members(string) []peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []peer.ID
	for p, ok := range f.members {
		if ok {
			out = append(out, p)
		}
	}
	return out
}
func (f *fakeRooms) IsMember(_ string, p peer.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members[p]
}

type member struct {
	h    host.Host
	s    *Service
	db   string
	room *fakeRooms
}

func newHost(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func testLimits() Limits {
	l := DefaultLimits()
	l.Tick = 50 * time.Millisecond
	l.RedialAfter = 100 * time.Millisecond
	return l
}

// newMembers makes n services on n hosts, connected, all members of "r".
func newMembers(t *testing.T, n int) []*member {
	t.Helper()
	var ms []*member
	all := map[peer.ID]bool{}
	for range n {
		h := newHost(t)
		all[h.ID()] = true
		ms = append(ms, &member{h: h, db: filepath.Join(t.TempDir(), "f2f.db")})
	}
	for _, m := range ms {
		m.room = &fakeRooms{members: map[peer.ID]bool{}, self: m.h.ID()}
		for p := range all {
			m.room.members[p] = true
		}
		m.start(t)
		for _, o := range ms {
			if o != m {
				if err := m.h.Connect(context.Background(), peer.AddrInfo{ID: o.h.ID(), Addrs: o.h.Addrs()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return ms
}

func (m *member) start(t *testing.T) {
	t.Helper()
	s, err := New(m.h, m.room, m.db, WithLimits(testLimits()))
	if err != nil {
		t.Fatal(err)
	}
	m.s = s
	t.Cleanup(func() { _ = s.Close() })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func text(t *testing.T, m *member, name string) string {
	t.Helper()
	v, err := m.s.Get("r", name)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return v.Text
}

func TestNotesSyncAndMergeConcurrentEdits(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 3)
	if _, err := ms[0].s.Create(ctx, "r", "notes", KindNotes); err != nil {
		t.Fatal(err)
	}
	if _, err := ms[0].s.SetText(ctx, "r", "notes", nil, "", "hello\n"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitFor(t, "the notes at every member", func() bool { return text(t, m, "notes") == "hello\n" })
	}
	// Everyone types at once, each at the end of its own line.
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 20 {
				if _, err := m.s.edit(ctx, "r", "notes", KindNotes, "append", func(d *automerge.Doc) error {
					v, _ := d.RootMap().Get(keyText)
					return v.Text().Append(fmt.Sprintf("m%d-%d ", i, k))
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "identical notes", func() bool {
		a := text(t, ms[0], "notes")
		return a == text(t, ms[1], "notes") && a == text(t, ms[2], "notes")
	})
	got := text(t, ms[0], "notes")
	for i := range ms {
		for k := range 20 {
			if !strings.Contains(got, fmt.Sprintf("m%d-%d ", i, k)) {
				t.Fatalf("edit m%d-%d lost: %q", i, k, got)
			}
		}
	}
}

func TestCreatedApartIsOneDocument(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 2)
	// Apart: neither counts the other as a member.
	for _, m := range ms {
		m.room.mu.Lock()
		for p := range m.room.members {
			m.room.members[p] = p == m.h.ID()
		}
		m.room.mu.Unlock()
	}
	for i, m := range ms {
		if _, err := m.s.Create(ctx, "r", "notes", KindNotes); err != nil {
			t.Fatal(err)
		}
		if _, err := m.s.SetText(ctx, "r", "notes", nil, "", fmt.Sprintf("from %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		m.room.mu.Lock()
		for p := range m.room.members {
			m.room.members[p] = true
		}
		m.room.mu.Unlock()
		m.s.Kick()
	}
	waitFor(t, "merged notes", func() bool {
		a := text(t, ms[0], "notes")
		return a == text(t, ms[1], "notes") && strings.Contains(a, "from 0\n") && strings.Contains(a, "from 1\n")
	})
}

func TestSetTextKeepsConcurrentEdits(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 1)
	s := ms[0].s
	if _, err := s.Create(ctx, "r", "notes", KindNotes); err != nil {
		t.Fatal(err)
	}
	v, err := s.SetText(ctx, "r", "notes", nil, "", "one\ntwo\nthree\n")
	if err != nil {
		t.Fatal(err)
	}
	base := v.Heads
	// Someone else edits line three meanwhile.
	if _, err := s.Splice(ctx, "r", "notes", len("one\ntwo\nthree"), 0, " (bob)"); err != nil {
		t.Fatal(err)
	}
	// The editor's version, from base, changes line one.
	v, err = s.SetText(ctx, "r", "notes", base, "one\ntwo\nthree\n", "ONE\ntwo\nthree\n")
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != "ONE\ntwo\nthree (bob)\n" {
		t.Fatalf("text %q", v.Text)
	}
	if _, err := s.SetText(ctx, "r", "notes", base, "not what it was", "x"); !errors.Is(err, ErrStale) {
		t.Fatalf("edit of a text that was not there: %v", err)
	}
	if _, err := s.SetText(ctx, "r", "notes", []string{"zz"}, "", "x"); !errors.Is(err, ErrStale) {
		t.Fatalf("bad base: %v", err)
	}
}

func TestDiffSplices(t *testing.T) {
	for _, c := range [][2]string{
		{"", "abc"}, {"abc", ""}, {"abc", "abc"}, {"a\nb\nc\n", "a\nB\nc\nd\n"}, {"héllo 😀\nx\n", "héllo 🙃\ny\nx\n"},
		{"1\n2\n3\n4\n", "0\n2\n4\n5\n"}, {"same start\nmid\nsame end\n", "same start\nother\nmore\nsame end\n"},
	} {
		d := automerge.New()
		if err := d.RootMap().Set("t", automerge.NewText(c[0])); err != nil {
			t.Fatal(err)
		}
		tx := d.RootMap()
		v, _ := tx.Get("t")
		for _, sp := range diffSplices(c[0], c[1]) {
			if err := v.Text().Splice(sp.pos, sp.del, sp.ins); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := v.Text().Get(); got != c[1] {
			t.Errorf("diff %q -> %q gave %q", c[0], c[1], got)
		}
	}
}

func TestTodoAgendaAndPersistence(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 1)
	m := ms[0]
	if _, err := m.s.Create(ctx, "r", "todo", KindTodo); err != nil {
		t.Fatal(err)
	}
	if _, err := m.s.Create(ctx, "r", "todo", KindAgenda); !errors.Is(err, ErrExists) {
		t.Fatalf("create as another kind: %v", err)
	}
	it, err := m.s.TodoAdd(ctx, "r", "todo", TodoItem{Text: "write the report", Assignee: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.s.TodoAdd(ctx, "r", "todo", TodoItem{Text: "  "}); !errors.Is(err, ErrBadItem) {
		t.Fatalf("empty item: %v", err)
	}
	if _, err := m.s.TodoDone(ctx, "r", "todo", it.ID[:4], true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.s.TodoDone(ctx, "r", "todo", "7", true); !errors.Is(err, ErrNoItem) {
		t.Fatalf("done of item 7 of 1: %v", err)
	}
	// A number past the end is an error even when an id starts with it
	// (with 40 random ids, some start with two decimal digits).
	if _, err := m.s.Create(ctx, "r2", "many", KindTodo); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := m.s.TodoAdd(ctx, "r2", "many", TodoItem{Text: fmt.Sprint("item ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for n := 41; n <= 99; n++ {
		if _, err := m.s.TodoDone(ctx, "r2", "many", fmt.Sprint(n), true); !errors.Is(err, ErrNoItem) {
			t.Fatalf("done of item %d of 40: %v", n, err)
		}
	}
	if _, err := m.s.Create(ctx, "r", "agenda", KindAgenda); err != nil {
		t.Fatal(err)
	}
	if _, err := m.s.AgendaAdd(ctx, "r", "agenda", AgendaItem{Title: "intro", Minutes: 5}); !errors.Is(err, ErrBadTime) {
		t.Fatalf("agenda item without a time or a start: %v", err)
	}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if _, err := m.s.AgendaStart(ctx, "r", "agenda", start); err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"intro", "demo"} {
		if _, err := m.s.AgendaAdd(ctx, "r", "agenda", AgendaItem{Title: title, Minutes: 15, Owner: "bob"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.s.Create(ctx, "r", "notes", KindNotes); err != nil {
		t.Fatal(err)
	}
	for i := range 300 { // past a compaction
		if _, err := m.s.Splice(ctx, "r", "notes", i, 0, "x"); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		v, err := m.s.Get("r", "todo")
		if err != nil || len(v.Todo) != 1 || !v.Todo[0].Done || v.Todo[0].Assignee != "alice" {
			t.Fatalf("todo %+v %v", v.Todo, err)
		}
		v, err = m.s.Get("r", "agenda")
		if err != nil || len(v.Agenda) != 2 || !v.Agenda[1].At.Equal(start.Add(15*time.Minute)) || !v.Start.Equal(start) {
			t.Fatalf("agenda %+v %v", v, err)
		}
		md := Markdown(v, time.UTC)
		if !strings.Contains(md, "- 10:15 demo (15 min) — bob") {
			t.Fatalf("markdown %q", md)
		}
		if got := text(t, m, "notes"); got != strings.Repeat("x", 300) {
			t.Fatalf("notes %q", got)
		}
	}
	check()
	if err := m.s.Close(); err != nil {
		t.Fatal(err)
	}
	m.start(t)
	check()
	if n := len(m.s.List("r")); n != 3 {
		t.Fatalf("%d documents after a restart", n)
	}
	if _, err := m.s.Get("r", "nope"); !errors.Is(err, ErrNoDoc) {
		t.Fatalf("unknown document: %v", err)
	}
	if _, err := m.s.Create(ctx, "r", "Bad Name", KindNotes); !errors.Is(err, ErrBadName) {
		t.Fatalf("bad name: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"+10m":                 now.Add(10 * time.Minute),
		"14:30":                time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC),
		"2026-12-01 08:00":     time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
		"2026-12-01T08:00:00Z": time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in, now, time.UTC)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"tomorrow", "25:00", "+-5m", ""} {
		if _, err := ParseTime(in, now, time.UTC); !errors.Is(err, ErrBadTime) {
			t.Errorf("ParseTime(%q): %v", in, err)
		}
	}
}

// attacker opens /f2f/doc/1 to victim as a raw libp2p peer.
func attack(t *testing.T, from host.Host, to *member, frames ...[]byte) {
	t.Helper()
	if err := from.Connect(context.Background(), peer.AddrInfo{ID: to.h.ID(), Addrs: to.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	st, err := from.NewStream(context.Background(), to.h.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := msgio.NewVarintWriter(st)
	for _, f := range frames {
		if err := w.WriteMsg(f); err != nil {
			return
		}
	}
}

func TestHostileSync(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 1)
	victim := ms[0]
	if _, err := victim.s.Create(ctx, "r", "notes", KindNotes); err != nil {
		t.Fatal(err)
	}
	if _, err := victim.s.SetText(ctx, "r", "notes", nil, "", "keep me\n"); err != nil {
		t.Fatal(err)
	}
	hello := frame{typ: frameHello, payload: []byte("r")}.encode()

	// A stranger: refused, nothing sent back.
	stranger := newHost(t)
	attack(t, stranger, victim, hello, frame{typ: frameSync, name: "notes", kind: KindNotes, payload: []byte{0x42, 0, 0, 0, 0}}.encode())
	waitFor(t, "the stranger refused", func() bool { return victim.s.Stats().Refused >= 1 })

	// A member sending garbage, a bomb and a frame past the limit.
	evil := newHost(t)
	victim.room.mu.Lock()
	victim.room.members[evil.ID()] = true
	victim.room.mu.Unlock()
	attack(t, evil, victim, hello, frame{typ: frameSync, name: "notes", kind: KindNotes, payload: []byte("\x42garbage")}.encode())
	waitFor(t, "the garbage rejected", func() bool { return victim.s.Stats().Rejected >= 1 })

	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	_, _ = fw.Write(make([]byte, 64<<20))
	_ = fw.Close()
	chunk := append([]byte{0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 2}, binary.AppendUvarint(nil, uint64(bomb.Len()))...)
	chunk = append(chunk, bomb.Bytes()...)
	msg := []byte{0x42, 0, 0, 0, 1}
	msg = binary.AppendUvarint(msg, uint64(len(chunk)))
	msg = append(msg, chunk...)
	attack(t, evil, victim, hello, frame{typ: frameSync, name: "notes", kind: KindNotes, payload: msg}.encode())
	waitFor(t, "the bomb refused", func() bool { return victim.s.Stats().Oversize >= 1 })

	// Pushed changes: garbage, and the bomb as a change.
	attack(t, evil, victim, hello, frame{typ: frameChanges, name: "notes", kind: KindNotes, payload: []byte("junk")}.encode())
	waitFor(t, "the pushed junk rejected", func() bool { return victim.s.Stats().Rejected >= 2 })
	attack(t, evil, victim, hello, frame{typ: frameChanges, name: "notes", kind: KindNotes, payload: chunk}.encode())
	waitFor(t, "the pushed bomb refused", func() bool { return victim.s.Stats().Oversize >= 2 })
	attack(t, evil, victim, hello, frame{typ: frameHeads, name: "notes", kind: KindNotes, payload: []byte("not 32 bytes")}.encode())
	waitFor(t, "bad heads rejected", func() bool { return victim.s.Stats().Rejected >= 3 })

	big := make([]byte, testLimits().FrameBytes+10)
	attack(t, evil, victim, hello, big)
	waitFor(t, "the big frame refused", func() bool { return victim.s.Stats().Oversize >= 3 })

	// An unknown document with a corrupt message is not created.
	attack(t, evil, victim, hello, frame{typ: frameSync, name: "junk", kind: KindNotes, payload: []byte{0x42, 1}}.encode())
	waitFor(t, "the junk rejected", func() bool { return victim.s.Stats().Rejected >= 4 })
	if n := len(victim.s.List("r")); n != 1 {
		t.Fatalf("%d documents", n)
	}
	if got := text(t, victim, "notes"); got != "keep me\n" {
		t.Fatalf("notes %q", got)
	}
}

func TestCheckChangesAcceptsRealMessages(t *testing.T) {
	a, err := genesis("r", "notes", KindNotes)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := a.RootMap().Get(keyText)
	if err := v.Text().Splice(0, 0, strings.Repeat("a long text that compresses well ", 200)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit("x"); err != nil {
		t.Fatal(err)
	}
	sa, sb := automerge.NewSyncState(a), automerge.NewSyncState(automerge.New())
	for range 10 {
		m, ok := sa.GenerateMessage()
		if ok {
			if err := checkChanges(m.Bytes(), 1<<20); err != nil {
				t.Fatalf("a real message refused: %v", err)
			}
			if _, err := sb.ReceiveMessage(m.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		m, ok = sb.GenerateMessage()
		if ok {
			if err := checkChanges(m.Bytes(), 1<<20); err != nil {
				t.Fatalf("a real message refused: %v", err)
			}
			if _, err := sa.ReceiveMessage(m.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := textOf(sb.Doc); !strings.HasPrefix(got, "a long text") {
		t.Fatalf("synced %q", got[:min(len(got), 20)])
	}
	if err := checkChanges(nil, 10); err == nil {
		t.Fatal("empty message accepted")
	}
}

// FuzzFrame: a member's frame never panics the decoders that run before
// Automerge sees a message.
func FuzzFrame(f *testing.F) {
	f.Add(frame{typ: frameSync, name: "notes", kind: KindNotes, payload: []byte{0x42, 0, 0, 0, 0}}.encode())
	f.Add(frame{typ: frameCursor, name: "notes", peer: "x", payload: []byte(`{}`)}.encode())
	f.Add([]byte{0x42, 0, 0, 0, 1, 9, 0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if fr, err := decodeFrame(b); err == nil && fr.typ == frameSync {
			_ = checkChanges(fr.payload, 1<<20)
		}
		_, _, _ = pushedChanges(b, 1<<20)
		_ = checkChanges(b, 1<<20)
	})
}

// TestPushedChangesParse: the hashes and dependencies read from pushed
// changes (uncompressed and compressed ones) are Automerge's.
func TestPushedChangesParse(t *testing.T) {
	d, err := genesis("r", "notes", KindNotes)
	if err != nil {
		t.Fatal(err)
	}
	d.Save()
	v, _ := d.RootMap().Get(keyText)
	prev := d.Heads()
	if err := v.Text().Insert(0, "short"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit("a"); err != nil {
		t.Fatal(err)
	}
	mid := d.Heads()
	if err := v.Text().Insert(0, strings.Repeat("long enough to be compressed ", 40)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit("b"); err != nil {
		t.Fatal(err)
	}
	inc := d.SaveIncremental()
	hashes, deps, err := pushedChanges(inc, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := [][32]byte{[32]byte(mid[0]), [32]byte(d.Heads()[0])}
	if len(hashes) != 2 || hashes[0] != want[0] || hashes[1] != want[1] {
		t.Fatalf("hashes %x, want %x", hashes, want)
	}
	if len(deps) != 2 || deps[0] != [32]byte(prev[0]) || deps[1] != [32]byte(mid[0]) {
		t.Fatalf("deps %x", deps)
	}
	if _, _, err := pushedChanges([]byte("junk"), 1<<20); err == nil {
		t.Fatal("junk accepted")
	}
}

// TestReminderOnceAcrossRestarts: an agenda item that is due reminds
// once (an event and a stored reminder), and not again after a restart.
func TestReminderOnceAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	ms := newMembers(t, 1)
	m := ms[0]
	_ = m.s.Close()
	var mu sync.Mutex
	var got []Reminder
	start := func() {
		s, err := New(m.h, m.room, m.db, WithLimits(testLimits()), WithEvents(func(typ string, data any) {
			if r, ok := data.(Reminder); ok && typ == EventReminder {
				mu.Lock()
				got = append(got, r)
				mu.Unlock()
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		m.s = s
		t.Cleanup(func() { _ = s.Close() })
	}
	start()
	if _, err := m.s.Create(ctx, "r", "agenda", KindAgenda); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(200 * time.Millisecond)
	if _, err := m.s.AgendaAdd(ctx, "r", "agenda", AgendaItem{Title: "standup", At: at, Minutes: 5}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reminder", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	mu.Lock()
	if d := got[0].Fired.Sub(got[0].At); d < 0 || d > time.Second || got[0].Title != "standup" || !got[0].At.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("reminder %+v, %v after its time", got[0], d)
	}
	mu.Unlock()
	if err := m.s.Close(); err != nil {
		t.Fatal(err)
	}
	start()
	// A pass of the restarted service's reminders is seen by a new item
	// that is due: it comes, and the first one does not come again.
	if _, err := m.s.AgendaAdd(ctx, "r", "agenda", AgendaItem{Title: "retro", At: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new item's reminder", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[1].Title != "retro" {
		t.Fatalf("reminders after a restart: %+v", got)
	}
	rs, err := m.s.Reminders("r", time.Time{})
	if err != nil || len(rs) != 2 {
		t.Fatalf("stored reminders %+v %v", rs, err)
	}
}

// TestDocumentSizeCap: an edit of a document at its size cap is refused
// clearly and changes nothing.
func TestDocumentSizeCap(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	l := testLimits()
	l.DocBytes = 4000
	s, err := New(h, &fakeRooms{members: map[peer.ID]bool{}}, filepath.Join(t.TempDir(), "f2f.db"), WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(ctx, "r", "notes", KindNotes); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetText(ctx, "r", "notes", nil, "", strings.Repeat("x", 2001)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a text past half the cap: %v", err)
	}
	var last string
	for i := 0; ; i++ {
		v, err := s.Splice(ctx, "r", "notes", 0, 0, fmt.Sprintf("line %d of some length\n", i))
		if errors.Is(err, ErrTooLarge) {
			if !strings.Contains(err.Error(), "has reached 4000 bytes") {
				t.Fatalf("error %q", err)
			}
			break
		}
		if err != nil || i > 1000 {
			t.Fatalf("edit %d: %v", i, err)
		}
		last = v.Text
	}
	if got := text(t, &member{s: s}, "notes"); got != last {
		t.Fatalf("a refused edit changed the text")
	}
}
