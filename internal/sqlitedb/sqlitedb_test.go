package sqlitedb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Two stores in one file migrate apart: each to its own version, again
// without change, and a newer schema than the code knows is refused.
func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f2f.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a := [][]string{{`CREATE TABLE a (x INTEGER)`}, {`ALTER TABLE a ADD COLUMN y TEXT`}}
	b := [][]string{{`CREATE TABLE b (z INTEGER)`}}
	for range 2 { // the second time finds both current
		if err := Migrate(ctx, db, "a", a); err != nil {
			t.Fatal(err)
		}
		if err := Migrate(ctx, db, "b", b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO a (x, y) VALUES (1, 'v2')`); err != nil {
		t.Fatalf("a is not at version 2: %v", err)
	}
	var va, vb int
	if err := db.QueryRow(`SELECT (SELECT version FROM schema_version WHERE name='a'), (SELECT version FROM schema_version WHERE name='b')`).Scan(&va, &vb); err != nil || va != 2 || vb != 1 {
		t.Fatalf("versions a %d, b %d (%v)", va, vb, err)
	}
	// A failing step leaves the version where it was.
	bad := append(a, []string{`CREATE TABLE c (w INTEGER)`, `NOT SQL`})
	if err := Migrate(ctx, db, "a", bad); err == nil || !strings.Contains(err.Error(), "migrate to v3") {
		t.Fatalf("bad step: %v", err)
	}
	if _, err := db.Exec(`SELECT * FROM c`); err == nil {
		t.Fatal("a failed migration left a table behind")
	}
	if err := Migrate(ctx, db, "a", a[:1]); err == nil || !strings.Contains(err.Error(), "newer than supported") {
		t.Fatalf("older code on a newer schema: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}
