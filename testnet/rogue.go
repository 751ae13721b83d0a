package testnet

import (
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
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
