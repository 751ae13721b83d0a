package files

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ErrBadArchive: a directory's tar stream is not one the importer takes.
var ErrBadArchive = errors.New("bad directory archive")

// recorder is the importer's DAG service: it buffers blocks into batched
// (and so durably synced) blockstore writes and remembers every CID it
// wrote, so the new file's blocks can be indexed without reading them
// back.
type recorder struct {
	ipld.DAGService // *ipld.BufferedDAG
	buf             *ipld.BufferedDAG
	mu              sync.Mutex
	cids            []cid.Cid
}

func (s *Service) newRecorder(ctx context.Context) *recorder {
	b := ipld.NewBufferedDAG(ctx, s.local, ipld.MaxSizeBatchOption(8<<20), ipld.MaxNodesBatchOption(256))
	return &recorder{DAGService: b, buf: b}
}

func (r *recorder) Add(ctx context.Context, n ipld.Node) error {
	r.mu.Lock()
	r.cids = append(r.cids, n.Cid())
	r.mu.Unlock()
	return r.DAGService.Add(ctx, n)
}

func (r *recorder) AddMany(ctx context.Context, ns []ipld.Node) error {
	r.mu.Lock()
	for _, n := range ns {
		r.cids = append(r.cids, n.Cid())
	}
	r.mu.Unlock()
	return r.DAGService.AddMany(ctx, ns)
}

// importFile imports r's bytes as a UnixFS file and returns its root and
// content size.
func importFile(dag ipld.DAGService, r io.Reader) (ipld.Node, uint64, error) {
	params := helpers.DagBuilderParams{Dagserv: dag, RawLeaves: true, Maxlinks: LinksPerNode, CidBuilder: cidBuilder}
	db, err := params.New(chunker.NewSizeSplitter(r, ChunkSize))
	if err != nil {
		return nil, 0, err
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		return nil, 0, err
	}
	size, err := contentSize(nd)
	return nd, size, err
}

// contentSize is a UnixFS node's content size: a raw leaf's length, a
// file's filesize, or for other nodes the total size of their DAG.
func contentSize(nd ipld.Node) (uint64, error) {
	switch n := nd.(type) {
	case *merkledag.RawNode:
		return uint64(len(n.RawData())), nil
	case *merkledag.ProtoNode:
		fs, err := ft.FSNodeFromBytes(n.Data())
		if err != nil {
			return 0, err
		}
		if fs.Type() == ft.TFile || fs.Type() == ft.TRaw {
			return fs.FileSize(), nil
		}
		return n.Size()
	}
	return nd.Size()
}

// Added is one entry an add wrote: the file or directory at Path (relative
// to what was added; "" for a single file) with its CID.
type Added struct {
	Path string `json:"path"`
	CID  string `json:"cid"`
	Size uint64 `json:"size"`
	Dir  bool   `json:"dir"`
}

// finish commits the buffered blocks, indexes them under root, lists the
// file and returns its entry.
func (s *Service) finish(ctx context.Context, rec *recorder, root ipld.Node, name string, size uint64, dir bool) (Entry, error) {
	if err := rec.buf.Commit(); err != nil {
		return Entry{}, fmt.Errorf("files: store blocks: %w", err)
	}
	if err := s.indexBlocks(ctx, root.Cid(), append(rec.cids, root.Cid())); err != nil {
		return Entry{}, err
	}
	e := Entry{CID: root.Cid().String(), Name: name, Size: size, Dir: dir, Origin: OriginAdded, Time: time.Now().UTC()}
	if err := s.record(ctx, e); err != nil {
		return Entry{}, err
	}
	return s.entry(ctx, root.Cid())
}

// AddFile imports r as one UnixFS file named name. Memory stays bounded
// whatever the size: blocks are written in batches of at most 8 MiB. The
// file is listed once every block is stored; it is not announced (see
// Provide).
func (s *Service) AddFile(ctx context.Context, name string, r io.Reader) (Entry, error) {
	rec := s.newRecorder(ctx)
	nd, size, err := importFile(rec, r)
	if err != nil {
		return Entry{}, fmt.Errorf("files: add %s: %w", name, err)
	}
	return s.finish(ctx, rec, nd, name, size, false)
}

