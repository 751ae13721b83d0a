package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/node"
)

// waitLink waits until nd sees a file shared in room and returns its CID.
func waitLink(t *testing.T, ctx context.Context, nd *node.Node, room string) cid.Cid {
	t.Helper()
	var c cid.Cid
	if err := WaitFor(ctx, func() (bool, error) {
		fs, err := nd.Rooms().Files(ctx, room)
		if err != nil || len(fs) == 0 {
			return false, err
		}
		c = fs[len(fs)-1].CID
		return true, nil
	}); err != nil {
		t.Fatalf("no file link in %s: %v", room, err)
	}
	return c
}

func connect(t *testing.T, ctx context.Context, a, b *node.Node) {
	t.Helper()
	if err := a.Host().Connect(ctx, peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func checkSum(t *testing.T, ctx context.Context, name string, nd *node.Node, root cid.Cid, want [32]byte) {
	t.Helper()
	got, err := CatSHA256(ctx, nd, root)
	if err != nil {
		t.Fatalf("%s: cat: %v", name, err)
	}
	if got != want {
		t.Fatalf("%s: sha256 of the fetched file differs", name)
	}
}

// TestTenNodesFetchFromEachOther: one member shares a file in a room of
// eleven; ten fetch it by the link, the first three one after another and
// the other seven at once. Later fetchers pull blocks from earlier ones
// (over the fast path from the member that sent them the root, and over
// bitswap from every member that has blocks), so that the sharer sends
// fewer than the ten copies.
func TestTenNodesFetchFromEachOther(t *testing.T) {
	t.Parallel()
	const size = 12 << 20
	net := newNet(t, 11)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	makeRoom(t, ctx, net.Nodes, "cinema")
	sum, err := SHA256Of(RandomReader(size, 3))
	if err != nil {
		t.Fatal(err)
	}
	sharer := net.Nodes[0]
	if _, err := sharer.AddFile(ctx, "movie.bin", "cinema", RandomReader(size, 3)); err != nil {
		t.Fatal(err)
	}
	sources := make([][]api.Source, len(net.Nodes))
	get := func(i int) error {
		nd := net.Nodes[i]
		root := waitLink(t, ctx, nd, "cinema")
		_, src, err := nd.GetFile(ctx, root, files.GetOptions{})
		if err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		sources[i] = src
		return nil
	}
	for i := 1; i <= 3; i++ {
		if err := get(i); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := 4; i < len(net.Nodes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := get(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	root := waitLink(t, ctx, sharer, "cinema")
	var fromSharer, fromFetchers uint64
	for i := 1; i < len(net.Nodes); i++ {
		checkSum(t, ctx, fmt.Sprintf("node%d", i), net.Nodes[i], root, sum)
		for _, s := range sources[i] {
			if s.Peer == sharer.Host().ID().String() {
				fromSharer += s.Bytes
			} else {
				fromFetchers += s.Bytes
			}
		}
		t.Logf("node%d sources: %v", i, sources[i])
	}
	if fromFetchers == 0 || fromSharer >= 10*size {
		t.Fatalf("the sharer sent %d bytes, the fetchers %d: no swarming", fromSharer, fromFetchers)
	}
	t.Logf("the sharer sent %.1f copies, the fetchers %.1f", float64(fromSharer)/size, float64(fromFetchers)/size)
}

// TestPasswordRoomFilesOnlyForMembers: a file shared in a password room is
// served to a proven member and to no one else, though the outsider is
// connected to both holders and asks for the exact CID.
func TestPasswordRoomFilesOnlyForMembers(t *testing.T) {
	t.Parallel()
	net := newNet(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), roomDeadline)
	defer cancel()
	a, b, outsider := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	info, err := a.Rooms().Create(ctx, "vault", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rooms().Join(ctx, info.Key, "pw"); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, ctx, []*node.Node{a, b}, "vault", 1)
	sum, _ := SHA256Of(RandomReader(1<<20, 4))
	res, err := a.AddFile(ctx, "plans.pdf", "vault", RandomReader(1<<20, 4))
	if err != nil {
		t.Fatal(err)
	}
	if res.MIME != "application/pdf" {
		t.Errorf("MIME %q", res.MIME)
	}
	root := waitLink(t, ctx, b, "vault")
	if _, _, err := b.GetFile(ctx, root, files.GetOptions{}); err != nil {
		t.Fatalf("member: %v", err)
	}
	checkSum(t, ctx, "member", b, root, sum)

	connect(t, ctx, outsider, a)
	connect(t, ctx, outsider, b)
	_, _, err = outsider.GetFile(ctx, root, files.GetOptions{FindTimeout: 3 * time.Second})
	if !errors.Is(err, files.ErrNotFound) {
		t.Fatalf("outsider get: %v, want ErrNotFound", err)
	}
	if has, _ := outsider.Blockstore().Has(ctx, root); has {
		t.Fatal("the outsider got the root block")
	}
	// A file shared in the open is served to the same outsider.
	pub, err := a.AddFile(ctx, "flyer.txt", "", bytes.NewReader([]byte("open to all\n")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := outsider.GetFile(ctx, cid.MustParse(pub.Entry.CID), files.GetOptions{FindTimeout: 30 * time.Second}); err != nil {
		t.Fatalf("outsider, public file: %v", err)
	}
}

// corrupt replaces the block c in nd's blockstore with other bytes (the
// store does not rehash on read, so nd now serves them under c).
func corrupt(t *testing.T, ctx context.Context, nd *node.Node, c cid.Cid) {
	t.Helper()
	bs := nd.Blockstore()
	if err := bs.DeleteBlock(ctx, c); err != nil {
		t.Fatal(err)
	}
	bad, err := blocks.NewBlockWithCid([]byte("not the block you are looking for"), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.Put(ctx, bad); err != nil {
		t.Fatal(err)
	}
	got, err := bs.Get(ctx, c)
	if err != nil || bytes.Equal(got.RawData(), nil) || !bytes.HasPrefix(got.RawData(), []byte("not the block")) {
		t.Fatalf("corruption did not take: %v", err)
	}
}

// TestBadBlocksDoNotCorrupt: a peer that answers with bytes that do not
// hash to the CID asked for cannot get them stored: from that peer alone
// the get finds nothing; with an honest peer too, the file arrives intact.
func TestBadBlocksDoNotCorrupt(t *testing.T) {
	t.Parallel()
	net := newNet(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), roomDeadline)
	defer cancel()
	honest, rogue, fetcher := net.Nodes[0], net.Nodes[1], net.Nodes[2]

	// Only the rogue has X, and its root is garbage.
	x, err := rogue.AddFile(ctx, "x.bin", "", RandomReader(600<<10, 5))
	if err != nil {
		t.Fatal(err)
	}
	xRoot := cid.MustParse(x.Entry.CID)
	corrupt(t, ctx, rogue, xRoot)
	connect(t, ctx, fetcher, rogue)
	_, _, err = fetcher.GetFile(ctx, xRoot, files.GetOptions{FindTimeout: 3 * time.Second})
	if !errors.Is(err, files.ErrNotFound) {
		t.Fatalf("get from the rogue alone: %v, want ErrNotFound", err)
	}
	if has, _ := fetcher.Blockstore().Has(ctx, xRoot); has {
		t.Fatal("the rogue's bad block was stored")
	}

	// Y: the rogue fetched it honestly, then corrupted a leaf; the fetcher
	// asks both and gets the right bytes.
	const size = 2 << 20
	sum, _ := SHA256Of(RandomReader(size, 6))
	y, err := honest.AddFile(ctx, "y.bin", "", RandomReader(size, 6))
	if err != nil {
		t.Fatal(err)
	}
	yRoot := cid.MustParse(y.Entry.CID)
	connect(t, ctx, rogue, honest)
	if _, _, err := rogue.GetFile(ctx, yRoot, files.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	nd, err := rogue.Files().Stat(ctx, yRoot)
	if err != nil || nd.Size != size {
		t.Fatalf("rogue's copy: %+v %v", nd, err)
	}
	rootBlk, err := rogue.Blockstore().Get(ctx, yRoot)
	if err != nil {
		t.Fatal(err)
	}
	leaves := linksOf(t, rootBlk)
	for _, l := range leaves {
		corrupt(t, ctx, rogue, l)
	}
	connect(t, ctx, fetcher, honest)
	if _, _, err := fetcher.GetFile(ctx, yRoot, files.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	checkSum(t, ctx, "fetcher", fetcher, yRoot, sum)
}

func linksOf(t *testing.T, b blocks.Block) []cid.Cid {
	t.Helper()
	nd, err := merkledag.DecodeProtobufBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []cid.Cid
	for _, l := range nd.Links() {
		out = append(out, l.Cid)
	}
	return out
}

// TestGetFromDHTProvider: a node that is not connected to the only holder
// of a file finds it through the holder's DHT provider record.
func TestGetFromDHTProvider(t *testing.T) {
	t.Parallel()
	net := newNet(t, 4, WithShape(Chain))
	ctx, cancel := context.WithTimeout(context.Background(), roomDeadline)
	defer cancel()
	if err := net.WaitFullRoutingTables(ctx); err != nil {
		t.Fatal(err)
	}
	holder, fetcher := net.Nodes[3], net.Nodes[0]
	sum, _ := SHA256Of(RandomReader(1<<20, 8))
	res, err := holder.AddFile(ctx, "paper.pdf", "", RandomReader(1<<20, 8))
	if err != nil {
		t.Fatal(err)
	}
	root := cid.MustParse(res.Entry.CID)
	// Wait until the provider record is findable, then cut the link.
	if err := WaitFor(ctx, func() (bool, error) {
		fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
		defer fcancel()
		for p := range fetcher.DHT().Routing().FindProvidersAsync(fctx, root, 1) {
			if p.ID == holder.Host().ID() {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatalf("no provider record: %v", err)
	}
	_ = fetcher.Host().Network().ClosePeer(holder.Host().ID())
	_, src, err := fetcher.GetFile(ctx, root, files.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, ctx, "fetcher", fetcher, root, sum)
	if len(src) == 0 || src[0].Peer != holder.Host().ID().String() {
		t.Fatalf("sources %v, want the holder", src)
	}
}

// TestGetOverFastPath: a get between two nodes takes the root block over
// bitswap and the rest over the fast path (/f2f/blocks/1) from the peer
// that sent the root; the sources name it with every byte, and both
// nodes count the bytes (f2f_files_stream_bytes_total).
func TestGetOverFastPath(t *testing.T) {
	t.Parallel()
	const size = 6 << 20
	net := newNet(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), roomDeadline)
	defer cancel()
	holder, fetcher := net.Nodes[0], net.Nodes[1]
	sum, _ := SHA256Of(RandomReader(size, 9))
	res, err := holder.AddFile(ctx, "talk.mp4", "", RandomReader(size, 9))
	if err != nil {
		t.Fatal(err)
	}
	root := cid.MustParse(res.Entry.CID)
	_, src, err := fetcher.GetFile(ctx, root, files.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, ctx, "fetcher", fetcher, root, sum)
	if len(src) != 1 || src[0].Peer != holder.Host().ID().String() || src[0].Bytes < size {
		t.Fatalf("sources %v, want the holder with %d bytes", src, size)
	}
	sent, got := holder.Files().StreamStats(), fetcher.Files().StreamStats()
	if got.Received != size || sent.Sent != size || got.Fallbacks != 0 {
		t.Fatalf("fast path: holder %+v, fetcher %+v, want %d bytes each way", sent, got, size)
	}
}
