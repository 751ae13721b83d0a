package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Progress reports a get: bytes and blocks of the DAG in hand (already
// local or fetched) against the total the root's links announce.
type Progress struct {
	Bytes  uint64 `json:"bytes"`
	Total  uint64 `json:"total"`
	Blocks int    `json:"blocks"`
}

// fetchResult is one block (or the end of one fetch job) for the walk.
type fetchResult struct {
	blk   blocks.Block
	depth int
	end   bool
}

// GetOptions tune one Get.
type GetOptions struct {
	// Name lists the file under this name (default: the CID).
	Name string
	// FindTimeout overrides Params.FindTimeout when positive.
	FindTimeout time.Duration
	// Progress, when not nil, is called as blocks arrive, from the
	// caller's goroutine.
	Progress func(Progress)
	// Fetched, when not nil, is called once every block is here, before
	// the file is listed and announced (node uses it to keep a
	// password-room file restricted), with the bytes each peer sent over
	// the fast path (BlocksProtocol; bitswap's are in its ledgers); an
	// error fails the get.
	Fetched func(root cid.Cid, streamed map[peer.ID]uint64) error
}

// Get fetches root's whole DAG into the local blockstore (over the
// exchange, from whichever peers have the blocks) and lists the file under
// opt.Name. Blocks already local are not fetched again, so an interrupted get
// resumes. Every block is verified against its CID by the exchange before
// it is stored.
//
// It fails with ErrNotFound when the root block does not arrive within
// the find timeout, with ErrStalled when no block arrives for
// Params.StallTimeout, and with ErrInvalidCID for a codec other than raw
// and dag-pb. Afterwards the file is announced (unless restricted).
func (s *Service) Get(ctx context.Context, root cid.Cid, opt GetOptions) (Entry, error) {
	if err := checkCodec(root); err != nil {
		return Entry{}, err
	}
	name, progress := opt.Name, opt.Progress
	if name == "" {
		name = root.String()
	}
	find := s.params.FindTimeout
	if opt.FindTimeout > 0 {
		find = opt.FindTimeout
	}
	if err := s.indexBlocks(ctx, root, []cid.Cid{root}); err != nil {
		return Entry{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sess := blockservice.NewSession(ctx, s.bserv)

	before := s.ledgers()
	fctx, fcancel := context.WithTimeout(ctx, find)
	rootBlk, err := sess.GetBlock(fctx, root)
	fcancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded) {
			return Entry{}, fmt.Errorf("%w for %s within %s", ErrNotFound, root, find)
		}
		if ctx.Err() != nil {
			return Entry{}, context.Cause(ctx)
		}
		return Entry{}, fmt.Errorf("files: get %s: %w", root, err)
	}
	w := &walk{s: s, ctx: ctx, root: root, sess: sess, seen: map[cid.Cid]bool{root: true},
		results: make(chan fetchResult, 64), progress: progress, src: s.sourceSince(before)}
	if err := w.run(rootBlk); err != nil {
		cancel(err)
		return Entry{}, err
	}
	nd, err := decodeNode(rootBlk)
	if err != nil {
		return Entry{}, err
	}
	size, err := contentSize(nd)
	if err != nil {
		size = w.prog.Bytes
	}
	if opt.Fetched != nil {
		streamed := map[peer.ID]uint64{}
		if n := w.src.bytes(); n > 0 {
			streamed[w.src.peer] = n
		}
		if err := opt.Fetched(root, streamed); err != nil {
			return Entry{}, err
		}
	}
	e := Entry{CID: root.String(), Name: name, Size: size, Dir: isDir(nd), Origin: OriginFetched, Time: time.Now().UTC()}
	if err := s.record(ctx, e); err != nil {
		return Entry{}, err
	}
	s.Provide(root)
	return s.entry(ctx, root)
}

// walk fetches a DAG breadth-first: each node's children are indexed,
// then requested as one job; up to Params.Fetchers jobs run at once. A
// job's blocks come over the fast path from src when there is one (see
// BlocksProtocol), the rest over the bitswap session.
type walk struct {
	src      *streamSource
	s        *Service
	ctx      context.Context
	root     cid.Cid
	sess     *blockservice.Session
	seen     map[cid.Cid]bool
	results  chan fetchResult
	progress func(Progress)
	prog     Progress
	active   int
	queue    []job
}

type job struct {
	cids  []cid.Cid
	depth int
}

func (w *walk) run(rootBlk blocks.Block) (err error) {
	ctx, cancel := context.WithCancel(w.ctx)
	defer func() {
		cancel()
		for w.active > 0 { // let every fetcher end before returning
			if r := <-w.results; r.end {
				w.active--
			}
		}
	}()
	if err := w.block(ctx, rootBlk, 0); err != nil {
		return err
	}
	stall := time.NewTicker(min(w.s.params.StallTimeout/4, time.Second))
	defer stall.Stop()
	last := time.Now()
	for len(w.queue) > 0 || w.active > 0 {
		for w.active < w.s.params.Fetchers && len(w.queue) > 0 {
			j := w.queue[0]
			w.queue = w.queue[1:]
			w.active++
			go w.fetch(ctx, j)
		}
		select {
		case r := <-w.results:
			if r.end {
				w.active--
				continue
			}
			last = time.Now()
			if err := w.block(ctx, r.blk, r.depth); err != nil {
				return err
			}
		case <-stall.C:
			if d := time.Since(last); d >= w.s.params.StallTimeout {
				return fmt.Errorf("%w: no block of %s for %s (%d of %d bytes here; run get again to resume)",
					ErrStalled, w.root, d.Round(time.Second), w.prog.Bytes, w.prog.Total)
			}
		case <-w.ctx.Done():
			return context.Cause(w.ctx)
		}
	}
	return nil
}

// fetch gets one job's blocks, from the fast path's peer first, and hands
// them to the walk.
func (w *walk) fetch(ctx context.Context, j job) {
	defer func() { w.results <- fetchResult{end: true} }() // run drains until every end arrived
	rest := j.cids
	if w.src.usable() {
		// Blocks already here (a get resumed) are read by the session
		// below, not asked for again.
		var want []cid.Cid
		rest = nil
		for _, c := range j.cids {
			if ok, err := w.s.bs.Has(ctx, c); err == nil && ok {
				rest = append(rest, c)
			} else {
				want = append(want, c)
			}
		}
		rest = append(rest, w.src.fetch(ctx, want, func(b blocks.Block) bool {
			select {
			case w.results <- fetchResult{blk: b, depth: j.depth}:
				return true
			case <-ctx.Done():
				return false
			}
		})...)
	}
	if len(rest) == 0 || ctx.Err() != nil {
		return
	}
	for b := range w.sess.GetBlocks(ctx, rest) {
		select {
		case w.results <- fetchResult{blk: b, depth: j.depth}:
		case <-ctx.Done():
			return
		}
	}
}

// block counts one block in and queues its children.
func (w *walk) block(ctx context.Context, b blocks.Block, depth int) error {
	w.prog.Blocks++
	w.prog.Bytes += uint64(len(b.RawData()))
	nd, err := decodeNode(b)
	if err != nil {
		return err
	}
	links := nd.Links()
	if err := checkEntries(nd); err != nil {
		return fmt.Errorf("files: get %s: %w", w.root, err)
	}
	if depth == 0 {
		w.prog.Total = uint64(len(b.RawData()))
		for _, l := range links {
			w.prog.Total += l.Size
		}
	}
	if len(links) > 0 {
		if depth+1 > w.s.params.MaxDepth {
			return fmt.Errorf("files: get %s: DAG deeper than %d", w.root, w.s.params.MaxDepth)
		}
		if len(links) > w.s.params.MaxLinks {
			return fmt.Errorf("files: get %s: node %s has %d links, more than %d", w.root, b.Cid(), len(links), w.s.params.MaxLinks)
		}
		kids := make([]cid.Cid, 0, len(links))
		for _, l := range links {
			if err := checkCodec(l.Cid); err != nil {
				return fmt.Errorf("files: get %s: link %s: %w", w.root, l.Cid, err)
			}
			if !w.seen[l.Cid] {
				w.seen[l.Cid] = true
				kids = append(kids, l.Cid)
			}
		}
		// Index the children before asking for them: a block is never
		// here without the file it belongs to on record.
		if err := w.s.indexBlocks(ctx, w.root, kids); err != nil {
			return err
		}
		if len(kids) > 0 {
			w.queue = append(w.queue, job{cids: kids, depth: depth + 1})
		}
	}
	if w.progress != nil {
		w.progress(w.prog)
	}
	return nil
}

// checkEntries checks what a UnixFS directory or symbolic link node says
// before anything of it is fetched or written: every directory entry has a
// plain name (see ValidName) that no other entry of the node has, and a
// symbolic link's target is at most MaxSymlinkTarget bytes.
func checkEntries(nd ipld.Node) error {
	pn, ok := nd.(*merkledag.ProtoNode)
	if !ok {
		return nil
	}
	fs, err := ft.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil // not UnixFS: read as plain blocks
	}
	switch fs.Type() {
	case ft.TSymlink:
		if len(fs.Data()) > MaxSymlinkTarget {
			return fmt.Errorf("%w: symbolic link target of %d bytes in %s", ErrUnsafeEntry, len(fs.Data()), nd.Cid())
		}
	case ft.TDirectory, ft.THAMTShard:
		seen := make(map[string]bool, len(pn.Links()))
		for _, l := range pn.Links() {
			name := l.Name
			if fs.Type() == ft.THAMTShard {
				// A shard's link names are two hex digits (the bucket),
				// then the entry's name unless it leads to a sub-shard.
				if len(name) < 2 {
					return fmt.Errorf("%w: shard link %q in %s", ErrUnsafeEntry, name, nd.Cid())
				}
				if name = name[2:]; name == "" {
					continue
				}
			}
			if err := ValidName(name); err != nil {
				return fmt.Errorf("%w: directory %s: %v", ErrUnsafeEntry, nd.Cid(), err)
			}
			if seen[name] {
				return fmt.Errorf("%w: directory %s has two entries named %q", ErrUnsafeEntry, nd.Cid(), name)
			}
			seen[name] = true
		}
	}
	return nil
}

// decodeNode decodes a raw or dag-pb block.
func decodeNode(b blocks.Block) (ipld.Node, error) {
	switch b.Cid().Type() {
	case cid.Raw:
		return merkledag.DecodeRawBlock(b)
	case cid.DagProtobuf:
		nd, err := merkledag.DecodeProtobufBlock(b)
		if err != nil {
			return nil, fmt.Errorf("files: block %s: %w", b.Cid(), err)
		}
		return nd, nil
	}
	return nil, checkCodec(b.Cid())
}

// isDir reports whether nd is a UnixFS directory (plain or sharded).
func isDir(nd ipld.Node) bool {
	pn, ok := nd.(*merkledag.ProtoNode)
	if !ok {
		return false
	}
	fs, err := ft.FSNodeFromBytes(pn.Data())
	return err == nil && (fs.Type() == ft.TDirectory || fs.Type() == ft.THAMTShard)
}