// AddTar imports a directory from a tar stream whose first entry is the
// directory itself (NAME/) and whose other entries lie under it: regular
// files, directories and symbolic links (kept as UnixFS symlinks, as
// `ipfs add -r` does). each, when not nil, is called for every file and
// directory once it is imported (directories last, deepest first).
func (s *Service) AddTar(ctx context.Context, r io.Reader, each func(Added)) (Entry, error) {
	rec := s.newRecorder(ctx)
	tr := tar.NewReader(r)
	type dirState struct {
		dir  uio.Directory
		path string
	}
	dirs := map[string]*dirState{}
	var rootName string
	newDir := func(p string) (*dirState, error) {
		d, err := uio.NewDirectory(rec, uio.WithCidBuilder(cidBuilder))
		if err != nil {
			return nil, err
		}
		st := &dirState{dir: d, path: p}
		dirs[p] = st
		return st, nil
	}
	report := func(a Added) {
		if each != nil {
			each(a)
		}
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Entry{}, fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		p, err := cleanTarPath(hdr.Name)
		if err != nil {
			return Entry{}, err
		}
		if rootName == "" {
			if hdr.Typeflag != tar.TypeDir || strings.Contains(p, "/") {
				return Entry{}, fmt.Errorf("%w: first entry %q is not the top directory", ErrBadArchive, hdr.Name)
			}
			rootName = p
			if _, err := newDir(p); err != nil {
				return Entry{}, err
			}
			continue
		}
		parent, base := path.Split(p)
		parent = strings.TrimSuffix(parent, "/")
		if dirs[parent] == nil {
			return Entry{}, fmt.Errorf("%w: %q comes before its directory", ErrBadArchive, hdr.Name)
		}
		if _, dup := dirs[p]; dup {
			return Entry{}, fmt.Errorf("%w: %q twice", ErrBadArchive, hdr.Name)
		}
		var nd ipld.Node
		switch hdr.Typeflag {
		case tar.TypeDir:
			if _, err := newDir(p); err != nil {
				return Entry{}, err
			}
			continue
		case tar.TypeReg:
			var size uint64
			nd, size, err = importFile(rec, tr)
			if err != nil {
				return Entry{}, fmt.Errorf("files: add %s: %w", p, err)
			}
			report(Added{Path: p, CID: nd.Cid().String(), Size: size})
		case tar.TypeSymlink:
			data, err := ft.SymlinkData(hdr.Linkname)
			if err != nil {
				return Entry{}, err
			}
			pn := merkledag.NodeWithData(data)
			if err := pn.SetCidBuilder(cidBuilder); err != nil {
				return Entry{}, err
			}
			if err := rec.Add(ctx, pn); err != nil {
				return Entry{}, err
			}
			nd = pn
		default:
			return Entry{}, fmt.Errorf("%w: %q is neither a file, a directory nor a symlink", ErrBadArchive, hdr.Name)
		}
		if err := dirs[parent].dir.AddChild(ctx, base, nd); err != nil {
			return Entry{}, fmt.Errorf("files: add %s: %w", p, err)
		}
	}
	if rootName == "" {
		return Entry{}, fmt.Errorf("%w: empty archive", ErrBadArchive)
	}
	// Close directories deepest first, adding each to its parent.
	paths := make([]string, 0, len(dirs))
	for p := range dirs {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		di, dj := strings.Count(paths[i], "/"), strings.Count(paths[j], "/")
		if di != dj {
			return di > dj
		}
		return paths[i] < paths[j]
	})
	var root ipld.Node
	for _, p := range paths {
		nd, err := dirs[p].dir.GetNode()
		if err != nil {
			return Entry{}, err
		}
		if err := rec.Add(ctx, nd); err != nil {
			return Entry{}, err
		}
		size, _ := nd.Size()
		report(Added{Path: p, CID: nd.Cid().String(), Size: size, Dir: true})
		if p == rootName {
			root = nd
			continue
		}
		parent, base := path.Split(p)
		if err := dirs[strings.TrimSuffix(parent, "/")].dir.AddChild(ctx, base, nd); err != nil {
			return Entry{}, err
		}
	}
	size, err := root.Size()
	if err != nil {
		return Entry{}, err
	}
	return s.finish(ctx, rec, root, rootName, size, true)
}

// cleanTarPath checks an entry's name: relative, no "..", no empty or "."
// elements after cleaning; it returns the name without a trailing slash.
func cleanTarPath(name string) (string, error) {
	p := strings.TrimSuffix(name, "/")
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return "", fmt.Errorf("%w: entry name %q", ErrBadArchive, name)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." || el == "" {
			return "", fmt.Errorf("%w: entry name %q", ErrBadArchive, name)
		}
	}
	return p, nil
}
