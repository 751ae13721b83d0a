package collab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fluttershy/face2face/internal/sqlitedb"
)

// The documents' tables in f2f.db: a row per document with its last full
// save, every change since then (an acknowledged edit is a committed row,
// so it survives kill -9), and the reminders already given.
var storeSchema = [][]string{{
	`CREATE TABLE docs (
		room    TEXT NOT NULL,
		name    TEXT NOT NULL,
		kind    TEXT NOT NULL,
		save    BLOB NOT NULL,
		created INTEGER NOT NULL,
		PRIMARY KEY (room, name)
	)`,
	`CREATE TABLE doc_changes (
		id   INTEGER PRIMARY KEY AUTOINCREMENT,
		room TEXT NOT NULL,
		name TEXT NOT NULL,
		data BLOB NOT NULL,
		FOREIGN KEY (room, name) REFERENCES docs (room, name) ON DELETE CASCADE
	)`,
	`CREATE INDEX doc_changes_doc ON doc_changes (room, name, id)`,
	`CREATE TABLE doc_reminders (
		id    INTEGER PRIMARY KEY AUTOINCREMENT,
		room  TEXT NOT NULL,
		name  TEXT NOT NULL,
		key   TEXT NOT NULL,
		at    INTEGER NOT NULL,
		title TEXT NOT NULL,
		fired INTEGER NOT NULL,
		UNIQUE (room, name, key, at)
	)`,
}}

type store struct{ db *sql.DB }

func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sqlitedb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("collab: %w", err)
	}
	if err := sqlitedb.Migrate(ctx, db, "collab", storeSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("collab: %w", err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

type storedDoc struct {
	room, name string
	kind       Kind
	save       []byte
	changes    [][]byte
	created    time.Time
}

// load reads every document: its save and its changes since.
func (s *store) load(ctx context.Context) ([]*storedDoc, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT room, name, kind, save, created FROM docs ORDER BY room, name`)
	if err != nil {
		return nil, fmt.Errorf("collab: load documents: %w", err)
	}
	var out []*storedDoc
	byKey := map[[2]string]*storedDoc{}
	for rows.Next() {
		d := &storedDoc{}
		var created int64
		if err := rows.Scan(&d.room, &d.name, &d.kind, &d.save, &created); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("collab: load documents: %w", err)
		}
		d.created = time.Unix(0, created)
		out = append(out, d)
		byKey[[2]string{d.room, d.name}] = d
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("collab: load documents: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT room, name, data FROM doc_changes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("collab: load changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var room, name string
		var data []byte
		if err := rows.Scan(&room, &name, &data); err != nil {
			return nil, fmt.Errorf("collab: load changes: %w", err)
		}
		if d := byKey[[2]string{room, name}]; d != nil {
			d.changes = append(d.changes, data)
		}
	}
	return out, rows.Err()
}

// create stores a new document with its first save.
func (s *store) create(ctx context.Context, room, name string, kind Kind, save []byte, created time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO docs (room, name, kind, save, created) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (room, name) DO NOTHING`, room, name, string(kind), save, created.UnixNano())
	if err != nil {
		return fmt.Errorf("collab: store %s: %w", name, err)
	}
	return nil
}

// appendChanges stores the changes since the document's last save or
// append; when it returns nil they are on disk.
func (s *store) appendChanges(ctx context.Context, room, name string, data []byte) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO doc_changes (room, name, data) VALUES (?, ?, ?)`, room, name, data); err != nil {
		return fmt.Errorf("collab: store a change of %s: %w", name, err)
	}
	return nil
}

// compact replaces a document's save and its changes by one new save, in
// one transaction.
func (s *store) compact(ctx context.Context, room, name string, save []byte) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("collab: compact %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, `UPDATE docs SET save = ? WHERE room = ? AND name = ?`, save, room, name); err != nil {
		return fmt.Errorf("collab: compact %s: %w", name, err)
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM doc_changes WHERE room = ? AND name = ?`, room, name); err != nil {
		return fmt.Errorf("collab: compact %s: %w", name, err)
	}
	return tx.Commit()
}

// forget drops a room's documents and reminders.
func (s *store) forget(ctx context.Context, room string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM docs WHERE room = ?`, room)
	if err == nil {
		_, err = s.db.ExecContext(ctx, `DELETE FROM doc_reminders WHERE room = ?`, room)
	}
	if err != nil {
		return fmt.Errorf("collab: forget room: %w", err)
	}
	return nil
}

// Reminder is one reminder a node gave: an agenda's meeting start or
// item, at its time.
type Reminder struct {
	ID    int64     `json:"id"`
	Room  string    `json:"room"`
	Doc   string    `json:"doc"`
	Key   string    `json:"key"`
	At    time.Time `json:"at"`
	Title string    `json:"title"`
	Fired time.Time `json:"fired"`
}

// markFired records a reminder as given; false when it was given before
// (so each is given once, across restarts).
func (s *store) markFired(ctx context.Context, r *Reminder) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO doc_reminders (room, name, key, at, title, fired)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.Room, r.Doc, r.Key, r.At.UnixMilli(), r.Title, r.Fired.UnixNano())
	if err != nil {
		return false, fmt.Errorf("collab: record reminder: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return false, nil
	}
	r.ID, _ = res.LastInsertId()
	return true, nil
}

// reminders lists the reminders given in a room since a time.
func (s *store) reminders(ctx context.Context, room string, since time.Time) ([]Reminder, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, room, name, key, at, title, fired FROM doc_reminders
		WHERE room = ? AND fired >= ? ORDER BY fired, id`, room, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("collab: reminders: %w", err)
	}
	defer rows.Close()
	var out []Reminder
	for rows.Next() {
		var r Reminder
		var at, fired int64
		if err := rows.Scan(&r.ID, &r.Room, &r.Doc, &r.Key, &at, &r.Title, &fired); err != nil {
			return nil, fmt.Errorf("collab: reminders: %w", err)
		}
		r.At, r.Fired = time.UnixMilli(at), time.Unix(0, fired)
		out = append(out, r)
	}
	return out, rows.Err()
}
