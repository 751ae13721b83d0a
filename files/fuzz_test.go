package files

// Fuzz targets for what another peer can make a get decode (UnixFS
// directory and symbolic link nodes) and for extracting a directory.

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
)

func FuzzCheckEntries(f *testing.F) {
	dir := ft.EmptyDirNode()
	leaf := merkledag.NewRawNode([]byte("x"))
	_ = dir.AddNodeLink("a", leaf)
	_ = dir.AddNodeLink("a", leaf)
	b, err := dir.EncodeProtobuf(false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	sym, _ := ft.SymlinkData("../outside")
	f.Add(merkledag.NodeWithData(sym).RawData())
	f.Fuzz(func(t *testing.T, b []byte) {
		nd, err := merkledag.DecodeProtobuf(b)
		if err != nil {
			return
		}
		if checkEntries(nd) != nil {
			return
		}
		fs, err := ft.FSNodeFromBytes(nd.Data())
		if err != nil || fs.Type() != ft.TDirectory {
			return
		}
		seen := map[string]bool{}
		for _, l := range nd.Links() {
			if ValidName(l.Name) != nil || seen[l.Name] {
				t.Fatalf("accepted entry %q", l.Name)
			}
			seen[l.Name] = true
		}
	})
}

func FuzzExtractTar(f *testing.F) {
	add := func(entries ...tar.Header) {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range entries {
			_ = tw.WriteHeader(&h)
			if h.Typeflag == tar.TypeReg {
				_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		_ = tw.Close()
		f.Add(b.Bytes())
	}
	add(tar.Header{Name: "d/", Typeflag: tar.TypeDir}, tar.Header{Name: "d/a", Typeflag: tar.TypeReg, Size: 3},
		tar.Header{Name: "d/s", Typeflag: tar.TypeSymlink, Linkname: "a"})
	add(tar.Header{Name: "d/", Typeflag: tar.TypeDir}, tar.Header{Name: "d/link", Typeflag: tar.TypeSymlink, Linkname: "../outside"},
		tar.Header{Name: "d/link/", Typeflag: tar.TypeDir}, tar.Header{Name: "d/link/evil", Typeflag: tar.TypeReg, Size: 4})
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		base, err := os.MkdirTemp(root, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(base)
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = ExtractTar(bytes.NewReader(b), filepath.Join(base, "out"), 1<<20)
		left, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range left {
			if e.Name() != "out" && e.Name() != "outside" {
				t.Fatalf("extraction wrote %s next to the output", e.Name())
			}
		}
		if in, _ := os.ReadDir(outside); len(in) > 0 {
			t.Fatalf("extraction wrote %s outside the output", in[0].Name())
		}
	})
}
