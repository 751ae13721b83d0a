package overlay

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/internal/sqlitedb"
)

const (
	storeTestRoom  = "00112233445566778899aabbccddeeff"
	storeTestRoom2 = "ffeeddccbbaa99887766554433221100"
)

// storeTestPeer returns a fresh, valid Ed25519 peer ID.
func storeTestPeer(tb testing.TB) peer.ID {
	tb.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// storeTestPeers returns n peer IDs sorted by their string form, the order
// the store uses for authors.
func storeTestPeers(tb testing.TB, n int) []peer.ID {
	tb.Helper()
	ids := make([]peer.ID, n)
	for i := range ids {
		ids[i] = storeTestPeer(tb)
	}
	slices.SortFunc(ids, func(a, b peer.ID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

// storeTestOpen opens a database file in dir and registers its closing.
func storeTestOpen(tb testing.TB, dir string) *sql.DB {
	tb.Helper()
	db, err := sqlitedb.Open(filepath.Join(dir, "f2f.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// storeTestNew returns a Store on a fresh on-disk database.
func storeTestNew(tb testing.TB) *Store {
	tb.Helper()
	db := storeTestOpen(tb, tb.TempDir())
	s, err := newStore(db)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// storeEnv builds an envelope; its raw encoding is made-up bytes that name
// it (the store does not decode raw).
func storeEnv(author peer.ID, room string, seq, lamport uint64, ms int64) (*Envelope, []byte) {
	env := &Envelope{
		Author:  author,
		Room:    room,
		Seq:     seq,
		Lamport: lamport,
		Time:    ms,
		Kind:    KindChat,
		Body:    fmt.Appendf(nil, "hello %d", seq),
		Sig:     fmt.Appendf(nil, "sig %d", seq),
	}
	raw := fmt.Appendf(nil, "raw|%s|%s|%d|%d", room, author, seq, lamport)
	return env, raw
}

func storeMustPut(tb testing.TB, s *Store, env *Envelope, raw []byte) {
	tb.Helper()
	ok, err := s.Put(context.Background(), env, raw)
	if err != nil {
		tb.Fatal(err)
	}
	if !ok {
		tb.Fatalf("Put %s/%d: inserted = false, want true", env.Author, env.Seq)
	}
}

func storeCount(tb testing.TB, s *Store, room string) int {
	tb.Helper()
	n, err := s.Count(context.Background(), room)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// storeKey names a message by (author, seq).
func storeKey(env *Envelope) string { return fmt.Sprintf("%s/%d", env.Author, env.Seq) }

func storeCompareEnv(a, b *Envelope) int {
	return cmp.Or(cmp.Compare(a.Lamport, b.Lamport),
		strings.Compare(a.Author.String(), b.Author.String()),
		cmp.Compare(a.Seq, b.Seq))
}

func TestOpenDBSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f2f.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	// Write something so the -wal file exists too.
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveRoom(ctx, RoomRecord{Hash: storeTestRoom, Name: "r"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), got)
		}
	}

	// Hold two connections at once so the settings are checked on more
	// than one pooled connection.
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for i, c := range []*sql.Conn{c1, c2} {
		tests := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
		}
		for _, tt := range tests {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, tt.pragma, err)
			}
			if !strings.EqualFold(got, tt.want) {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, tt.pragma, got, tt.want)
			}
		}
	}
}

func TestOpenDBTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f2f.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // beat the umask
		t.Fatal(err)
	}
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
}

func TestOpenDBOddPath(t *testing.T) {
	// '?', '#', '%' and spaces must not be taken for URI syntax.
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := storeTestOpen(t, dir)
	if _, err := newStore(db); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f2f.db")); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestOpenDBErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"empty", ""},
		{"missing dir", filepath.Join(t.TempDir(), "no", "such", "f2f.db")},
		{"directory", t.TempDir()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlitedb.Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatal("OpenDB succeeded, want error")
			}
		})
	}
}

