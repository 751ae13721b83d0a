package overlay

import (
	"context"
)

// maxIngestBatch bounds the envelopes stored in one transaction.
const maxIngestBatch = 256

// ingestItem is one received envelope for a room, verified and waiting to be
// stored.
type ingestItem struct {
	r         *room
	env       *Envelope
	raw, body []byte
}

// ingestJob is a group of items handed to the writer. done, when not nil,
// receives the outcome once the items are stored.
type ingestJob struct {
	items  []ingestItem
	synced bool // from history sync: counted as synced
	done   chan ingestResult
}

type ingestResult struct {
	inserted int
	err      error
}

// ingestLoop is the writer of received envelopes: it takes what is queued
// (up to maxIngestBatch envelopes), stores it in one transaction (group
// commit), then updates the rooms and emits the chat events for what was
// new. It runs until the service's context ends.
func (s *Service) ingestLoop() {
	var (
		jobs  []*ingestJob
		items []PutItem
	)
	for {
		jobs, items = jobs[:0], items[:0]
		select {
		case j := <-s.ingestCh:
			jobs = append(jobs, j)
		case <-s.ctx.Done():
			return
		}
		n := len(jobs[0].items)
	more:
		for n < maxIngestBatch {
			select {
			case j := <-s.ingestCh:
				jobs = append(jobs, j)
				n += len(j.items)
			default:
				break more
			}
		}
		for _, j := range jobs {
			for _, it := range j.items {
				items = append(items, PutItem{Env: it.env, Raw: it.raw})
			}
		}
		// A batch once begun is written whole, even when the service is
		// closing (Close waits for it): without a cancelable context the
		// SQLite driver also skips its per-statement cancel watcher.
		inserted, err := s.store.PutBatch(context.WithoutCancel(s.ctx), items)
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("store received messages", "count", len(items), "err", err)
		}
		k := 0
		for _, j := range jobs {
			res := ingestResult{err: err}
			for _, it := range j.items {
				if err == nil && inserted[k] {
					res.inserted++
					if j.synced {
						s.stats.synced.Add(1)
					}
					it.r.storedNew(it.env, it.body)
				}
				k++
			}
			if j.done != nil {
				j.done <- res // buffered
			}
		}
	}
}

// ingest queues items for the writer without waiting for them to be
// stored; it blocks while the queue is full (backpressure on the
// subscription) and gives up when ctx ends.
func (s *Service) ingest(ctx context.Context, it ingestItem) {
	select {
	case s.ingestCh <- &ingestJob{items: []ingestItem{it}}:
	case <-ctx.Done():
	}
}

// ingestWait stores items through the writer and waits for the outcome:
// how many were new.
func (s *Service) ingestWait(ctx context.Context, items []ingestItem, synced bool) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	j := &ingestJob{items: items, synced: synced, done: make(chan ingestResult, 1)}
	select {
	case s.ingestCh <- j:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-j.done:
		return res.inserted, res.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
