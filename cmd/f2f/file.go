package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/internal/textfmt"
)

func newFileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "file",
		Short: "Add, share, fetch and list content-addressed files (UnixFS over bitswap)",
	}
	cmd.AddCommand(newFileAddCmd(g), newFileGetCmd(g), newFileLsCmd(g))
	return cmd
}

// addOpts are file add's flags.
type addOpts struct {
	room      string
	recursive bool
	hidden    bool
}

func newFileAddCmd(g *globals) *cobra.Command {
	var o addOpts
	cmd := &cobra.Command{
		Use:   "add PATH",
		Short: "Add a file (-r: a directory) like `ipfs add --cid-version=1`; --room shares its link; prints the CID last",
		Long: `Add a file to this node's blockstore as UnixFS (CIDv1, raw leaves, 256 KiB chunks, balanced DAG:
the CID equals what Kubo's ipfs add --cid-version=1 PATH prints). -r adds a directory (hidden files are
skipped unless --hidden; symbolic links are kept as links). With --room the file's link (CID, name, size,
MIME type) is posted in the room's chat. The node announces what it adds in the DHT, except files shared
only in password rooms. The CID is the last line printed.`,
		Args: exactArgs(1, "a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdd(cmd, g, args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.room, "room", "", "share the file in this room (key or name)")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "r", false, "add a directory")
	cmd.Flags().BoolVarP(&o.hidden, "hidden", "H", false, "with -r, include files whose names start with a dot")
	return cmd
}

func runAdd(cmd *cobra.Command, g *globals, path string, o addOpts) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() && !o.recursive {
		return fmt.Errorf("%s is a directory: add it with -r", path)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file or a directory", path)
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	var res api.AddResult
	if st.IsDir() {
		res, err = addDir(ctx, g, c, path, o)
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return err
		}
		defer f.Close()
		bar := newBar(g, "adding", uint64(st.Size()))
		res, err = c.AddFile(ctx, filepath.Base(path), o.room, &countingReader{r: f, bar: bar})
		bar.done()
	}
	if err != nil {
		return err
	}
	if g.json {
		return g.printJSON(res)
	}
	for _, a := range res.Added {
		fmt.Fprintf(g.out, "added %s %s\n", a.CID, a.Path)
	}
	if res.Message != nil {
		fmt.Fprintf(g.out, "shared %s (%s) in the room\n", res.Entry.Name, textfmt.HumanSize(res.Entry.Size))
	}
	fmt.Fprintln(g.out, res.Entry.CID)
	return nil
}

// addDir streams the directory at root as tar to the daemon.
func addDir(ctx context.Context, g *globals, c *api.Client, root string, o addOpts) (api.AddResult, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return api.AddResult{}, err
	}
	top := filepath.Base(abs)
	var total uint64
	skip := func(d fs.DirEntry, p string) bool {
		return p != abs && !o.hidden && strings.HasPrefix(d.Name(), ".")
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip(d, p) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += uint64(info.Size())
			}
		}
		return nil
	})
	if err != nil {
		return api.AddResult{}, err
	}
	bar := newBar(g, "adding", total)
	defer bar.done()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if skip(d, p) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(abs, p)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(filepath.Join(top, rel))
			switch {
			case d.IsDir():
				return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755})
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target})
			case d.Type().IsRegular():
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				info, err := f.Stat()
				if err != nil {
					return err
				}
				if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: info.Size()}); err != nil {
					return err
				}
				_, err = io.Copy(tw, &countingReader{r: io.LimitReader(f, info.Size()), bar: bar})
				return err
			}
			return fmt.Errorf("%s: not a file, directory or symbolic link", p)
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res, err := c.AddDir(ctx, o.room, pr)
	pr.CloseWithError(errors.New("add ended")) // unblocks the writer if the daemon answered early
	return res, err
}

