package overlay

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ingestTestService is a Service with only its writer running, over a real
// store.
func ingestTestService(t *testing.T) (*Service, func()) {
	t.Helper()
	s := &Service{store: storeTestNew(t), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ingestCh: make(chan *ingestJob, maxIngestBatch), ingestDone: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.ingestLoop()
	stop := func() {
		s.cancel()
		<-s.ingestDone
	}
	t.Cleanup(stop)
	return s, stop
}

// TestIngestWriter: what is taken in is stored after at most ingestDelay in
// one transaction, at once when somebody waits for it (a read of the log),
// and, when the service closes first, before the writer returns.
func TestIngestWriter(t *testing.T) {
	ctx := context.Background()
	a := storeTestPeers(t, 1)[0]
	item := func(seq uint64) PutItem {
		e, r := storeEnv(a, storeTestRoom, seq, seq, 1000+int64(seq))
		return PutItem{Env: e, Raw: r}
	}

	s, stop := ingestTestService(t)
	start := time.Now()
	s.ingestCh <- &ingestJob{items: []PutItem{item(1)}}
	s.ingestCh <- &ingestJob{items: []PutItem{item(2)}}
	if n := storeCount(t, s.store, storeTestRoom); n != 0 {
		t.Fatalf("stored %d at once, want them kept for up to %v", n, ingestDelay)
	}
	for storeCount(t, s.store, storeTestRoom) < 2 {
		if time.Since(start) > 30*time.Second {
			t.Fatal("queued messages not stored after 30 s")
		}
		time.Sleep(10 * time.Millisecond) // polling the store: it has no event to wait on
	}

	s.ingestCh <- &ingestJob{items: []PutItem{item(3)}}
	if err := s.flushIngest(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storeCount(t, s.store, storeTestRoom); n != 3 {
		t.Fatalf("after a flush: %d stored, want 3", n)
	}

	s.ingestCh <- &ingestJob{items: []PutItem{item(4), item(5)}}
	stop()
	if n := storeCount(t, s.store, storeTestRoom); n != 5 {
		t.Fatalf("after the writer stopped: %d stored, want 5", n)
	}
	// A flush after the writer stopped answers instead of hanging.
	if err := s.flushIngest(ctx); err == nil {
		t.Error("flush after the writer stopped: no error")
	}
}
