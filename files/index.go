package files

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// schemaName is the file index's row in the database's schema_version
// table.
const schemaName = "files"

// The file index, in the node's SQLite database:
//   - files: the complete local files (added here or fetched whole); a row
//     is written only after every block is durably stored, so a listed
//     file never misses a block.
//   - file_blocks: which file (root) each block belongs to, for the block
//     request filter. A get writes a block's row before it asks for the
//     block, so a block is never served unindexed.
var schemaV1 = []string{
	`CREATE TABLE IF NOT EXISTS files (
		cid    TEXT PRIMARY KEY NOT NULL,
		name   TEXT NOT NULL,
		size   INTEGER NOT NULL CHECK (size >= 0),
		dir    INTEGER NOT NULL,
		origin TEXT NOT NULL,
		at     INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS file_blocks (
		block BLOB NOT NULL,
		root  BLOB NOT NULL,
		PRIMARY KEY (block, root)
	) WITHOUT ROWID`,
}

// Origin says how a local file came to be here.
const (
	OriginAdded   = "added"
	OriginFetched = "fetched"
)

// Entry is a complete local file or directory (`f2f file ls`).
type Entry struct {
	CID string `json:"cid"`
	// Name is the name it was added or fetched under.
	Name string `json:"name"`
	// Size is a file's content size; for a directory, the total size of
	// its blocks.
	Size   uint64    `json:"size"`
	Dir    bool      `json:"dir"`
	Origin string    `json:"origin"`
	Time   time.Time `json:"time"`
}

// List returns the complete local files, oldest first.
func (s *Service) List(ctx context.Context) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, name, size, dir, origin, at FROM files ORDER BY at, cid`)
	if err != nil {
		return nil, fmt.Errorf("files: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e      Entry
			size   int64
			at     int64
			isDir  bool
			origin string
		)
		if err := rows.Scan(&e.CID, &e.Name, &size, &isDir, &origin, &at); err != nil {
			return nil, fmt.Errorf("files: list: %w", err)
		}
		e.Size, e.Dir, e.Origin, e.Time = uint64(size), isDir, origin, time.Unix(0, at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("files: list: %w", err)
	}
	return out, nil
}

// Local reports whether root is a complete local file.
func (s *Service) Local(ctx context.Context, root cid.Cid) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE cid = ?`, root.String()).Scan(&n); err != nil {
		return false, fmt.Errorf("files: local: %w", err)
	}
	return n > 0, nil
}

// Stat returns root's entry in the list of local files, or ErrNotLocal.
func (s *Service) Stat(ctx context.Context, root cid.Cid) (Entry, error) { return s.entry(ctx, root) }

// entry returns the index row of root.
func (s *Service) entry(ctx context.Context, root cid.Cid) (Entry, error) {
	var (
		e         Entry
		size, at  int64
		isDir     bool
		origin    string
		name, key string
	)
	err := s.db.QueryRowContext(ctx, `SELECT cid, name, size, dir, origin, at FROM files WHERE cid = ?`, root.String()).
		Scan(&key, &name, &size, &isDir, &origin, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotLocal, root)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("files: %w", err)
	}
	e = Entry{CID: key, Name: name, Size: uint64(size), Dir: isDir, Origin: origin, Time: time.Unix(0, at).UTC()}
	return e, nil
}

// indexBlocks records that blocks belong to root, in one transaction.
func (s *Service) indexBlocks(ctx context.Context, root cid.Cid, blocks []cid.Cid) error {
	if len(blocks) == 0 {
		return nil
	}
	tx, err := s.idx.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("files: index: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO file_blocks (block, root) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return fmt.Errorf("files: index: %w", err)
	}
	defer stmt.Close()
	r := root.Bytes()
	for _, b := range blocks {
		if _, err := stmt.ExecContext(ctx, b.Bytes(), r); err != nil {
			return fmt.Errorf("files: index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("files: index: %w", err)
	}
	return nil
}

// record lists e as a complete local file once its blocks are durable.
// A file listed already keeps its first name and origin.
func (s *Service) record(ctx context.Context, e Entry) error {
	if s.sync != nil {
		if err := s.sync(ctx); err != nil {
			return fmt.Errorf("files: sync blocks: %w", err)
		}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO files (cid, name, size, dir, origin, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (cid) DO NOTHING`, e.CID, e.Name, int64(e.Size), e.Dir, e.Origin, e.Time.UnixNano())
	if err != nil {
		return fmt.Errorf("files: record %s: %w", e.CID, err)
	}
	return nil
}

// schema is the steps from version to version of the file index.
var schema = [][]string{schemaV1}