func newFileGetCmd(g *globals) *cobra.Command {
	var (
		out     string
		timeout time.Duration
		force   bool
	)
	cmd := &cobra.Command{
		Use:   "get CID",
		Short: "Fetch a file by CID from room members and DHT providers; verifies every block; resumes",
		Long: `Fetch a file (or directory) by its CID over bitswap, from the room members this node is connected to and
from DHT providers (after the first block, the peer that sent it streams the rest over /f2f/blocks/1
when it can), with a progress bar on a terminal. Every block is checked against its CID. An
interrupted get resumes from the blocks already here. The node then serves the file too and announces it.
-o names the output (default: the CID; - writes a file to stdout); an existing file there is only
replaced with --force, an existing directory never.`,
		Args: exactArgs(1, "a CID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := cid.Decode(args[0]) // the daemon checks the rest
			if err != nil {
				return fmt.Errorf("invalid CID %q: %v", args[0], err)
			}
			if out == "" {
				out = root.String()
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if out != "-" {
				if err := checkOutput(out, force); err != nil {
					return err
				}
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			interrupted := func(err error) error {
				if ctx.Err() != nil && cmd.Context().Err() == nil {
					return errors.New("interrupted; run the same command to resume (the blocks fetched so far are kept)")
				}
				return err
			}
			name := ""
			if out != "-" {
				name = filepath.Base(out)
			}
			bar := newBar(g, "fetching", 0)
			ev, err := c.GetFile(ctx, root.String(), name, timeout, func(p api.Progress) { bar.set(p.Bytes, p.Total) })
			bar.done()
			if err != nil {
				return interrupted(err)
			}
			if err := saveCat(ctx, c, root.String(), out, ev.Entry.Size, g); err != nil {
				return interrupted(err)
			}
			if g.json {
				return g.printJSON(struct {
					api.GetEvent
					Path string `json:"path"`
				}{ev, out})
			}
			if out != "-" {
				from := fmt.Sprintf("from %d peer(s)", len(ev.Sources))
				if len(ev.Sources) == 0 {
					from = "already on this node"
				}
				fmt.Fprintf(g.out, "saved %s (%s), %s\n", out, textfmt.HumanSize(ev.Entry.Size), from)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write it (default: the CID; - for stdout)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file at -o")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "fail when no provider sends the first block within this time")
	return cmd
}

// saveCat writes the local file root to out: a file atomically (a
// temporary file renamed into place), a directory extracted from tar (at
// most size bytes of content, what its root declares).
func saveCat(ctx context.Context, c *api.Client, root, out string, size uint64, g *globals) error {
	body, dir, err := c.Cat(ctx, root)
	if err != nil {
		return err
	}
	defer body.Close()
	if out == "-" {
		if dir {
			return errors.New("a directory cannot go to stdout: use -o DIR")
		}
		_, err := io.Copy(g.out, body)
		return err
	}
	if dir {
		return files.ExtractTar(body, out, size)
	}
	// Errors name out, never the temporary file beside it.
	fail := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
	if err != nil {
		return fail(err)
	}
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return fail(err)
	}
	return nil
}

// checkOutput fails, before anything is fetched, when out cannot be
// written: its directory is missing, or something is there already (a
// file is replaced only with force).
func checkOutput(out string, force bool) error {
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("cannot write %s: directory %s does not exist", out, dir)
	}
	st, err := os.Lstat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", out, err)
	case st.IsDir():
		return fmt.Errorf("%s exists and is a directory: choose another -o", out)
	case !force:
		return fmt.Errorf("%s exists: add --force to overwrite it", out)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file: choose another -o", out)
	}
	return nil
}

func newFileLsCmd(g *globals) *cobra.Command {
	var room string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List this node's files, or with --room the files shared in a room",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if room != "" {
				return listRoomFiles(ctx, g, c, room)
			}
			list, err := c.Files(ctx)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(list)
			}
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CID\tNAME\tSIZE\tORIGIN\tTIME")
			for _, e := range list {
				name := e.Name
				if e.Dir {
					name += "/"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.CID, name, textfmt.HumanSize(e.Size), e.Origin, e.Time.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&room, "room", "", "list the files shared in this room (key or name)")
	return cmd
}

func listRoomFiles(ctx context.Context, g *globals, c *api.Client, room string) error {
	list, err := c.RoomFiles(ctx, room)
	if err != nil {
		return err
	}
	if g.json {
		return g.printJSON(list)
	}
	tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tSHARER\tTIME\tCID\tLOCAL")
	for _, f := range list {
		local := "no"
		if f.Local {
			local = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", textfmt.DisplayText(f.Name), textfmt.HumanSize(f.Size), textfmt.DisplayText(f.Nick), f.Time.Local().Format("2006-01-02 15:04"), f.CID, local)
	}
	return tw.Flush()
}
