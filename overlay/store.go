package overlay

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/internal/sqlitedb"
)

// storeSchemaName is this store's row in the shared schema_version table;
// other packages keeping tables in the same database use their own row.
const storeSchemaName = "overlay"

// storeSchema is the steps from version to version of the overlay tables.
var storeSchema = [][]string{storeSchemaV1, storeSchemaV2, storeSchemaV3, storeSchemaV4}

// storeSchemaVersion is the schema version the store creates and understands.
var storeSchemaVersion = int64(len(storeSchema))

// storeSchemaV1 creates version 1 of the overlay tables.
//
// The UNIQUE (room, author, seq) constraint is the (room, author, seq) index
// used by Put, MaxSeq, HighWater and Missing; messages_order serves the
// deterministic (lamport, author, seq) order of Log, Missing and MaxLamport.
var storeSchemaV1 = []string{
	`CREATE TABLE IF NOT EXISTS rooms (
		hash       TEXT PRIMARY KEY NOT NULL,
		room_key   TEXT NOT NULL,
		name       TEXT NOT NULL,
		password   TEXT NOT NULL,
		nick       TEXT NOT NULL,
		joined     INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS messages (
		id       INTEGER PRIMARY KEY,
		room     TEXT NOT NULL,
		author   TEXT NOT NULL,
		seq      INTEGER NOT NULL CHECK (seq > 0),
		lamport  INTEGER NOT NULL CHECK (lamport >= 0),
		time     INTEGER NOT NULL,
		kind     INTEGER NOT NULL,
		body     BLOB NOT NULL,
		sig      BLOB NOT NULL,
		raw      BLOB NOT NULL,
		received INTEGER NOT NULL,
		UNIQUE (room, author, seq)
	)`,
	`CREATE INDEX IF NOT EXISTS messages_order ON messages (room, lamport, author, seq)`,
}

// storeSchemaV2 adds to v1 a partial index of the file messages (kind 7),
// read at start to rebuild the file access policy and by Files.
var storeSchemaV2 = []string{
	`CREATE INDEX IF NOT EXISTS messages_files ON messages (room, lamport, author, seq) WHERE kind = 7`,
}

// storeSchemaV3 adds the files this node fetched from members of password
// rooms only: they stay restricted to those rooms (see NoteFetched).
var storeSchemaV3 = []string{
	`CREATE TABLE IF NOT EXISTS fetched_files (
		cid  BLOB NOT NULL,
		room TEXT NOT NULL,
		PRIMARY KEY (cid, room)
	)`,
}

// storeSchemaV4 adds a partial index of the nickname-setting messages
// (nick and join, kinds 3 and 4): Log reads them to name the authors of a
// page of the log without reading the whole log.
var storeSchemaV4 = []string{
	`CREATE INDEX IF NOT EXISTS messages_nicks ON messages (room, lamport, author, seq) WHERE kind IN (3, 4)`,
}

// RoomRecord is a room this node knows, as kept in the store.
type RoomRecord struct {
	// Hash identifies the room (32 hex characters); the primary key.
	Hash string
	// Key is the room key string users share.
	Key string
	// Name is the room's local name.
	Name string
	// Password is kept so a joined password room can be rejoined after a
	// restart; the database file is mode 0600 inside the 0700 repo dir.
	Password string
	// Nick is this node's nickname in the room.
	Nick string
	// Joined reports whether the node should be in the room.
	Joined bool
	// CreatedAt is when the room was first saved (set by SaveRoom when
	// zero and kept by later upserts).
	CreatedAt time.Time
}

// StoredMessage is an envelope as kept in the chat log.
type StoredMessage struct {
	// Env holds the envelope's fields, rebuilt from the stored columns.
	Env *Envelope
	// Raw is the envelope's wire encoding as it was stored.
	Raw []byte
	// Received is when this node stored the envelope.
	Received time.Time
}

