package files

import (
	"context"
	"fmt"
	"io"

	bfiles "github.com/ipfs/boxo/files"
	unixfile "github.com/ipfs/boxo/ipld/unixfs/file"
	"github.com/ipfs/go-cid"
)

// Cat writes a complete local file's content to w: a file's bytes, or a
// directory as a tar stream whose top entry is named after the directory
// (as `ipfs get` does). It reads local blocks only and fails with
// ErrNotLocal for a file that is not listed.
func (s *Service) Cat(ctx context.Context, root cid.Cid, w io.Writer) (Entry, error) {
	e, err := s.entry(ctx, root)
	if err != nil {
		return Entry{}, err
	}
	nd, err := s.local.Get(ctx, root)
	if err != nil {
		return Entry{}, fmt.Errorf("files: cat %s: %w", root, err)
	}
	f, err := unixfile.NewUnixfsFile(ctx, s.local, nd)
	if err != nil {
		return Entry{}, fmt.Errorf("files: cat %s: %w", root, err)
	}
	defer f.Close()
	switch f := f.(type) {
	case bfiles.File:
		if _, err := io.Copy(w, f); err != nil {
			return Entry{}, fmt.Errorf("files: cat %s: %w", root, err)
		}
		return e, nil
	default:
		tw, err := bfiles.NewTarWriter(w)
		if err != nil {
			return Entry{}, err
		}
		if err := tw.WriteFile(f, e.Name); err != nil {
			return Entry{}, fmt.Errorf("files: cat %s: %w", root, err)
		}
		if err := tw.Close(); err != nil {
			return Entry{}, err
		}
		return e, nil
	}
}
