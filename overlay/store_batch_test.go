package overlay

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

func TestSeqSet(t *testing.T) {
	var s seqSet
	if !s.has(0) {
		t.Error("0 must count as present")
	}
	for _, q := range []uint64{3, 1, 5, 2} {
		if !s.add(q) {
			t.Errorf("add(%d) not new", q)
		}
	}
	if s.hw != 3 || len(s.above) != 1 {
		t.Errorf("hw %d above %v, want 3 and {5}", s.hw, s.above)
	}
	for _, q := range []uint64{1, 2, 3, 5} {
		if !s.has(q) || s.add(q) {
			t.Errorf("%d: has %v, add again reported new", q, s.has(q))
		}
	}
	if s.has(4) || s.has(6) {
		t.Error("has a seq never added")
	}
	s.add(4)
	if s.hw != 5 || s.above != nil {
		t.Errorf("after filling the gap: hw %d above %v, want 5 and nil", s.hw, s.above)
	}

	// Against a map, in random order.
	rng := rand.New(rand.NewPCG(1, 2))
	var r seqSet
	ref := map[uint64]bool{}
	for range 2000 {
		q := uint64(rng.IntN(500) + 1)
		if got, want := r.add(q), !ref[q]; got != want {
			t.Fatalf("add(%d) = %v, want %v", q, got, want)
		}
		ref[q] = true
	}
	for q := uint64(1); q <= 501; q++ {
		if r.has(q) != ref[q] {
			t.Fatalf("has(%d) = %v, want %v", q, r.has(q), ref[q])
		}
	}
}

func TestStorePutBatch(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	ids := storeTestPeers(t, 2)
	a, b := ids[0], ids[1]
	e1, r1 := storeEnv(a, storeTestRoom, 1, 1, 1000)
	e2, r2 := storeEnv(b, storeTestRoom, 1, 2, 1001)
	e3, r3 := storeEnv(a, "other-room", 1, 1, 1002)
	storeMustPut(t, s, e2, r2) // already there
	got, err := s.PutBatch(ctx, []PutItem{{e1, r1}, {e2, r2}, {e3, r3}, {e1, r1}})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("inserted %v, want %v", got, want)
			break
		}
	}
	if n := storeCount(t, s, storeTestRoom); n != 2 {
		t.Errorf("room has %d messages, want 2", n)
	}

	// One unstorable item fails the call and writes nothing.
	e4, r4 := storeEnv(a, storeTestRoom, 2, 3, 1003)
	bad, _ := storeEnv(a, storeTestRoom, 0, 3, 1003)
	if _, err := s.PutBatch(ctx, []PutItem{{e4, r4}, {bad, []byte("x")}}); !errors.Is(err, ErrUnstorable) {
		t.Errorf("batch with seq 0: err %v, want ErrUnstorable", err)
	}
	if n := storeCount(t, s, storeTestRoom); n != 2 {
		t.Errorf("after failed batch: %d messages, want 2", n)
	}
	// A cancelled context: nothing written, the connection still usable.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PutBatch(cctx, []PutItem{{e4, r4}}); err == nil {
		t.Error("PutBatch with a cancelled context succeeded")
	}
	if got, err := s.PutBatch(ctx, []PutItem{{e4, r4}}); err != nil || !got[0] {
		t.Errorf("PutBatch after a cancelled one: %v, %v", got, err)
	}
	if got, err := s.PutBatch(ctx, nil); err != nil || got != nil {
		t.Errorf("empty batch: %v, %v", got, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	e5, r5 := storeEnv(a, storeTestRoom, 3, 4, 1004)
	if _, err := s.PutBatch(ctx, []PutItem{{e5, r5}}); err == nil {
		t.Error("PutBatch after Close succeeded")
	}
}

func TestStoreSeqs(t *testing.T) {
	s := storeTestNew(t)
	ctx := context.Background()
	ids := storeTestPeers(t, 3)
	put := func(p int, seqs ...uint64) {
		for _, q := range seqs {
			env, raw := storeEnv(ids[p], storeTestRoom, q, q, 1000)
			storeMustPut(t, s, env, raw)
		}
	}
	put(0, 1, 2, 3)    // gap-free
	put(1, 1, 2, 4, 7) // gapped
	put(2, 5)          // missing the start
	env, raw := storeEnv(ids[0], "other-room", 9, 9, 1000)
	storeMustPut(t, s, env, raw)

	seqs, err := s.seqSets(ctx, storeTestRoom)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 {
		t.Fatalf("%d authors, want 3", len(seqs))
	}
	check := func(p int, in []uint64, out []uint64) {
		t.Helper()
		for _, q := range in {
			if !seqs[ids[p]].has(q) {
				t.Errorf("author %d: seq %d missing", p, q)
			}
		}
		for _, q := range out {
			if seqs[ids[p]].has(q) {
				t.Errorf("author %d: seq %d present", p, q)
			}
		}
	}
	check(0, []uint64{1, 2, 3}, []uint64{4, 9})
	check(1, []uint64{1, 2, 4, 7}, []uint64{3, 5, 6, 8})
	check(2, []uint64{5}, []uint64{1, 4, 6})
	if seqs[ids[0]].above != nil {
		t.Errorf("gap-free author keeps %v above its high-water mark", seqs[ids[0]].above)
	}
}

// PutUnsynced stores at once (readable, a duplicate not stored twice) and
// its sync flushes the write-ahead log it wrote to; a store that cannot
// find its log says so.
func TestStorePutUnsynced(t *testing.T) {
	dir := t.TempDir()
	db := storeTestOpen(t, dir)
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	if s.wal != filepath.Join(dir, "f2f.db-wal") {
		t.Fatalf("write-ahead log %q, want the database's", s.wal)
	}
	ctx := context.Background()
	a := storeTestPeers(t, 1)[0]
	e1, r1 := storeEnv(a, storeTestRoom, 1, 1, 1000)
	ins, sync, err := s.PutUnsynced(ctx, e1, r1)
	if err != nil || !ins {
		t.Fatalf("PutUnsynced: %v, %v", ins, err)
	}
	if n := storeCount(t, s, storeTestRoom); n != 1 {
		t.Fatalf("%d messages before the sync, want 1", n)
	}
	if err := sync(); err != nil {
		t.Fatal(err)
	}
	if ins, _, err := s.PutUnsynced(ctx, e1, r1); err != nil || ins {
		t.Fatalf("again: %v, %v, want not inserted", ins, err)
	}
	s.wal = filepath.Join(dir, "missing-wal")
	if err := s.syncWAL(); err == nil || !strings.Contains(err.Error(), "overlay: sync") {
		t.Fatalf("sync of a missing log: %v", err)
	}
}