// Store keeps rooms and chat logs in SQLite.
//
// Concurrency: a Store is safe for concurrent use. It keeps no state of its
// own besides prepared statements and PutBatch's connection; database/sql
// pools connections and each write is a single statement or transaction,
// so SQLite serialises writers.
type Store struct {
	db    *sql.DB
	ownDB bool // Close closes db

	closeOnce sync.Once
	closeErr  error

	stmtSaveRoom   *sql.Stmt
	stmtRoom       *sql.Stmt
	stmtRooms      *sql.Stmt
	stmtSetJoined  *sql.Stmt
	stmtSetNick    *sql.Stmt
	stmtPut        *sql.Stmt
	stmtLogAll     *sql.Stmt
	stmtLogLast    *sql.Stmt
	stmtCount      *sql.Stmt
	stmtMaxLamport *sql.Stmt
	stmtMaxSeq     *sql.Stmt
	stmtAuthorRuns *sql.Stmt
	stmtMissing    *sql.Stmt
	stmtFiles      *sql.Stmt
	stmtNicks      *sql.Stmt
	stmtAuthorSeqs *sql.Stmt

	// ingest is PutBatch's own connection (synchronous=NORMAL), opened on
	// first use; batchMu serialises the batches on it.
	ingestMu  sync.Mutex
	closing   bool
	ingest    *sql.Conn
	ingestPut *sql.Stmt
	batchMu   sync.Mutex

	// wal is the database's write-ahead log file (PutUnsynced syncs it).
	wal string
}

const roomColumns = `hash, room_key, name, password, nick, joined, created_at`

const messageColumns = `author, seq, lamport, time, kind, body, sig, raw, received`

