package overlay

import (
	"context"
	"time"
)

// maxIngestBatch bounds the envelopes stored in one transaction.
const maxIngestBatch = 256

// ingestDelay is how long a received envelope may wait in memory before the
// writer stores it. Its chat event does not wait: it is emitted as soon as
// the envelope is taken in (room.takeIn), so the SQLite insert, which costs as
// much CPU as verifying the envelope, runs after the burst of work one
// message sets off at every member instead of inside it, and the envelopes
// of that time share one transaction. Reads of the stored messages first
// wait for what is queued (flushIngest). A process killed within this delay
// loses those envelopes from its store; the next history sync with a member
// brings them back.
const ingestDelay = 100 * time.Millisecond

// ingestItem is one received envelope for a room, verified and waiting to be
// taken in.
type ingestItem struct {
	r         *room
	env       *Envelope
	raw, body []byte
}

// ingestJob is what the writer gets: envelopes already taken in, to store,
// and, when done is not nil, a wait: done receives the outcome once they
// and everything queued before them are stored.
type ingestJob struct {
	items []PutItem
	done  chan error
}

// takeIn takes in the items whose envelopes this node has neither stored nor
// queued yet (the rooms' state and chat events follow at once) and returns
// them for the writer. An envelope the store would refuse is dropped here.
func (s *Service) takeIn(items []ingestItem, synced bool) []PutItem {
	var out []PutItem
	for _, it := range items {
		if err := storable(it.env, it.raw); err != nil {
			s.log.Debug("drop received envelope", "err", err)
			continue
		}
		if !it.r.takeIn(it.env, it.body) {
			continue
		}
		if synced {
			s.stats.synced.Add(1)
		}
		out = append(out, PutItem{Env: it.env, Raw: it.raw})
	}
	return out
}

// ingestLoop is the writer of received envelopes: it keeps what is queued
// for up to ingestDelay (or until maxIngestBatch envelopes or a wait come),
// then stores it in one transaction (group commit). It runs until the
// service's context ends and stores what is queued then before it returns.
func (s *Service) ingestLoop() {
	defer close(s.ingestDone)
	var (
		pending []PutItem
		waiting []chan error
	)
	timer := time.NewTimer(ingestDelay)
	timer.Stop()
	write := func() {
		timer.Stop()
		var err error
		if len(pending) > 0 {
			// A batch once begun is written whole, even when the service is
			// closing (Close waits for it): without a cancelable context the
			// SQLite driver also skips its per-statement cancel watcher.
			_, err = s.store.PutBatch(context.WithoutCancel(s.ctx), pending)
			if err != nil {
				s.log.Warn("store received messages", "count", len(pending), "err", err)
			}
		}
		for _, w := range waiting {
			w <- err // buffered
		}
		clear(pending)
		pending, waiting = pending[:0], waiting[:0]
	}
	take := func(j *ingestJob) {
		if len(pending) == 0 && len(j.items) > 0 {
			timer.Reset(ingestDelay)
		}
		pending = append(pending, j.items...)
		if j.done != nil {
			waiting = append(waiting, j.done)
		}
	}
	for {
		select {
		case j := <-s.ingestCh:
			take(j)
		more:
			for len(pending) < maxIngestBatch {
				select {
				case j := <-s.ingestCh:
					take(j)
				default:
					break more
				}
			}
			if len(waiting) > 0 || len(pending) >= maxIngestBatch {
				write()
			}
		case <-timer.C:
			write()
		case <-s.ctx.Done():
			for {
				select {
				case j := <-s.ingestCh:
					take(j)
					continue
				default:
				}
				break
			}
			write()
			return
		}
	}
}

// ingest takes in a received envelope and queues it for the writer without
// waiting for it to be stored; it blocks while the queue is full
// (backpressure on the subscription) and gives up when ctx ends.
func (s *Service) ingest(ctx context.Context, it ingestItem) {
	items := s.takeIn([]ingestItem{it}, false)
	if len(items) == 0 {
		return
	}
	select {
	case s.ingestCh <- &ingestJob{items: items}:
	case <-ctx.Done():
	}
}

// ingestWait takes in items, has the writer store them and waits for that:
// how many were new.
func (s *Service) ingestWait(ctx context.Context, items []ingestItem, synced bool) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	put := s.takeIn(items, synced)
	if len(put) == 0 {
		return 0, nil
	}
	return len(put), s.writeIngest(ctx, put)
}

// flushIngest waits until every envelope taken in so far is stored: reads of
// the stored messages call it first.
func (s *Service) flushIngest(ctx context.Context) error {
	return s.writeIngest(ctx, nil)
}

func (s *Service) writeIngest(ctx context.Context, items []PutItem) error {
	j := &ingestJob{items: items, done: make(chan error, 1)}
	select {
	case s.ingestCh <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ingestDone:
		return s.ctx.Err()
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ingestDone: // closed after its last write: an answer may be there
		select {
		case err := <-j.done:
			return err
		default:
			return s.ctx.Err()
		}
	}
}
