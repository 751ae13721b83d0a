package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/overlay"
)

// mimeType names a file's media type from its name, else from its first
// bytes.
func mimeType(name string, head []byte) string {
	if t := mimeByName(name); t != "" {
		return t
	}
	return http.DetectContentType(head)
}

// mimeByName is the media type of a file name's extension, or "".
func mimeByName(name string) string {
	return mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
}

// AddFile adds r's bytes as a file named name and, with room set, shares
// its link there; then it announces the file unless the rooms restrict it.
func (n *Node) AddFile(ctx context.Context, name, room string, r io.Reader) (AddResult, error) {
	if err := overlay.ValidFileName(name); err != nil {
		return AddResult{}, fmt.Errorf("bad file name: %w", err)
	}
	if err := n.checkRoom(ctx, room); err != nil {
		return AddResult{}, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	res := AddResult{MIME: mimeType(name, head)}
	var err error
	if res.Entry, err = n.files.AddFile(ctx, name, br); err != nil {
		return AddResult{}, fmt.Errorf("add: %w", err)
	}
	return n.shareAdded(ctx, room, res)
}

// AddDir adds a directory from a tar stream (files.Service.AddTar) and,
// with room set, shares its link there.
func (n *Node) AddDir(ctx context.Context, room string, tarStream io.Reader) (AddResult, error) {
	if err := n.checkRoom(ctx, room); err != nil {
		return AddResult{}, err
	}
	res := AddResult{MIME: DirMIME}
	var err error
	if res.Entry, err = n.files.AddTar(ctx, tarStream, func(a files.Added) { res.Added = append(res.Added, a) }); err != nil {
		return AddResult{}, fmt.Errorf("add: %w", err)
	}
	return n.shareAdded(ctx, room, res)
}

// checkRoom fails early, before a long import, when room is set but not
// joined.
func (n *Node) checkRoom(ctx context.Context, room string) error {
	if room == "" {
		return nil
	}
	return n.rooms.CheckJoined(ctx, room)
}

func (n *Node) shareAdded(ctx context.Context, room string, res AddResult) (AddResult, error) {
	root, err := cid.Decode(res.Entry.CID)
	if err != nil {
		return AddResult{}, err
	}
	if room != "" {
		msg, err := n.rooms.ShareFile(ctx, room, overlay.FileLink{CID: root, Name: res.Entry.Name, Size: res.Entry.Size, MIME: res.MIME})
		if err != nil {
			return AddResult{}, fmt.Errorf("added %s but could not share it: %w", root, err)
		}
		res.Message = &msg
	}
	// Announced after sharing, once the rooms decided whether it may be.
	n.files.Provide(root)
	return res, nil
}

// GetFile fetches a file (files.Service.Get) and reports the peers blocks
// came from during the get: over bitswap, from its ledgers (a get running
// at the same time from the same peers is counted in both), and over the
// fast path.
func (n *Node) GetFile(ctx context.Context, root cid.Cid, opt files.GetOptions) (files.Entry, []Source, error) {
	before := n.ledgers()
	var out []Source
	opt.Fetched = func(root cid.Cid, streamed map[peer.ID]uint64) error {
		var from []peer.ID
		got := map[peer.ID]uint64{}
		for p, recv := range n.ledgers() {
			if recv > before[p] {
				got[p] = recv - before[p]
			}
		}
		for p, b := range streamed {
			got[p] += b
		}
		for p, b := range got {
			out = append(out, Source{Peer: p.String(), Bytes: b})
			from = append(from, p)
		}
		// A file only password-room members sent stays theirs.
		return n.rooms.NoteFetched(ctx, root, from)
	}
	e, err := n.files.Get(ctx, root, opt)
	if err != nil {
		return files.Entry{}, nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Peer < out[j].Peer
	})
	return e, out, nil
}

// ledgers snapshots the bytes received from each connected peer.
func (n *Node) ledgers() map[peer.ID]uint64 {
	out := map[peer.ID]uint64{}
	for _, p := range n.host.Network().Peers() {
		out[p] = n.received(p)
	}
	return out
}

// received is the bytes of blocks bitswap has received from p.
func (n *Node) received(p peer.ID) uint64 {
	if l := n.bswap.LedgerForPeer(p); l != nil {
		return l.Recv
	}
	return 0
}