const putQuery = `INSERT INTO messages (room, ` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (room, author, seq) DO NOTHING`

// putArgs are putQuery's arguments for env, received at recv (Unix ns).
func putArgs(env *Envelope, raw []byte, recv int64) []any {
	body, sig := env.Body, env.Sig
	if body == nil {
		body = []byte{}
	}
	if sig == nil {
		sig = []byte{}
	}
	return []any{env.Room, env.Author.String(), int64(env.Seq), int64(env.Lamport),
		env.Time, int64(env.Kind), body, sig, raw, recv}
}

// OpenStore opens the SQLite database at path (see sqlitedb.Open: other
// packages may keep their tables in the same file) and the store in it:
// it creates or migrates the store's tables and prepares its statements.
// Opening again (in this process or after a restart) finds the schema
// current and changes nothing; the schema version is recorded in the
// schema_version table under the name "overlay". The store owns its
// database handle: Close closes it.
func OpenStore(path string) (*Store, error) {
	db, err := sqlitedb.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := newStore(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// newStore opens the store in db, which stays the caller's (tests).
func newStore(db *sql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("overlay: new store: nil db")
	}
	ctx := context.Background()
	if err := sqlitedb.Migrate(ctx, db, storeSchemaName, storeSchema); err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	s := &Store{db: db}
	var seq int
	var name, file string
	if err := db.QueryRowContext(ctx, `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		return nil, fmt.Errorf("overlay: database file: %w", err)
	}
	if file != "" {
		s.wal = file + "-wal"
	}
	stmts := []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.stmtSaveRoom, `INSERT INTO rooms (` + roomColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO UPDATE SET room_key = excluded.room_key, name = excluded.name,
			password = excluded.password, nick = excluded.nick, joined = excluded.joined`},
		{&s.stmtRoom, `SELECT ` + roomColumns + ` FROM rooms WHERE hash = ?`},
		{&s.stmtRooms, `SELECT ` + roomColumns + ` FROM rooms ORDER BY created_at, name, hash`},
		{&s.stmtSetJoined, `UPDATE rooms SET joined = ? WHERE hash = ?`},
		{&s.stmtSetNick, `UPDATE rooms SET nick = ? WHERE hash = ?`},
		{&s.stmtPut, putQuery},
		{&s.stmtAuthorSeqs, `SELECT seq FROM messages WHERE room = ? AND author = ? ORDER BY seq`},
		{&s.stmtLogAll, `SELECT ` + messageColumns + ` FROM messages
			WHERE room = ? AND time >= ? ORDER BY lamport, author, seq`},
		{&s.stmtLogLast, `SELECT ` + messageColumns + ` FROM messages
			WHERE room = ? AND time >= ? ORDER BY lamport DESC, author DESC, seq DESC LIMIT ?`},
		{&s.stmtFiles, `SELECT ` + messageColumns + ` FROM messages
			WHERE room = ? AND kind = 7 ORDER BY lamport, author, seq`},
		{&s.stmtNicks, `SELECT ` + messageColumns + ` FROM messages
			WHERE room = ? AND kind IN (3, 4) ORDER BY lamport, author, seq`},
		{&s.stmtCount, `SELECT COUNT(*) FROM messages WHERE room = ?`},
		{&s.stmtMaxLamport, `SELECT COALESCE(MAX(lamport), 0) FROM messages WHERE room = ?`},
		{&s.stmtMaxSeq, `SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ? AND author = ?`},
		{&s.stmtAuthorRuns, `SELECT author, COUNT(*), MIN(seq), MAX(seq) FROM messages
			WHERE room = ? GROUP BY author`},
		// MATERIALIZED lets SQLite index the high-water marks (an automatic
		// index on author) instead of scanning them for every message.
		{&s.stmtMissing, `WITH have(author, hw) AS MATERIALIZED (SELECT key, value FROM json_each(?2))
			SELECT m.raw FROM messages m LEFT JOIN have h ON h.author = m.author
			WHERE m.room = ?1 AND m.seq > COALESCE(h.hw, 0)
			ORDER BY m.lamport, m.author, m.seq LIMIT ?3`},
	}
	for _, st := range stmts {
		stmt, err := db.PrepareContext(ctx, st.query)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("overlay: new store: prepare: %w", err)
		}
		*st.dst = stmt
	}
	return s, nil
}

// Close closes the store's prepared statements and its database handle.
// Calling Close again returns the first result; other methods fail after
// Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.ingestMu.Lock()
		s.closing = true
		s.ingestMu.Unlock()
		s.batchMu.Lock() // no batch in flight
		if s.ingest != nil {
			errs = append(errs, s.ingestPut.Close(), s.ingest.Close())
		}
		s.batchMu.Unlock()
		for _, st := range []*sql.Stmt{
			s.stmtSaveRoom, s.stmtRoom, s.stmtRooms, s.stmtSetJoined, s.stmtSetNick,
			s.stmtPut, s.stmtLogAll, s.stmtLogLast, s.stmtCount, s.stmtMaxLamport,
			s.stmtMaxSeq, s.stmtAuthorRuns, s.stmtMissing, s.stmtAuthorSeqs, s.stmtFiles, s.stmtNicks,
		} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		if s.ownDB {
			errs = append(errs, s.db.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("overlay: close store: %w", err)
		}
	})
	return s.closeErr
}

// SaveRoom inserts r, or updates the room with r.Hash: its key, name,
// password, nick and joined flag. A zero CreatedAt is set to now on insert;
// an update keeps the stored CreatedAt.
func (s *Store) SaveRoom(ctx context.Context, r RoomRecord) error {
	if r.Hash == "" {
		return errors.New("overlay: save room: empty hash")
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	if _, err := s.stmtSaveRoom.ExecContext(ctx, r.Hash, r.Key, r.Name, r.Password, r.Nick, r.Joined, created.UnixNano()); err != nil {
		return fmt.Errorf("overlay: save room %s: %w", r.Hash, err)
	}
	return nil
}

// Room returns the room with the given hash, or an error wrapping ErrNoRoom.
func (s *Store) Room(ctx context.Context, hash string) (RoomRecord, error) {
	r, err := scanRoom(s.stmtRoom.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return RoomRecord{}, fmt.Errorf("overlay: room %s: %w", hash, ErrNoRoom)
	}
	if err != nil {
		return RoomRecord{}, fmt.Errorf("overlay: room %s: %w", hash, err)
	}
	return r, nil
}

// Rooms returns every stored room ordered by CreatedAt, then Name (then
// Hash).
func (s *Store) Rooms(ctx context.Context) ([]RoomRecord, error) {
	rows, err := s.stmtRooms.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("overlay: rooms: %w", err)
	}
	defer rows.Close()
	var out []RoomRecord
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, fmt.Errorf("overlay: rooms: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("overlay: rooms: %w", err)
	}
	return out, nil
}

// DeleteRoom removes a room and its messages in one transaction; the CIDs
// in restricted are recorded as fetched for the room (see NoteFetched), so
// that a password room's files stay restricted to it after it is gone.
func (s *Store) DeleteRoom(ctx context.Context, hash string, restricted [][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("overlay: delete room %s: %w", hash, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, c := range restricted {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO fetched_files (cid, room) VALUES (?, ?)`, c, hash); err != nil {
			return fmt.Errorf("overlay: delete room %s: %w", hash, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE room = ?`, hash); err != nil {
		return fmt.Errorf("overlay: delete room %s: %w", hash, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM rooms WHERE hash = ?`, hash)
	if err := updatedOne(res, err); err != nil {
		return fmt.Errorf("overlay: delete room %s: %w", hash, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("overlay: delete room %s: %w", hash, err)
	}
	return nil
}

// SetJoined sets the joined flag of the room with the given hash; an error
// wrapping ErrNoRoom when there is none.
func (s *Store) SetJoined(ctx context.Context, hash string, joined bool) error {
	res, err := s.stmtSetJoined.ExecContext(ctx, joined, hash)
	if err := updatedOne(res, err); err != nil {
		return fmt.Errorf("overlay: set joined %s: %w", hash, err)
	}
	return nil
}

// SetNick sets this node's nick in the room with the given hash; an error
// wrapping ErrNoRoom when there is none.
func (s *Store) SetNick(ctx context.Context, hash, nick string) error {
	res, err := s.stmtSetNick.ExecContext(ctx, nick, hash)
	if err := updatedOne(res, err); err != nil {
		return fmt.Errorf("overlay: set nick %s: %w", hash, err)
	}
	return nil
}

// updatedOne turns an UPDATE's result into ErrNoRoom when no row matched.
func updatedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoRoom
	}
	return nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanRoom(row rowScanner) (RoomRecord, error) {
	var (
		r       RoomRecord
		created int64
	)
	if err := row.Scan(&r.Hash, &r.Key, &r.Name, &r.Password, &r.Nick, &r.Joined, &created); err != nil {
		return RoomRecord{}, err
	}
	r.CreatedAt = time.Unix(0, created)
	return r, nil
}

