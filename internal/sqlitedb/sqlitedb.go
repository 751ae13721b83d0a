package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Open opens the SQLite database at path, creating it when missing, with
// modernc.org/sqlite in WAL mode, synchronous=FULL (a committed write is on
// disk before the call returns), foreign_keys on and busy_timeout 5000 ms;
// every pooled connection gets these settings (a writer of bulk data may lower its own connection to
// synchronous=NORMAL). Write transactions begin
// IMMEDIATE so concurrent writers queue on the busy timeout instead of
// failing to upgrade a read lock.
//
// The database file (and its -wal and -shm files, when present) is made
// mode 0600: it holds room passwords. The caller owns the returned *sql.DB
// and closes it.
func Open(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open db: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open db %q: %w", path, err)
	}
	// Create the file ourselves so that it never exists with wider
	// permissions; SQLite gives its -wal and -shm files the database file's
	// mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open db: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open db: %w", err)
	}
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: open db: %w", err)
		}
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// A file: URI (path escaped) so that '?' or '#' in the path cannot be
	// mistaken for the start of the parameters.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open db %s: %w", abs, err)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open db %s: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open db %s: journal_mode is %q, want wal", abs, mode)
	}
	return db, nil
}

// Migrate brings the tables of the store called name to the version
// len(steps) in one transaction: steps[v] are the statements that take
// the schema from version v to v+1. The versions are kept in the table
// schema_version (name, version), shared by the stores of one database.
// A database newer than the steps is an error, and changes nothing.
func Migrate(ctx context.Context, db *sql.DB, name string, steps [][]string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: migrate: begin: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		name    TEXT PRIMARY KEY NOT NULL,
		version INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("%s: migrate: schema_version: %w", name, err)
	}
	var version int64
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE name = ?`, name).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		version = 0
	case err != nil:
		return fmt.Errorf("%s: migrate: read version: %w", name, err)
	}
	want := int64(len(steps))
	switch {
	case version == want:
		return tx.Commit()
	case version > want:
		return fmt.Errorf("%s: schema version %d is newer than supported %d", name, version, want)
	}
	for v := version; v < want; v++ {
		for _, q := range steps[v] {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: migrate to v%d: %w", name, v+1, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (name, version) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version`, name, want); err != nil {
		return fmt.Errorf("%s: migrate: write version: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migrate: commit: %w", name, err)
	}
	return nil
}
