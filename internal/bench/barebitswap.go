package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/boxo/bitswap"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	chunker "github.com/ipfs/boxo/chunker"
	offline "github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/fluttershy/face2face/testnet"
)

// BareBitswap is the floor of `f2f bench files` next to the raw stream:
// a transfer with boxo alone, no face2face code. Two plain go-libp2p hosts
// on loopback (TCP and QUIC, as the nodes listen), each with an in-memory
// blockstore and boxo's bitswap with its defaults; one imports size random
// bytes as UnixFS the way `f2f file add` does (256 KiB chunks, raw leaves,
// CIDv1, balanced DAG), the other fetches the whole DAG through bitswap
// (merkledag.FetchGraph, as `ipfs pin add` or `ipfs refs -r` would). It
// returns the time from the fetch's start until every block is in the
// fetcher's blockstore.
func BareBitswap(ctx context.Context, size int64) (time.Duration, error) {
	if size < 1 {
		return 0, errors.New("bare bitswap: size must be > 0")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var hosts []host.Host
	defer func() {
		for _, h := range hosts {
			_ = h.Close()
		}
	}()
	type side struct {
		bs  blockstore.Blockstore
		bit *bitswap.Bitswap
	}
	var sides [2]side
	for i := range sides {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"), libp2p.DisableRelay())
		if err != nil {
			return 0, fmt.Errorf("bare bitswap: host: %w", err)
		}
		hosts = append(hosts, h)
		bs := blockstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
		sides[i] = side{bs: bs, bit: bitswap.New(ctx, bsnet.NewFromIpfsHost(h), nil, bs)}
		defer sides[i].bit.Close()
	}
	// Import on side 0.
	dag := merkledag.NewDAGService(blockservice.New(sides[0].bs, offline.Exchange(sides[0].bs)))
	params := helpers.DagBuilderParams{Maxlinks: helpers.DefaultLinksPerBlock, RawLeaves: true,
		CidBuilder: cid.V1Builder{Codec: cid.DagProtobuf, MhType: multihash.SHA2_256}, Dagserv: dag}
	db, err := params.New(chunker.NewSizeSplitter(testnet.RandomReader(size, 11), 256<<10))
	if err != nil {
		return 0, err
	}
	root, err := balanced.Layout(db)
	if err != nil {
		return 0, fmt.Errorf("bare bitswap: import: %w", err)
	}
	if err := hosts[1].Connect(ctx, peer.AddrInfo{ID: hosts[0].ID(), Addrs: hosts[0].Addrs()}); err != nil {
		return 0, fmt.Errorf("bare bitswap: connect: %w", err)
	}
	// Fetch on side 1.
	fetch := merkledag.NewDAGService(blockservice.New(sides[1].bs, sides[1].bit))
	start := time.Now()
	if err := merkledag.FetchGraph(ctx, root.Cid(), fetch); err != nil {
		return 0, fmt.Errorf("bare bitswap: fetch: %w", err)
	}
	took := time.Since(start)
	// Every block arrived: the file's bytes are all there to read.
	n, err := merkledag.NewDAGService(blockservice.New(sides[1].bs, offline.Exchange(sides[1].bs))).Get(ctx, root.Cid())
	if err != nil {
		return 0, fmt.Errorf("bare bitswap: root missing after the fetch: %w", err)
	}
	if fsize, err := n.Size(); err != nil || fsize < uint64(size) {
		return 0, fmt.Errorf("bare bitswap: fetched DAG of %d bytes for %d (%v)", fsize, size, err)
	}
	return took, nil
}