// Put stores env with its wire encoding raw in env.Room's log and reports
// whether it was new. The write is committed (synchronous=FULL: on disk)
// before Put returns. An envelope whose (room, author, seq) is already
// stored is not written again and Put returns (false, nil), whether raw is
// the same (a duplicate) or differs (the caller counts that as a replay).
// An envelope the store cannot hold is an error wrapping ErrUnstorable.
func (s *Store) Put(ctx context.Context, env *Envelope, raw []byte) (inserted bool, err error) {
	if err := storable(env, raw); err != nil {
		return false, fmt.Errorf("overlay: put: %w", err)
	}
	res, err := s.stmtPut.ExecContext(ctx, putArgs(env, raw, time.Now().UnixNano())...)
	if err != nil {
		return false, fmt.Errorf("overlay: put %s/%s/%d: %w", env.Room, env.Author, env.Seq, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("overlay: put %s/%s/%d: %w", env.Room, env.Author, env.Seq, err)
	}
	return n == 1, nil
}

// storable checks what the schema needs of an envelope.
func storable(env *Envelope, raw []byte) error {
	switch {
	case env == nil:
		return fmt.Errorf("%w: nil envelope", ErrUnstorable)
	case env.Room == "":
		return fmt.Errorf("%w: empty room", ErrUnstorable)
	case env.Author == "":
		return fmt.Errorf("%w: empty author", ErrUnstorable)
	case env.Seq == 0:
		return fmt.Errorf("%w: seq 0", ErrUnstorable)
	case env.Seq > math.MaxInt64:
		return fmt.Errorf("%w: seq %d out of range", ErrUnstorable, env.Seq)
	case env.Lamport > math.MaxInt64:
		return fmt.Errorf("%w: lamport %d out of range", ErrUnstorable, env.Lamport)
	case len(raw) == 0:
		return fmt.Errorf("%w: empty raw encoding", ErrUnstorable)
	}
	return nil
}

// Log returns room's messages whose Time is at or after since (a zero since
// means all), in the deterministic order (lamport, author, seq). With
// limit > 0 it returns the last limit messages of that order; limit <= 0
// means no limit.
func (s *Store) Log(ctx context.Context, room string, since time.Time, limit int) ([]StoredMessage, error) {
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = since.UnixMilli()
	}
	var (
		rows *sql.Rows
		err  error
	)
	if limit > 0 {
		rows, err = s.stmtLogLast.QueryContext(ctx, room, from, limit)
	} else {
		rows, err = s.stmtLogAll.QueryContext(ctx, room, from)
	}
	if err != nil {
		return nil, fmt.Errorf("overlay: log %s: %w", room, err)
	}
	out, err := scanMessages(room, rows)
	if err != nil {
		return nil, fmt.Errorf("overlay: log %s: %w", room, err)
	}
	if limit > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// scanMessages reads rows of messageColumns of room and closes them.
func scanMessages(room string, rows *sql.Rows) ([]StoredMessage, error) {
	defer rows.Close()
	authors := make(map[string]peer.ID)
	var out []StoredMessage
	for rows.Next() {
		var (
			author                        string
			seq, lamport, ts, kind, recvd int64
			body, sig, raw                []byte
		)
		if err := rows.Scan(&author, &seq, &lamport, &ts, &kind, &body, &sig, &raw, &recvd); err != nil {
			return nil, err
		}
		id, ok := authors[author]
		if !ok {
			var err error
			if id, err = peer.Decode(author); err != nil {
				return nil, fmt.Errorf("stored author %q: %w", author, err)
			}
			authors[author] = id
		}
		if seq <= 0 || lamport < 0 || kind < 0 || kind > math.MaxUint8 {
			return nil, fmt.Errorf("stored message %s/%d out of range", author, seq)
		}
		out = append(out, StoredMessage{
			Env: &Envelope{
				Author:  id,
				Room:    room,
				Seq:     uint64(seq),
				Lamport: uint64(lamport),
				Time:    ts,
				Kind:    Kind(kind),
				Body:    body,
				Sig:     sig,
			},
			Raw:      raw,
			Received: time.Unix(0, recvd),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// FileMessages returns room's file messages (kind 7) in log order.
func (s *Store) FileMessages(ctx context.Context, room string) ([]StoredMessage, error) {
	rows, err := s.stmtFiles.QueryContext(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("overlay: files %s: %w", room, err)
	}
	out, err := scanMessages(room, rows)
	if err != nil {
		return nil, fmt.Errorf("overlay: files %s: %w", room, err)
	}
	return out, nil
}

// NickMessages returns room's nick and join messages (the ones that set
// an author's nickname), in the deterministic order.
func (s *Store) NickMessages(ctx context.Context, room string) ([]StoredMessage, error) {
	rows, err := s.stmtNicks.QueryContext(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("overlay: nicknames %s: %w", room, err)
	}
	out, err := scanMessages(room, rows)
	if err != nil {
		return nil, fmt.Errorf("overlay: nicknames %s: %w", room, err)
	}
	return out, nil
}

// Count returns the number of messages stored for room.
func (s *Store) Count(ctx context.Context, room string) (int, error) {
	var n int
	if err := s.stmtCount.QueryRowContext(ctx, room).Scan(&n); err != nil {
		return 0, fmt.Errorf("overlay: count %s: %w", room, err)
	}
	return n, nil
}

// MaxLamport returns the largest lamport stored for room, 0 when none.
func (s *Store) MaxLamport(ctx context.Context, room string) (uint64, error) {
	var n int64
	if err := s.stmtMaxLamport.QueryRowContext(ctx, room).Scan(&n); err != nil {
		return 0, fmt.Errorf("overlay: max lamport %s: %w", room, err)
	}
	return uint64(max(n, 0)), nil
}

// MaxSeq returns the largest seq stored for author in room, 0 when none.
func (s *Store) MaxSeq(ctx context.Context, room string, author peer.ID) (uint64, error) {
	var n int64
	if err := s.stmtMaxSeq.QueryRowContext(ctx, room, author.String()).Scan(&n); err != nil {
		return 0, fmt.Errorf("overlay: max seq %s/%s: %w", room, author, err)
	}
	return uint64(max(n, 0)), nil
}

// HighWater returns, for every author with messages in room, the largest h
// such that seqs 1..h are all stored (0 when seq 1 is missing).
func (s *Store) HighWater(ctx context.Context, room string) (map[peer.ID]uint64, error) {
	seqs, err := s.seqSets(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make(map[peer.ID]uint64, len(seqs))
	for a, set := range seqs {
		out[a] = set.hw
	}
	return out, nil
}

// Missing returns the raw envelopes of room that a peer with the high-water
// marks have lacks: every message whose seq is above have[author] (all of an
// author's messages when the author is not in have), in the order
// (lamport, author, seq). The result is a prefix of that order: it stops
// before the message that would make it longer than maxMsgs messages or
// larger than maxBytes bytes of raw encodings in total, so a single message
// larger than maxBytes ends it. maxMsgs <= 0 or maxBytes <= 0 means no limit
// of that kind.
func (s *Store) Missing(ctx context.Context, room string, have map[peer.ID]uint64, maxMsgs int, maxBytes int) ([][]byte, error) {
	var out [][]byte
	err := s.MissingEach(ctx, room, have, maxMsgs, maxBytes, func(raw []byte) error {
		out = append(out, raw)
		return nil
	})
	return out, err
}

// MissingEach is Missing that hands each envelope to f as it reads it
// instead of collecting them, so an answer streams in bounded memory. f may
// keep raw. An error from f ends the walk and is returned.
func (s *Store) MissingEach(ctx context.Context, room string, have map[peer.ID]uint64, maxMsgs int, maxBytes int, f func(raw []byte) error) error {
	marks := make(map[string]int64, len(have))
	for id, h := range have {
		marks[id.String()] = int64(min(h, math.MaxInt64))
	}
	js, err := json.Marshal(marks)
	if err != nil {
		return fmt.Errorf("overlay: missing %s: %w", room, err)
	}
	limit := int64(-1) // SQLite: no limit
	if maxMsgs > 0 {
		limit = int64(maxMsgs)
	}
	rows, err := s.stmtMissing.QueryContext(ctx, room, string(js), limit)
	if err != nil {
		return fmt.Errorf("overlay: missing %s: %w", room, err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("overlay: missing %s: %w", room, err)
		}
		if maxBytes > 0 && len(raw) > maxBytes-total {
			break
		}
		total += len(raw)
		if err := f(raw); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("overlay: missing %s: %w", room, err)
	}
	return nil
}

// AddFetched records that file c was fetched from proven members of the
// password room with this hash only.
func (s *Store) AddFetched(ctx context.Context, c []byte, room string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO fetched_files (cid, room) VALUES (?, ?)`, c, room); err != nil {
		return fmt.Errorf("overlay: add fetched file: %w", err)
	}
	return nil
}

// Fetched returns every (file CID bytes, room hash) AddFetched recorded.
func (s *Store) Fetched(ctx context.Context) (cids [][]byte, rooms []string, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, room FROM fetched_files`)
	if err != nil {
		return nil, nil, fmt.Errorf("overlay: fetched files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c []byte
		var r string
		if err := rows.Scan(&c, &r); err != nil {
			return nil, nil, fmt.Errorf("overlay: fetched files: %w", err)
		}
		cids, rooms = append(cids, c), append(rooms, r)
	}
	return cids, rooms, rows.Err()
}