func TestStoreMigrationIdempotent(t *testing.T) {
	db := storeTestOpen(t, t.TempDir())
	ctx := context.Background()
	s1, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.SaveRoom(ctx, RoomRecord{Hash: storeTestRoom, Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	env, raw := storeEnv(storeTestPeer(t), storeTestRoom, 1, 1, 1000)
	storeMustPut(t, s1, env, raw)

	s2, err := newStore(db)
	if err != nil {
		t.Fatalf("second NewStore: %v", err)
	}
	defer s2.Close()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if r, err := s2.Room(ctx, storeTestRoom); err != nil || r.Name != "kept" {
		t.Fatalf("room after second NewStore = %+v, %v", r, err)
	}
	if n := storeCount(t, s2, storeTestRoom); n != 1 {
		t.Fatalf("count after second NewStore = %d, want 1", n)
	}
	var version int64
	if err := db.QueryRow(`SELECT version FROM schema_version WHERE name = 'overlay'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != storeSchemaVersion {
		t.Fatalf("schema version = %d, want %d", version, storeSchemaVersion)
	}

	// A database from a newer release is refused, not clobbered.
	if _, err := db.Exec(`UPDATE schema_version SET version = 99 WHERE name = 'overlay'`); err != nil {
		t.Fatal(err)
	}
	if s3, err := newStore(db); err == nil {
		s3.Close()
		t.Fatal("NewStore on a newer schema succeeded, want error")
	}
}

func TestStoreRooms(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)

	if _, err := s.Room(ctx, storeTestRoom); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Room on empty store: err = %v, want ErrNoRoom", err)
	}
	if rs, err := s.Rooms(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("Rooms on empty store = %v, %v", rs, err)
	}

	recs := []RoomRecord{
		{Hash: "cc" + storeTestRoom[2:], Key: "f2f1-c", Name: "charlie", Nick: "me", CreatedAt: t0.Add(2 * time.Second)},
		{Hash: "aa" + storeTestRoom[2:], Key: "f2f1-a", Name: "bravo", Password: "pw", Joined: true, CreatedAt: t0},
		{Hash: "bb" + storeTestRoom[2:], Key: "f2f1-b", Name: "alpha", CreatedAt: t0},
	}
	for _, r := range recs {
		if err := s.SaveRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"alpha", "bravo", "charlie"} // CreatedAt, then Name
	var gotOrder []string
	for _, r := range got {
		gotOrder = append(gotOrder, r.Name)
	}
	if !slices.Equal(gotOrder, wantOrder) {
		t.Fatalf("Rooms order = %v, want %v", gotOrder, wantOrder)
	}

	tests := []struct {
		name   string
		update func() error
		hash   string
		want   RoomRecord
	}{
		{
			name:   "get",
			update: func() error { return nil },
			hash:   recs[1].Hash,
			want:   recs[1],
		},
		{
			name: "upsert keeps CreatedAt",
			update: func() error {
				return s.SaveRoom(ctx, RoomRecord{Hash: recs[1].Hash, Key: "f2f1-a2", Name: "bravo2", Password: "pw2", Nick: "n", CreatedAt: t0.Add(time.Hour)})
			},
			hash: recs[1].Hash,
			want: RoomRecord{Hash: recs[1].Hash, Key: "f2f1-a2", Name: "bravo2", Password: "pw2", Nick: "n", Joined: false, CreatedAt: t0},
		},
		{
			name:   "SetJoined true",
			update: func() error { return s.SetJoined(ctx, recs[2].Hash, true) },
			hash:   recs[2].Hash,
			want:   RoomRecord{Hash: recs[2].Hash, Key: "f2f1-b", Name: "alpha", Joined: true, CreatedAt: t0},
		},
		{
			name:   "SetJoined false",
			update: func() error { return s.SetJoined(ctx, recs[2].Hash, false) },
			hash:   recs[2].Hash,
			want:   RoomRecord{Hash: recs[2].Hash, Key: "f2f1-b", Name: "alpha", Joined: false, CreatedAt: t0},
		},
		{
			name:   "SetNick",
			update: func() error { return s.SetNick(ctx, recs[0].Hash, "new nick") },
			hash:   recs[0].Hash,
			want:   RoomRecord{Hash: recs[0].Hash, Key: "f2f1-c", Name: "charlie", Nick: "new nick", CreatedAt: t0.Add(2 * time.Second)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.update(); err != nil {
				t.Fatal(err)
			}
			got, err := s.Room(ctx, tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			if !got.CreatedAt.Equal(tt.want.CreatedAt) {
				t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, tt.want.CreatedAt)
			}
			got.CreatedAt, tt.want.CreatedAt = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("Room = %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("zero CreatedAt is set", func(t *testing.T) {
		before := time.Now()
		h := "dd" + storeTestRoom[2:]
		if err := s.SaveRoom(ctx, RoomRecord{Hash: h, Name: "delta"}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Room(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if r.CreatedAt.Before(before.Add(-time.Second)) || r.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("CreatedAt = %v, want about %v", r.CreatedAt, before)
		}
	})

	missing := []struct {
		name string
		call func() error
	}{
		{"Room", func() error { _, err := s.Room(ctx, storeTestRoom2); return err }},
		{"SetJoined", func() error { return s.SetJoined(ctx, storeTestRoom2, true) }},
		{"SetNick", func() error { return s.SetNick(ctx, storeTestRoom2, "x") }},
	}
	for _, tt := range missing {
		t.Run("missing "+tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNoRoom) {
				t.Fatalf("err = %v, want ErrNoRoom", err)
			}
		})
	}
	if err := s.SaveRoom(ctx, RoomRecord{}); err == nil {
		t.Fatal("SaveRoom with empty hash succeeded")
	}
}

func TestStorePutIdempotent(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	a := storeTestPeer(t)
	env, raw := storeEnv(a, storeTestRoom, 1, 1, 1000)
	storeMustPut(t, s, env, raw)

	other := *env
	other.Body = []byte("forged")
	tests := []struct {
		name string
		env  *Envelope
		raw  []byte
	}{
		{"same raw", env, raw},
		{"same raw again", env, bytes.Clone(raw)},
		{"different raw same key", &other, []byte("a different encoding")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := s.Put(ctx, tt.env, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Fatal("inserted = true, want false")
			}
			if n := storeCount(t, s, storeTestRoom); n != 1 {
				t.Fatalf("count = %d, want 1", n)
			}
			log, err := s.Log(ctx, storeTestRoom, time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(log[0].Raw, raw) || !bytes.Equal(log[0].Env.Body, env.Body) {
				t.Fatalf("stored message changed: %q", log[0].Raw)
			}
		})
	}

	// The same (author, seq) in another room is a different message.
	env2, raw2 := storeEnv(a, storeTestRoom2, 1, 1, 1000)
	storeMustPut(t, s, env2, raw2)
	if n := storeCount(t, s, storeTestRoom2); n != 1 {
		t.Fatalf("count room2 = %d, want 1", n)
	}
}

func TestStorePutUnstorable(t *testing.T) {
	s := storeTestNew(t)
	a := storeTestPeer(t)
	good, raw := storeEnv(a, storeTestRoom, 1, 1, 1000)
	with := func(f func(e *Envelope)) *Envelope {
		e := *good
		f(&e)
		return &e
	}
	tests := []struct {
		name string
		env  *Envelope
		raw  []byte
	}{
		{"nil", nil, raw},
		{"empty room", with(func(e *Envelope) { e.Room = "" }), raw},
		{"empty author", with(func(e *Envelope) { e.Author = "" }), raw},
		{"seq 0", with(func(e *Envelope) { e.Seq = 0 }), raw},
		{"seq too big", with(func(e *Envelope) { e.Seq = math.MaxInt64 + 1 }), raw},
		{"lamport too big", with(func(e *Envelope) { e.Lamport = math.MaxUint64 }), raw},
		{"empty raw", good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := s.Put(context.Background(), tt.env, tt.raw)
			if !errors.Is(err, ErrUnstorable) || ok {
				t.Fatalf("Put = %v, %v; want false, ErrUnstorable", ok, err)
			}
		})
	}
	if n := storeCount(t, s, storeTestRoom); n != 0 {
		t.Fatalf("count = %d, want 0", n)
	}
	// The largest storable values round-trip.
	big := with(func(e *Envelope) { e.Seq, e.Lamport, e.Body, e.Sig = math.MaxInt64, math.MaxInt64, nil, nil })
	storeMustPut(t, s, big, raw)
	log, err := s.Log(context.Background(), storeTestRoom, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Env.Seq != math.MaxInt64 || log[0].Env.Lamport != math.MaxInt64 || len(log[0].Env.Body) != 0 {
		t.Fatalf("log = %+v", log)
	}
}

func TestStoreLog(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	authors := storeTestPeers(t, 3)
	const perAuthor = 20
	base := int64(1_700_000_000_000)

	var all []*Envelope
	raws := make(map[string][]byte)
	for ai, a := range authors {
		for seq := uint64(1); seq <= perAuthor; seq++ {
			// Lamport ties across authors (seq/2) so the author and seq
			// tie-breaks matter; times increase with lamport.
			lamport := seq/2 + 1
			env, raw := storeEnv(a, storeTestRoom, seq, lamport, base+int64(lamport)*1000+int64(ai))
			env.Kind = Kind(1 + (seq % 6))
			all = append(all, env)
			raws[storeKey(env)] = raw
		}
	}
	// A message in another room must never show up.
	noise, noiseRaw := storeEnv(authors[0], storeTestRoom2, 1, 1, base)
	storeMustPut(t, s, noise, noiseRaw)

	shuffled := slices.Clone(all)
	r := mrand.New(mrand.NewPCG(1, 2))
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	before := time.Now()
	for _, env := range shuffled {
		storeMustPut(t, s, env, raws[storeKey(env)])
	}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, storeCompareEnv)

	sinceIdx := slices.IndexFunc(sorted, func(e *Envelope) bool { return e.Lamport >= 5 })
	since := time.UnixMilli(base + 5*1000)
	tests := []struct {
		name  string
		since time.Time
		limit int
		want  []*Envelope
	}{
		{"all", time.Time{}, 0, sorted},
		{"negative limit is no limit", time.Time{}, -3, sorted},
		{"limit returns the last", time.Time{}, 7, sorted[len(sorted)-7:]},
		{"limit above count", time.Time{}, 1000, sorted},
		{"since", since, 0, sorted[sinceIdx:]},
		{"since and limit", since, 4, sorted[len(sorted)-4:]},
		{"since after all", time.UnixMilli(base + 1_000_000), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Log(ctx, storeTestRoom, tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("len = %d, want %d", len(got), len(tt.want))
			}
			for i, m := range got {
				w := tt.want[i]
				if m.Env.Author != w.Author || m.Env.Seq != w.Seq || m.Env.Lamport != w.Lamport {
					t.Fatalf("[%d] = %s lamport %d, want %s lamport %d", i, storeKey(m.Env), m.Env.Lamport, storeKey(w), w.Lamport)
				}
				if m.Env.Room != w.Room || m.Env.Time != w.Time || m.Env.Kind != w.Kind ||
					!bytes.Equal(m.Env.Body, w.Body) || !bytes.Equal(m.Env.Sig, w.Sig) {
					t.Fatalf("[%d] fields = %+v, want %+v", i, m.Env, w)
				}
				if !bytes.Equal(m.Raw, raws[storeKey(w)]) {
					t.Fatalf("[%d] raw = %q", i, m.Raw)
				}
				if m.Received.Before(before.Add(-time.Second)) || m.Received.After(time.Now().Add(time.Second)) {
					t.Fatalf("[%d] received = %v", i, m.Received)
				}
			}
		})
	}
	if got, err := s.Log(ctx, "no-such-room", time.Time{}, 0); err != nil || len(got) != 0 {
		t.Fatalf("Log of unknown room = %v, %v", got, err)
	}

	// Maxima and counts.
	if n := storeCount(t, s, storeTestRoom); n != len(all) {
		t.Fatalf("count = %d, want %d", n, len(all))
	}
	if ml, err := s.MaxLamport(ctx, storeTestRoom); err != nil || ml != perAuthor/2+1 {
		t.Fatalf("MaxLamport = %d, %v; want %d", ml, err, perAuthor/2+1)
	}
	if ml, err := s.MaxLamport(ctx, "empty"); err != nil || ml != 0 {
		t.Fatalf("MaxLamport(empty) = %d, %v", ml, err)
	}
	if ms, err := s.MaxSeq(ctx, storeTestRoom, authors[1]); err != nil || ms != perAuthor {
		t.Fatalf("MaxSeq = %d, %v; want %d", ms, err, perAuthor)
	}
	if ms, err := s.MaxSeq(ctx, storeTestRoom, storeTestPeer(t)); err != nil || ms != 0 {
		t.Fatalf("MaxSeq(stranger) = %d, %v", ms, err)
	}
}

func TestStoreHighWater(t *testing.T) {
	ids := storeTestPeers(t, 6)
	tests := []struct {
		name string
		seqs map[peer.ID][]uint64
		want map[peer.ID]uint64
	}{
		{"empty", nil, map[peer.ID]uint64{}},
		{
			name: "gaps",
			seqs: map[peer.ID][]uint64{
				ids[0]: {1, 2, 3, 5},
				ids[1]: {2, 3},
				ids[2]: {1, 2, 3, 4},
				ids[3]: {1},
				ids[4]: {1, 3, 4, 5, 6, 7},
				ids[5]: {7, 9, 100},
			},
			want: map[peer.ID]uint64{ids[0]: 3, ids[1]: 0, ids[2]: 4, ids[3]: 1, ids[4]: 1, ids[5]: 0},
		},
		{
			name: "long run then gap",
			seqs: map[peer.ID][]uint64{ids[0]: append(storeSeqRange(1, 500), 502, 503, 600)},
			want: map[peer.ID]uint64{ids[0]: 500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storeTestNew(t)
			for a, seqs := range tt.seqs {
				for _, seq := range seqs {
					env, raw := storeEnv(a, storeTestRoom, seq, seq, 1000)
					storeMustPut(t, s, env, raw)
					// Another room's messages must not fill gaps.
					env2, raw2 := storeEnv(a, storeTestRoom2, seq+1, seq, 1000)
					if _, err := s.Put(context.Background(), env2, raw2); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := s.HighWater(context.Background(), storeTestRoom)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("HighWater = %v, want %v", got, tt.want)
			}
			for id, w := range tt.want {
				if h, ok := got[id]; !ok || h != w {
					t.Errorf("HighWater[%s] = %d (present %v), want %d", id, h, ok, w)
				}
			}
		})
	}
}

func storeSeqRange(lo, hi uint64) []uint64 {
	var out []uint64
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

func TestStoreMissing(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	ids := storeTestPeers(t, 3)
	a, b, c := ids[0], ids[1], ids[2]

	// a: seqs 1..4, b: seqs 1..3, c: seqs 1..2; lamport interleaves them.
	var all []*Envelope
	raws := make(map[string][]byte)
	lamport := uint64(0)
	for seq := uint64(1); seq <= 4; seq++ {
		for _, p := range []struct {
			id  peer.ID
			max uint64
		}{{a, 4}, {b, 3}, {c, 2}} {
			if seq > p.max {
				continue
			}
			lamport++
			env, raw := storeEnv(p.id, storeTestRoom, seq, lamport, 1000)
			all = append(all, env)
			raws[storeKey(env)] = raw
		}
	}
	// Insert in reverse so insertion order is not the answer.
	for i := len(all) - 1; i >= 0; i-- {
		storeMustPut(t, s, all[i], raws[storeKey(all[i])])
	}
	noise, noiseRaw := storeEnv(a, storeTestRoom2, 9, 1, 1000)
	storeMustPut(t, s, noise, noiseRaw)

	// lacking returns the raws of all messages above have, in order.
	lacking := func(have map[peer.ID]uint64) [][]byte {
		var out [][]byte
		for _, e := range all {
			if e.Seq > have[e.Author] {
				out = append(out, raws[storeKey(e)])
			}
		}
		return out
	}
	rawLen := len(raws[storeKey(all[0])]) // all raws have the same length here

	full := map[peer.ID]uint64{a: 4, b: 3, c: 2}
	partial := map[peer.ID]uint64{a: 2, c: 2}
	tests := []struct {
		name     string
		have     map[peer.ID]uint64
		maxMsgs  int
		maxBytes int
		want     [][]byte
	}{
		{"nil have gets all", nil, 0, 0, lacking(nil)},
		{"has everything", full, 0, 0, nil},
		{"has more than we do", map[peer.ID]uint64{a: 10, b: 10, c: 10}, 0, 0, nil},
		{"partial", partial, 0, 0, lacking(partial)},
		{"unknown author in have", map[peer.ID]uint64{storeTestPeer(t): 5, a: 4}, 0, 0, lacking(map[peer.ID]uint64{a: 4})},
		{"maxMsgs", nil, 4, 0, lacking(nil)[:4]},
		{"maxMsgs with have", partial, 2, 0, lacking(partial)[:2]},
		{"maxBytes exact", nil, 0, 3 * rawLen, lacking(nil)[:3]},
		{"maxBytes short of the next", nil, 0, 3*rawLen + rawLen - 1, lacking(nil)[:3]},
		{"maxBytes below one message", nil, 0, rawLen - 1, nil},
		{"both limits, msgs first", nil, 2, 5 * rawLen, lacking(nil)[:2]},
		{"both limits, bytes first", nil, 5, 2 * rawLen, lacking(nil)[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Missing(ctx, storeTestRoom, tt.have, tt.maxMsgs, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d:\n got %q\nwant %q", len(got), len(tt.want), got, tt.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Fatalf("[%d] = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestStoreMissingSync checks that Missing and HighWater together bring a
// second store to the same log.
func TestStoreMissingSync(t *testing.T) {
	ctx := context.Background()
	src, dst := storeTestNew(t), storeTestNew(t)
	ids := storeTestPeers(t, 4)
	r := mrand.New(mrand.NewPCG(3, 4))
	for i, id := range ids {
		for seq := uint64(1); seq <= 50; seq++ {
			env, raw := storeEnv(id, storeTestRoom, seq, seq*4+uint64(i), 1000)
			storeMustPut(t, src, env, raw)
			if r.IntN(3) == 0 { // dst already has about a third
				storeMustPut(t, dst, env, raw)
			}
		}
	}
	byRaw := make(map[string]*Envelope)
	log, err := src.Log(ctx, storeTestRoom, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range log {
		byRaw[string(m.Raw)] = m.Env
	}
	for round := 0; ; round++ {
		if round > 100 {
			t.Fatal("sync does not converge")
		}
		have, err := dst.HighWater(ctx, storeTestRoom)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := src.Missing(ctx, storeTestRoom, have, 17, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, raw := range batch {
			if _, err := dst.Put(ctx, byRaw[string(raw)], raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, m := storeCount(t, src, storeTestRoom), storeCount(t, dst, storeTestRoom); n != m {
		t.Fatalf("after sync: src %d, dst %d messages", n, m)
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	ids := storeTestPeers(t, 8)
	const perAuthor = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)*2)
	for _, id := range ids {
		wg.Go(func() {
			for seq := uint64(1); seq <= perAuthor; seq++ {
				env, raw := storeEnv(id, storeTestRoom, seq, seq, 1000)
				if ok, err := s.Put(ctx, env, raw); err != nil || !ok {
					errs <- fmt.Errorf("put %s: %v, %v", storeKey(env), ok, err)
					return
				}
			}
		})
		wg.Go(func() {
			for range perAuthor {
				if _, err := s.HighWater(ctx, storeTestRoom); err != nil {
					errs <- err
					return
				}
				if _, err := s.Log(ctx, storeTestRoom, time.Time{}, 10); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	hw, err := s.HighWater(ctx, storeTestRoom)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if hw[id] != perAuthor {
			t.Errorf("HighWater[%s] = %d, want %d", id, hw[id], perAuthor)
		}
	}
}

func TestStoreDurabilityReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := storeTestPeer(t)
	env, raw := storeEnv(a, storeTestRoom, 1, 1, 1000)

	db, err := sqlitedb.Open(filepath.Join(dir, "f2f.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	storeMustPut(t, s, env, raw)
	// No Store.Close, no checkpoint, no flush: just drop the connection pool.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := storeTestOpen(t, dir)
	s2, err := newStore(db2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	log, err := s2.Log(ctx, storeTestRoom, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || !bytes.Equal(log[0].Raw, raw) {
		t.Fatalf("after reopen: %+v", log)
	}
}

// storeCrashEnv names the database a TestStoreDurabilityKillChild process
// writes to.
const storeCrashEnv = "F2F_TEST_STORE_CRASH_DB"

// TestStoreDurabilityKill runs a child process that stores a message,
// reports it acknowledged and is then killed with SIGKILL: the message must
// be in the database afterwards.
func TestStoreDurabilityKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "f2f.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreDurabilityKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), storeCrashEnv+"="+path)
	stdin, err := cmd.StdinPipe() // the child exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if raw, ok := strings.CutPrefix(line, "acked "); ok {
			acked = append(acked, raw)
		}
		if line == "done" {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatalf("child acknowledged nothing; stderr:\n%s", stderr.String())
	}

	db := storeTestOpen(t, dir)
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log, err := s.Log(context.Background(), storeTestRoom, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[string]bool)
	for _, m := range log {
		stored[string(m.Raw)] = true
	}
	for _, raw := range acked {
		if !stored[raw] {
			t.Errorf("acknowledged message %q lost after kill", raw)
		}
	}
}

// TestStoreDurabilityKillChild is the child of TestStoreDurabilityKill; it
// does nothing in a normal run.
func TestStoreDurabilityKillChild(t *testing.T) {
	path := os.Getenv(storeCrashEnv)
	if path == "" {
		t.Skip("only run as TestStoreDurabilityKill's child")
	}
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	a := storeTestPeer(t)
	for seq := uint64(1); seq <= 20; seq++ {
		env, raw := storeEnv(a, storeTestRoom, seq, seq, 1000)
		storeMustPut(t, s, env, raw)
		fmt.Printf("acked %s\n", raw)
	}
	// Received messages: group-committed batches (synchronous=NORMAL).
	for seq := uint64(21); seq <= 40; seq += 5 {
		var items []PutItem
		for k := seq; k < seq+5; k++ {
			env, raw := storeEnv(a, storeTestRoom, k, k, 1000)
			items = append(items, PutItem{Env: env, Raw: raw})
		}
		if _, err := s.PutBatch(context.Background(), items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			fmt.Printf("acked %s\n", it.Raw)
		}
	}
	fmt.Println("done")
	// Wait to be killed; never close the store or the database.
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func BenchmarkPut(b *testing.B) {
	s := storeTestNew(b)
	ctx := context.Background()
	a := storeTestPeer(b)
	var seq uint64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		env, raw := storeEnv(a, storeTestRoom, seq, seq, 1000)
		if _, err := s.Put(ctx, env, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLog(b *testing.B) {
	s := storeTestNew(b)
	ctx := context.Background()
	ids := storeTestPeers(b, 4)
	const total = 1000
	for i := range total {
		seq := uint64(i/len(ids) + 1)
		env, raw := storeEnv(ids[i%len(ids)], storeTestRoom, seq, seq, 1000+int64(i))
		storeMustPut(b, s, env, raw)
	}
	for _, limit := range []int{0, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				log, err := s.Log(ctx, storeTestRoom, time.Time{}, limit)
				if err != nil {
					b.Fatal(err)
				}
				if want := cmp.Or(limit, total); len(log) != want {
					b.Fatalf("len = %d, want %d", len(log), want)
				}
			}
		})
	}
}

func BenchmarkMissing(b *testing.B) {
	s := storeTestNew(b)
	ctx := context.Background()
	ids := storeTestPeers(b, 10)
	const total = 1000
	have := make(map[peer.ID]uint64)
	for i := range total {
		seq := uint64(i/len(ids) + 1)
		env, raw := storeEnv(ids[i%len(ids)], storeTestRoom, seq, seq, 1000+int64(i))
		storeMustPut(b, s, env, raw)
		if seq <= 90 {
			have[env.Author] = seq
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		batch, err := s.Missing(ctx, storeTestRoom, have, 0, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if len(batch) != 100 {
			b.Fatalf("len = %d, want 100", len(batch))
		}
	}
}
