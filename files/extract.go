package files

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Limits of an extracted directory tree (and of the directory nodes a get
// accepts).
const (
	// MaxNameLen is the longest entry name, in bytes.
	MaxNameLen = 255
	// MaxSymlinkTarget is the longest symbolic link target, in bytes.
	MaxSymlinkTarget = 4096
	// MaxTreeDepth is the deepest nesting of directories extracted.
	MaxTreeDepth = 64
	// MaxTreeEntries is the most entries one extracted tree may hold.
	MaxTreeEntries = 1 << 20
)

// ErrUnsafeEntry: a directory to extract holds an entry that would land
// outside the output, or is ambiguous (a duplicate name, "..", an absolute
// name, a symbolic link that leaves the tree).
var ErrUnsafeEntry = errors.New("unsafe entry")

// ValidName reports why name cannot be a directory entry: empty, longer
// than MaxNameLen, ".", "..", or holding "/" or NUL.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("name of %d bytes (at most %d)", len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("name %q", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q holds / or NUL", name)
	}
	return nil
}

// ExtractTar writes a directory's tar stream (as Cat writes it: the top
// entry is the directory) to the new directory out, which must not exist.
// Everything is created through an os.Root on out, so nothing is created
// or followed outside it; entries with an absolute name, "..", an unsafe
// name component, a name already extracted, a symbolic link whose target
// is absolute or leaves the tree, or another type than directory, file and
// symbolic link, are refused with an error wrapping ErrUnsafeEntry. More
// than maxBytes bytes of file content (0: no limit), MaxTreeEntries
// entries or MaxTreeDepth levels fail too. What was written before an
// error stays (under out only).
func ExtractTar(r io.Reader, out string, maxBytes uint64) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists: choose another -o", out)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	seen := map[string]bool{".": true}
	var top string
	var written uint64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		if n >= MaxTreeEntries {
			return fmt.Errorf("extract: more than %d entries", MaxTreeEntries)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if n == 0 {
			if h.Typeflag != tar.TypeDir {
				return fmt.Errorf("extract: %w: the first entry %q is not the directory", ErrUnsafeEntry, h.Name)
			}
			top = name
			continue
		}
		rest, ok := strings.CutPrefix(name, top+"/")
		if !ok {
			return fmt.Errorf("extract: %w: %q is outside %q", ErrUnsafeEntry, h.Name, top)
		}
		parts := strings.Split(rest, "/")
		if len(parts) > MaxTreeDepth {
			return fmt.Errorf("extract: %w: %q is nested deeper than %d", ErrUnsafeEntry, h.Name, MaxTreeDepth)
		}
		for _, p := range parts {
			if err := ValidName(p); err != nil {
				return fmt.Errorf("extract: %w: %q: %v", ErrUnsafeEntry, h.Name, err)
			}
		}
		if seen[rest] {
			return fmt.Errorf("extract: %w: %q appears twice", ErrUnsafeEntry, h.Name)
		}
		if !seen[path.Dir(rest)] {
			return fmt.Errorf("extract: %w: %q comes before its directory", ErrUnsafeEntry, h.Name)
		}
		seen[rest] = true
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.Mkdir(rest, 0o755)
		case tar.TypeSymlink:
			t := h.Linkname
			if t == "" || len(t) > MaxSymlinkTarget || path.IsAbs(t) || strings.ContainsRune(t, 0) ||
				strings.HasPrefix(path.Join(path.Dir(rest), t)+"/", "../") || path.Join(path.Dir(rest), t) == ".." {
				return fmt.Errorf("extract: %w: symbolic link %q -> %q leaves the directory", ErrUnsafeEntry, h.Name, t)
			}
			err = root.Symlink(t, rest)
		case tar.TypeReg:
			var f *os.File
			f, err = root.OpenFile(rest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				break
			}
			var src io.Reader = tr
			if maxBytes > 0 {
				src = io.LimitReader(tr, int64(min(maxBytes-written+1, 1<<62)))
			}
			var c int64
			c, err = io.Copy(f, src)
			written += uint64(c)
			err = errors.Join(err, f.Close())
			if err == nil && maxBytes > 0 && written > maxBytes {
				err = fmt.Errorf("more than the %d bytes the directory declares", maxBytes)
			}
		default:
			return fmt.Errorf("extract: %w: %q is of type %q", ErrUnsafeEntry, h.Name, h.Typeflag)
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
}
