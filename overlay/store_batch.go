package overlay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// PutItem is one envelope for PutBatch.
type PutItem struct {
	Env *Envelope
	Raw []byte
}

// ingestConn returns the store's dedicated connection for PutBatch, opening
// it on first use with synchronous=NORMAL.
func (s *Store) ingestConn(ctx context.Context) (*sql.Conn, error) {
	s.ingestMu.Lock()
	defer s.ingestMu.Unlock()
	if s.closing {
		return nil, errors.New("store closed")
	}
	if s.ingest != nil {
		return s.ingest, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		_ = conn.Close()
		return nil, err
	}
	stmt, err := conn.PrepareContext(ctx, putQuery)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	s.ingest, s.ingestPut = conn, stmt
	return conn, nil
}

// PutBatch stores items in one transaction and reports, item by item,
// whether it was new (as Put does). It is the path for envelopes received
// from other members: the transaction commits with synchronous=NORMAL, so
// it survives the process being killed (the WAL is in the OS's page cache)
// but a power loss may take the last batches back, which history sync then
// fetches again from the members that have them. An item the store cannot
// hold fails the whole call (wrapping ErrUnstorable) before anything is
// written. Concurrent calls are serialised.
func (s *Store) PutBatch(ctx context.Context, items []PutItem) (inserted []bool, err error) {
	for _, it := range items {
		if err := storable(it.Env, it.Raw); err != nil {
			return nil, fmt.Errorf("overlay: put batch: %w", err)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	conn, err := s.ingestConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("overlay: put batch: %w", err)
	}
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	// One item (the usual case at chat pace) is one autocommitted statement;
	// more share an explicit transaction.
	if len(items) > 1 {
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			return nil, fmt.Errorf("overlay: put batch: begin: %w", err)
		}
		defer func() {
			if err != nil {
				// Roll back even when ctx is done; the connection must not
				// be left inside a transaction.
				_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
			}
		}()
	}
	now := time.Now().UnixNano()
	inserted = make([]bool, len(items))
	for i, it := range items {
		res, err := s.ingestPut.ExecContext(ctx, putArgs(it.Env, it.Raw, now)...)
		if err != nil {
			return nil, fmt.Errorf("overlay: put batch %s/%s/%d: %w", it.Env.Room, it.Env.Author, it.Env.Seq, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("overlay: put batch: %w", err)
		}
		inserted[i] = n == 1
	}
	if len(items) > 1 {
		if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
			return nil, fmt.Errorf("overlay: put batch: commit: %w", err)
		}
	}
	return inserted, nil
}

// PutUnsynced stores env with its wire encoding raw as Put does, but
// commits with synchronous=NORMAL: the row survives the process being
// killed, not yet a power loss. Calling the returned sync makes it as
// durable as Put (the write-ahead log is flushed to disk). The node's own
// messages are stored this way and published between the two calls, so
// that their delivery does not wait for the disk.
func (s *Store) PutUnsynced(ctx context.Context, env *Envelope, raw []byte) (inserted bool, sync func() error, err error) {
	ins, err := s.PutBatch(ctx, []PutItem{{Env: env, Raw: raw}})
	if err != nil {
		return false, nil, err
	}
	return ins[0], s.syncWAL, nil
}

// syncWAL flushes the database's write-ahead log to disk (what a commit
// with synchronous=FULL does): every transaction committed before it is
// then durable. An in-memory database has nothing to flush.
func (s *Store) syncWAL() error {
	if s.wal == "" {
		return nil
	}
	f, err := os.Open(s.wal)
	if err != nil {
		return fmt.Errorf("overlay: sync: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overlay: sync: %w", err)
	}
	return nil
}

// seqSets returns, for every author with messages in room, the set of its
// stored seqs (the validators' replay check).
func (s *Store) seqSets(ctx context.Context, room string) (map[peer.ID]*seqSet, error) {
	rows, err := s.stmtAuthorRuns.QueryContext(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("overlay: seqs %s: %w", room, err)
	}
	defer rows.Close()
	out := make(map[peer.ID]*seqSet)
	var gapped []string
	for rows.Next() {
		var (
			author        string
			count, lo, hi int64
		)
		if err := rows.Scan(&author, &count, &lo, &hi); err != nil {
			return nil, fmt.Errorf("overlay: seqs %s: %w", room, err)
		}
		if lo == 1 && count == hi { // exactly 1..hi
			id, err := peer.Decode(author)
			if err != nil {
				return nil, fmt.Errorf("overlay: seqs %s: stored author %q: %w", room, author, err)
			}
			out[id] = &seqSet{hw: uint64(hi)}
			continue
		}
		gapped = append(gapped, author)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("overlay: seqs %s: %w", room, err)
	}
	rows.Close()
	for _, author := range gapped {
		id, err := peer.Decode(author)
		if err != nil {
			return nil, fmt.Errorf("overlay: seqs %s: stored author %q: %w", room, author, err)
		}
		set := &seqSet{}
		if err := s.authorSeqs(ctx, room, author, set); err != nil {
			return nil, fmt.Errorf("overlay: seqs %s/%s: %w", room, author, err)
		}
		out[id] = set
	}
	return out, nil
}

func (s *Store) authorSeqs(ctx context.Context, room, author string, set *seqSet) error {
	rows, err := s.stmtAuthorSeqs.QueryContext(ctx, room, author)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		if seq > 0 {
			set.add(uint64(seq))
		}
	}
	return rows.Err()
}
