package overlay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestFileLinkRoundTrip(t *testing.T) {
	l := FileLink{CID: cid.MustParse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
		Name: "notes – März.txt", Size: 12345, MIME: "text/plain; charset=utf-8"}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFileLink(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CID.Equals(l.CID) || got.Name != l.Name || got.Size != l.Size || got.MIME != l.MIME {
		t.Fatalf("round trip %+v != %+v", got, l)
	}
	if err := ValidText(KindFile, b); err != nil {
		t.Fatal(err)
	}
	// Non-canonical: a trailing byte, a padded varint, fields out of order.
	bad := [][]byte{append(append([]byte{}, b...), 0), {}, []byte("garbage")}
	padded := append([]byte{}, b...)
	for i := range padded { // find the size tag (field 3, varint) and pad it
		if padded[i] == 3<<3 {
			padded = append(padded[:i+1], append([]byte{padded[i+1] | 0x80, 0x80, 0}, padded[i+2:]...)...)
			break
		}
	}
	bad = append(bad, padded)
	for i, b := range bad {
		if _, err := ParseFileLink(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad link %d: err %v", i, err)
		}
	}
}

func TestFileLinkValidate(t *testing.T) {
	ok := FileLink{CID: cid.MustParse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"), Name: "a.txt", MIME: "text/plain"}
	for name, mod := range map[string]func(*FileLink){
		"no cid": func(l *FileLink) { l.CID = cid.Undef },
		"cbor cid": func(l *FileLink) {
			l.CID = cid.MustParse("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
		},
		"empty name": func(l *FileLink) { l.Name = "" },
		"slash":      func(l *FileLink) { l.Name = "a/b" },
		"dotdot":     func(l *FileLink) { l.Name = ".." },
		"control":    func(l *FileLink) { l.Name = "a\x07" },
		"long name":  func(l *FileLink) { l.Name = strings.Repeat("x", MaxFileNameBytes+1) },
		"bad mime":   func(l *FileLink) { l.MIME = "text/\x01" },
		"long mime":  func(l *FileLink) { l.MIME = strings.Repeat("x", MaxMIMEBytes+1) },
		"huge size":  func(l *FileLink) { l.Size = 1 << 60 },
	} {
		l := ok
		mod(&l)
		if err := l.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
		if _, err := l.Marshal(); err == nil {
			t.Errorf("%s: marshalled", name)
		}
	}
}

// TestStoreMigratesV1: a v1 database (issue 3) gains the file index and
// keeps its messages.
func TestStoreMigratesV1(t *testing.T) {
	db := storeTestOpen(t, t.TempDir())
	ctx := context.Background()
	for _, q := range storeSchemaV1 {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`CREATE TABLE schema_version (name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL);
		INSERT INTO schema_version VALUES ('overlay', 1)`); err != nil {
		t.Fatal(err)
	}
	s, err := newStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_files'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("messages_files index: %d %v", n, err)
	}
	var v int64
	if err := db.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE name = 'overlay'`).Scan(&v); err != nil || v != storeSchemaVersion {
		t.Fatalf("version %d %v", v, err)
	}
}
