package testnet

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio"
	mh "github.com/multiformats/go-multihash"

	"github.com/fluttershy/face2face/collab"
	"github.com/fluttershy/face2face/overlay"
)

// EscapeDirEvil is the content of the file CraftEscapeDir hides.
const EscapeDirEvil = "written outside the output directory"

// CraftEscapeDir stores in bs a UnixFS directory built as an attacker
// would, and returns its CID: an entry "link" that is a symbolic link to
// target, then a second entry also named "link", a directory holding the
// file "evil". A naive extraction creates the link and then writes
// target/evil through it.
func CraftEscapeDir(ctx context.Context, bs blockstore.Blockstore, target string) (cid.Cid, error) {
	prefix := cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}
	dagNode := func(data []byte) *merkledag.ProtoNode {
		nd := merkledag.NodeWithData(data)
		_ = nd.SetCidBuilder(prefix)
		return nd
	}
	linkData, err := ft.SymlinkData(target)
	if err != nil {
		return cid.Undef, err
	}
	symlink := dagNode(linkData)
	evil := merkledag.NewRawNode([]byte(EscapeDirEvil))
	inner := dagNode(ft.FolderPBData())
	if err := inner.AddNodeLink("evil", evil); err != nil {
		return cid.Undef, err
	}
	root := dagNode(ft.FolderPBData())
	for _, child := range []ipld.Node{symlink, inner} {
		if err := root.AddNodeLink("link", child); err != nil {
			return cid.Undef, err
		}
	}
	for _, nd := range []ipld.Node{symlink, evil, inner, root} {
		if err := bs.Put(ctx, nd); err != nil {
			return cid.Undef, fmt.Errorf("store crafted block: %w", err)
		}
	}
	return root.Cid(), nil
}

// AskHistory sends one /f2f/history/1 request for everything of room hash
// and returns how many envelopes and bytes the answer held (an answer cut
// off or refused counts what arrived).
func AskHistory(ctx context.Context, h host.Host, to peer.ID, hash string) (int, int) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	st, err := h.NewStream(ctx, to, overlay.HistoryProtocol)
	if err != nil {
		return 0, 0
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(20 * time.Second))
	if err := msgio.NewVarintWriter(st).WriteMsg([]byte(`{"room":"` + hash + `","have":{}}`)); err != nil {
		return 0, 0
	}
	_ = st.CloseWrite()
	rd := msgio.NewVarintReaderSize(st, overlay.MaxEnvelopeSize)
	n, size := 0, 0
	for {
		b, err := rd.ReadMsg()
		if err != nil || len(b) == 0 {
			return n, size
		}
		n++
		size += len(b)
	}
}

// AskDocs opens /f2f/doc/1 to a node as h, names room hash in the hello
// frame, and returns how many frames the node sent within 5 s (a refused
// stream is reset at once: none).
func AskDocs(ctx context.Context, h host.Host, to peer.ID, hash string) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := h.NewStream(ctx, to, collab.ProtocolID)
	if err != nil {
		return 0
	}
	defer st.Reset()
	_ = st.SetDeadline(time.Now().Add(5 * time.Second))
	if err := msgio.NewVarintWriter(st).WriteMsg(append([]byte{0}, hash...)); err != nil {
		return 0
	}
	rd := msgio.NewVarintReaderSize(st, 8<<20)
	n := 0
	for {
		if _, err := rd.ReadMsg(); err != nil {
			return n
		}
		n++
	}
}
