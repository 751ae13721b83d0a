package files

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// ErrNoSuchPath: a path segment names no entry of its directory.
var ErrNoSuchPath = errors.New("no such file or directory")

// DirEntry is one entry of an opened directory.
type DirEntry struct {
	Name string  `json:"name"`
	CID  cid.Cid `json:"cid"`
	// Size is the entry's DAG size (the link's cumulative size).
	Size uint64 `json:"size"`
}

// Opened is a UnixFS file or directory opened for reading: File for a
// file (close it; its Size is the file's), Entries for a directory.
type Opened struct {
	CID     cid.Cid
	Dir     bool
	File    uio.DagReader
	Entries []DirEntry
}

// Open resolves root and then path (directory entry names) and opens what
// they name. Blocks that are not local are fetched over the exchange as
// they are read (ctx bounds the wait), as an IPFS gateway does.
func (s *Service) Open(ctx context.Context, root cid.Cid, path []string) (*Opened, error) {
	if err := checkCodec(root); err != nil {
		return nil, err
	}
	dag := merkledag.NewDAGService(s.bserv)
	nd, err := dag.Get(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("files: open %s: %w", root, err)
	}
	for i, name := range path {
		dir, err := uio.NewDirectoryFromNode(dag, nd)
		if err != nil {
			return nil, fmt.Errorf("files: open %s: %s is not a directory", root, joinPath(path[:i]))
		}
		child, err := dir.Find(ctx, name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || ipld.IsNotFound(err) {
				return nil, fmt.Errorf("%w: %s/%s", ErrNoSuchPath, root, joinPath(path[:i+1]))
			}
			return nil, fmt.Errorf("files: open %s/%s: %w", root, joinPath(path[:i+1]), err)
		}
		nd = child
	}
	if isDir(nd) {
		dir, err := uio.NewDirectoryFromNode(dag, nd)
		if err != nil {
			return nil, err
		}
		// Any peer can serve any directory under a CID: read at most
		// MaxLinks entries, and list only plain, unique names.
		o := &Opened{CID: nd.Cid(), Dir: true}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen := map[string]bool{}
		for lr := range dir.EnumLinksAsync(lctx) {
			if lr.Err != nil {
				return nil, fmt.Errorf("files: list %s: %w", nd.Cid(), lr.Err)
			}
			l := lr.Link
			if len(seen) >= s.params.MaxLinks {
				return nil, fmt.Errorf("files: list %s: more than %d entries", nd.Cid(), s.params.MaxLinks)
			}
			if ValidName(l.Name) != nil || seen[l.Name] {
				continue
			}
			seen[l.Name] = true
			o.Entries = append(o.Entries, DirEntry{Name: l.Name, CID: l.Cid, Size: l.Size})
		}
		sort.Slice(o.Entries, func(i, j int) bool { return o.Entries[i].Name < o.Entries[j].Name })
		return o, nil
	}
	if pn, ok := nd.(*merkledag.ProtoNode); ok {
		if fs, err := ft.FSNodeFromBytes(pn.Data()); err == nil && fs.Type() == ft.TSymlink {
			return nil, fmt.Errorf("files: open %s: a symbolic link (to %q)", nd.Cid(), fs.Data())
		}
	}
	r, err := uio.NewDagReader(ctx, nd, dag)
	if err != nil {
		return nil, fmt.Errorf("files: open %s: %w", nd.Cid(), err)
	}
	return &Opened{CID: nd.Cid(), File: r}, nil
}

func joinPath(p []string) string { return strings.Join(p, "/") }
