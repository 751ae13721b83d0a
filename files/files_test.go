package files

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"
)

func newTestService(t *testing.T, opts ...Option) *Service {
	t.Helper()
	bs := blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
	s, err := New(filepath.Join(t.TempDir(), "f2f.db"), bs, offline.Exchange(bs), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pattern returns n bytes of i % 251, the content of the Kubo vectors.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// kuboVectors were printed by Kubo 0.38.2 (`ipfs add --offline
// --cid-version=1 -Q FILE`, built from github.com/ipfs/kubo@v0.38.2 in a
// fresh `ipfs init --profile test` repo), not by this code.
var kuboVectors = []struct {
	name string
	data []byte
	cid  string
}{
	{"empty", nil, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
	{"one byte", []byte("x"), "bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"},
	{"256 KiB", pattern(256 << 10), "bafkreibruh455iawsviqslif5c7uurdcfdemh22mtnytyzvnzn75kpejxy"},
	{"256 KiB + 1", pattern(256<<10 + 1), "bafybeiexg2oqkfnj56l7fcmawswqbijt5shq4b5rg6a546uwpkqqzwjioi"},
	{"10 MiB", pattern(10 << 20), "bafybeih4kagh7adu5njlrodpibagiyttjpsfgsxw5buthmrw5edmkavvqi"},
	{"45 MiB (two levels)", pattern(45 << 20), "bafybeic3emv2arnxcd3uaaysb732uhooheweuhttvsc2v5ut36jhoric3u"},
}

func TestAddMatchesKubo(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	for _, v := range kuboVectors {
		t.Run(v.name, func(t *testing.T) {
			e, err := s.AddFile(ctx, "f", bytes.NewReader(v.data))
			if err != nil {
				t.Fatal(err)
			}
			if e.CID != v.cid {
				t.Fatalf("CID %s, Kubo says %s", e.CID, v.cid)
			}
			if e.Size != uint64(len(v.data)) || e.Dir || e.Origin != OriginAdded {
				t.Fatalf("entry %+v", e)
			}
		})
	}
}

// tarOf builds a tar stream of entries (name ending in / for a directory).
func tarOf(t *testing.T, entries []tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		switch {
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		case e.name[len(e.name)-1] == '/':
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

type tarEntry struct {
	name string
	data []byte
	link string
}

var kuboDir = []tarEntry{
	{name: "dir/"},
	{name: "dir/hello.txt", data: []byte("hello face2face\n")},
	{name: "dir/sub/"},
	{name: "dir/sub/data.bin", data: pattern(300 << 10)},
	{name: "dir/sub/empty"},
}

// TestAddDirMatchesKubo: `ipfs add --offline --cid-version=1 -r dir` of
// the same tree printed these (Kubo 0.38.2).
func TestAddDirMatchesKubo(t *testing.T) {
	s := newTestService(t)
	got := map[string]string{}
	e, err := s.AddTar(context.Background(), tarOf(t, kuboDir), func(a Added) { got[a.Path] = a.CID })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"dir/hello.txt":    "bafkreiakuigxgf7663qzhdm3tmixphhwzms4hxl62xcgxrhxepknuwjyuq",
		"dir/sub/data.bin": "bafybeicqqpsudfblbjer72m5vzragvjxnpa7tv65nbz72epjrcxqm3jcs4",
		"dir/sub/empty":    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
		"dir/sub":          "bafybeifhwhn2recgwj7xulatgr5m73elwagsrsak23c2rkk7tcu7rualiy",
		"dir":              "bafybeieet242i2k5uywefcjzs636pccsespqvqhlwjudcnqulayr7plqji",
	}
	for p, c := range want {
		if got[p] != c {
			t.Errorf("%s: CID %s, Kubo says %s", p, got[p], c)
		}
	}
	if e.CID != want["dir"] || !e.Dir || e.Name != "dir" {
		t.Fatalf("entry %+v", e)
	}
}

func TestAddTarRejectsBadArchives(t *testing.T) {
	s := newTestService(t)
	for name, entries := range map[string][]tarEntry{
		"parent escape":  {{name: "d/"}, {name: "d/../x", data: []byte("x")}},
		"absolute":       {{name: "/d/"}},
		"file first":     {{name: "x", data: []byte("x")}},
		"orphan":         {{name: "d/"}, {name: "e/x", data: []byte("x")}},
		"duplicate dir":  {{name: "d/"}, {name: "d/s/"}, {name: "d/s/"}},
		"dot element":    {{name: "d/"}, {name: "d/./x"}},
		"two top levels": {{name: "d/"}, {name: "e/"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.AddTar(context.Background(), tarOf(t, entries), nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := s.AddTar(context.Background(), bytes.NewReader([]byte("not a tar at all, but long enough to be read as one header")), nil); err == nil {
		t.Fatal("garbage accepted")
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Fatalf("listed after failed adds: %v %v", list, err)
	}
}

func TestCatRoundTrip(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	data := pattern(3<<20 + 17)
	e, err := s.AddFile(ctx, "big.bin", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := cid.MustParse(e.CID)
	var out bytes.Buffer
	if _, err := s.Cat(ctx, c, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("cat differs from what was added")
	}
	d, err := s.AddTar(ctx, tarOf(t, append(kuboDir, tarEntry{name: "dir/link", link: "hello.txt"})), nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := s.Cat(ctx, cid.MustParse(d.CID), &out); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&out)
	seen := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		seen[h.Name] = string(b)
		if h.Typeflag == tar.TypeSymlink {
			seen[h.Name] = "-> " + h.Linkname
		}
	}
	if seen["dir/hello.txt"] != "hello face2face\n" || seen["dir/link"] != "-> hello.txt" || len(seen["dir/sub/data.bin"]) != 300<<10 {
		t.Fatalf("tar entries %v", keys(seen))
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	if _, err := s.Cat(ctx, cid.MustParse("bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"), io.Discard); err == nil {
		t.Fatal("cat of a file never added succeeded")
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

type fakePolicy struct {
	restricted map[cid.Cid]bool
	allowed    map[peer.ID]bool
}

func (f fakePolicy) FileRestricted(c cid.Cid) bool         { return f.restricted[c] }
func (f fakePolicy) FileAllowed(c cid.Cid, p peer.ID) bool { return f.allowed[p] }

func TestAllowBlock(t *testing.T) {
	pol := fakePolicy{restricted: map[cid.Cid]bool{}, allowed: map[peer.ID]bool{"member": true}}
	s := newTestService(t, WithPolicy(pol))
	ctx := context.Background()
	secret, err := s.AddFile(ctx, "secret", bytes.NewReader(pattern(600<<10)))
	if err != nil {
		t.Fatal(err)
	}
	root := cid.MustParse(secret.CID)
	pol.restricted[root] = true
	nd, err := s.local.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	leaf := nd.Links()[0].Cid
	for _, c := range []cid.Cid{root, leaf} {
		if s.AllowBlock("stranger", c) {
			t.Fatalf("stranger may fetch %s of a restricted file", c)
		}
		if !s.AllowBlock("member", c) {
			t.Fatalf("member may not fetch %s", c)
		}
	}
	// The same leaf in a public file is served to anyone.
	pub, err := s.AddFile(ctx, "public", bytes.NewReader(pattern(600<<10+1)))
	if err != nil {
		t.Fatal(err)
	}
	if !s.AllowBlock("stranger", leaf) {
		t.Fatal("a block of a public file is refused")
	}
	if !s.AllowBlock("stranger", cid.MustParse(pub.CID)) {
		t.Fatal("public root refused")
	}
	// Blocks of no file are served, as IPFS does.
	if !s.AllowBlock("stranger", cid.MustParse("bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe")) {
		t.Fatal("unindexed block refused")
	}
}

func TestParseCID(t *testing.T) {
	for _, bad := range []string{"", "hello", "bafy", "QmNotACid", "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"} {
		if _, err := ParseCID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseCID("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"); err != nil {
		t.Fatal(err)
	}
}
