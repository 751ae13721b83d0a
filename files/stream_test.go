package files

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// streamHost is a real libp2p host on loopback TCP.
func streamHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// connectedHost is a new host connected to to.
func connectedHost(t *testing.T, ctx context.Context, to host.Host) host.Host {
	t.Helper()
	h := streamHost(t)
	if err := h.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return h
}

func noLedger(peer.ID) uint64 { return 0 }

// streamPair is a serving and a getting service on two connected hosts;
// the server holds a file of 12 leaves (3 MiB).
func streamPair(t *testing.T, opts ...Option) (server, client *Service, hs host.Host, root cid.Cid, kids []cid.Cid) {
	t.Helper()
	ctx := context.Background()
	hs, hc := streamHost(t), streamHost(t)
	server = newTestService(t, append(opts, WithStreams(Streams{Host: hs, Received: noLedger}))...)
	client = newTestService(t, WithStreams(Streams{Host: hc, Received: noLedger}))
	if err := hc.Connect(ctx, peer.AddrInfo{ID: hs.ID(), Addrs: hs.Addrs()}); err != nil {
		t.Fatal(err)
	}
	e, err := server.AddFile(ctx, "talk", bytes.NewReader(pattern(3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	root = cid.MustParse(e.CID)
	nd, err := server.local.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range nd.Links() {
		kids = append(kids, l.Cid)
	}
	return server, client, hs, root, kids
}

// TestStreamFetch: a node's blocks come over the fast path in order,
// verified and stored, and both ends count them.
func TestStreamFetch(t *testing.T) {
	server, client, hs, _, kids := streamPair(t)
	src := &streamSource{s: client, peer: hs.ID()}
	var got []cid.Cid
	rest := src.fetch(context.Background(), kids, func(b blocks.Block) bool {
		got = append(got, b.Cid())
		return true
	})
	if len(rest) != 0 || len(got) != len(kids) || !src.usable() {
		t.Fatalf("rest %d, got %d of %d, usable %v", len(rest), len(got), len(kids), src.usable())
	}
	for i, c := range kids {
		if !got[i].Equals(c) {
			t.Fatalf("block %d is %s, want %s", i, got[i], c)
		}
		if ok, _ := client.bs.Has(context.Background(), c); !ok {
			t.Fatalf("block %s not stored", c)
		}
	}
	if n := src.bytes(); n != 3<<20 || client.StreamStats().Received != n || server.StreamStats().Sent != n {
		t.Fatalf("bytes %d, client %+v, server %+v", n, client.StreamStats(), server.StreamStats())
	}
}

// TestStreamServesOnlyWhomThePolicyAllows: a restricted file's blocks are
// not sent to a peer the policy does not allow (the block request
// filter's rule); the asker learns nothing but that they were not sent,
// and takes the fast path as still usable for other files.
func TestStreamServesOnlyWhomThePolicyAllows(t *testing.T) {
	pol := fakePolicy{restricted: map[cid.Cid]bool{}, allowed: map[peer.ID]bool{}}
	server, client, hs, root, kids := streamPair(t, WithPolicy(pol))
	pol.restricted[root] = true
	src := &streamSource{s: client, peer: hs.ID()}
	rest := src.fetch(context.Background(), kids, func(blocks.Block) bool { t.Error("a block arrived"); return true })
	if len(rest) != len(kids) || !src.usable() || server.StreamStats().Sent != 0 {
		t.Fatalf("rest %d of %d, usable %v, sent %d", len(rest), len(kids), src.usable(), server.StreamStats().Sent)
	}
	if ok, _ := client.bs.Has(context.Background(), kids[0]); ok {
		t.Fatal("a restricted block was stored")
	}
}

// TestStreamFromLyingPeer: a real libp2p peer answers the fast path with
// a block that does not match its CID, or announces one beyond the size
// limit: nothing is stored, the get stops asking it (its blocks go to
// bitswap) and the fallback is counted.
func TestStreamFromLyingPeer(t *testing.T) {
	for name, answer := range map[string]func(w io.Writer){
		"wrong bytes": func(w io.Writer) {
			data := bytes.Repeat([]byte{7}, 1000)
			_, _ = w.Write(append(binary.AppendUvarint(nil, uint64(len(data))), data...))
		},
		"oversize": func(w io.Writer) { _, _ = w.Write(binary.AppendUvarint(nil, MaxStreamBlock+1)) },
		"cut off":  func(w io.Writer) { _, _ = w.Write(append(binary.AppendUvarint(nil, 1000), 1, 2, 3)) },
	} {
		t.Run(name, func(t *testing.T) {
			_, client, _, _, kids := streamPair(t)
			liar := streamHost(t)
			liar.SetStreamHandler(BlocksProtocol, func(st network.Stream) {
				defer st.Close()
				if _, err := readWants(bufio.NewReader(st)); err != nil {
					_ = st.Reset()
					return
				}
				_, _ = st.Write([]byte{streamOK})
				answer(st)
			})
			if err := client.streams.Host.Connect(context.Background(), peer.AddrInfo{ID: liar.ID(), Addrs: liar.Addrs()}); err != nil {
				t.Fatal(err)
			}
			src := &streamSource{s: client, peer: liar.ID()}
			rest := src.fetch(context.Background(), kids, func(blocks.Block) bool { t.Error("a block arrived"); return true })
			if len(rest) != len(kids) || src.usable() || client.StreamStats().Fallbacks != 1 {
				t.Fatalf("rest %d of %d, usable %v, stats %+v", len(rest), len(kids), src.usable(), client.StreamStats())
			}
			for _, c := range kids {
				if ok, _ := client.bs.Has(context.Background(), c); ok {
					t.Fatalf("block %s stored", c)
				}
			}
		})
	}
}

// TestStreamBusy: a node already streaming to StreamPeersAtOnce peers
// answers a third one busy; that one's batch goes to bitswap, and it asks
// again for the next (the fast path stays usable).
func TestStreamBusy(t *testing.T) {
	server, _, hs, _, kids := streamPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// StreamPeersAtOnce peers whose requests are being answered, each
	// not reading its answer beyond the stream's window.
	for range StreamPeersAtOnce {
		st, err := connectedHost(t, ctx, hs).NewStream(ctx, hs.ID(), BlocksProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Reset()
		if _, err := st.Write(appendWants(nil, kids)); err != nil {
			t.Fatal(err)
		}
	}
	active := func() int {
		server.streamMu.Lock()
		defer server.streamMu.Unlock()
		return len(server.streamActive)
	}
	for deadline := time.Now().Add(10 * time.Second); active() < StreamPeersAtOnce; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d peers being answered", active(), StreamPeersAtOnce)
		}
	}
	_, client, _, _, _ := streamPair(t)
	if err := client.streams.Host.Connect(ctx, peer.AddrInfo{ID: hs.ID(), Addrs: hs.Addrs()}); err != nil {
		t.Fatal(err)
	}
	src := &streamSource{s: client, peer: hs.ID()}
	rest := src.fetch(ctx, kids, func(blocks.Block) bool { t.Error("a block arrived"); return true })
	if len(rest) != len(kids) || !src.usable() || client.StreamStats().Fallbacks != 0 || server.StreamStats().Busy != 1 {
		t.Fatalf("rest %d of %d, usable %v, client %+v, server %+v", len(rest), len(kids), src.usable(), client.StreamStats(), server.StreamStats())
	}
}

// TestStreamRefusesBadRequests: a real libp2p peer's request for no
// blocks, for more than MaxStreamWants, or with a CID longer than any is
// answered by a reset, without a block.
func TestStreamRefusesBadRequests(t *testing.T) {
	server, _, hs, _, kids := streamPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asker := connectedHost(t, ctx, hs)
	many := make([]cid.Cid, MaxStreamWants+1)
	for i := range many {
		many[i] = kids[0]
	}
	long := binary.AppendUvarint(binary.AppendUvarint(nil, 1), 200)
	long = append(long, make([]byte, 200)...)
	for name, req := range map[string][]byte{
		"none":     binary.AppendUvarint(nil, 0),
		"too many": appendWants(nil, many),
		"long CID": long,
		"garbage":  append(binary.AppendUvarint(nil, 1), 5, 1, 2, 3, 4, 5),
	} {
		st, err := asker.NewStream(ctx, hs.ID(), BlocksProtocol)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(req); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseWrite()
		b, _ := io.ReadAll(st)
		_ = st.Close()
		if len(b) != 0 {
			t.Errorf("%s: answered %d bytes", name, len(b))
		}
	}
	if n := server.StreamStats().Sent; n != 0 {
		t.Fatalf("sent %d bytes", n)
	}
}

// TestStreamPerPeerLimit: a peer holding streamPerPeer requests open gets
// no answer to one more; once it lets them go, it is served again.
func TestStreamPerPeerLimit(t *testing.T) {
	server, _, hs, _, kids := streamPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asker := connectedHost(t, ctx, hs)
	ask := func() int {
		st, err := asker.NewStream(ctx, hs.ID(), BlocksProtocol)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, _ = st.Write(appendWants(nil, kids[:1]))
		_ = st.CloseWrite()
		b, _ := io.ReadAll(st)
		return len(b)
	}
	serving := func() int {
		server.streamMu.Lock()
		defer server.streamMu.Unlock()
		return server.streamPeers[asker.ID()]
	}
	var held []network.Stream
	for range streamPerPeer {
		st, err := asker.NewStream(ctx, hs.ID(), BlocksProtocol)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = st.Write(binary.AppendUvarint(nil, 1)) // a request begun, never finished
		held = append(held, st)
	}
	for deadline := time.Now().Add(10 * time.Second); serving() < streamPerPeer; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server took %d of the %d requests", serving(), streamPerPeer)
		}
	}
	if n := ask(); n != 0 {
		t.Fatalf("a request beyond %d at once was answered (%d bytes)", streamPerPeer, n)
	}
	for _, st := range held {
		_ = st.Reset()
	}
	for deadline := time.Now().Add(10 * time.Second); serving() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reset requests kept their slots")
		}
	}
	if n := ask(); n == 0 {
		t.Fatal("not served again after letting its requests go")
	}
}

// TestStreamGetResumes: a get over the fast path asks only for the blocks
// it does not have yet (an interrupted get resumed), and completes.
func TestStreamGetResumes(t *testing.T) {
	ctx := context.Background()
	hs, hc := streamHost(t), streamHost(t)
	server := newTestService(t, WithStreams(Streams{Host: hs, Received: noLedger}))
	// Bitswap's ledger, as the get sees it: the server's count grows on
	// every look, as if it had just sent the root block.
	var looks atomic.Uint64
	client := newTestService(t, WithStreams(Streams{Host: hc, Received: func(p peer.ID) uint64 {
		if p == hs.ID() {
			return looks.Add(1)
		}
		return 0
	}}))
	if err := hc.Connect(ctx, peer.AddrInfo{ID: hs.ID(), Addrs: hs.Addrs()}); err != nil {
		t.Fatal(err)
	}
	e, err := server.AddFile(ctx, "talk", bytes.NewReader(pattern(3<<20)))
	if err != nil {
		t.Fatal(err)
	}
	root := cid.MustParse(e.CID)
	nd, err := server.local.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	// The root and the first four leaves are here already.
	have := uint64(0)
	for i, c := range append([]cid.Cid{root}, nd.Links()[0].Cid, nd.Links()[1].Cid, nd.Links()[2].Cid, nd.Links()[3].Cid) {
		b, err := server.bs.Get(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.bs.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			have += uint64(len(b.RawData()))
		}
	}
	if _, err := client.Get(ctx, root, GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := client.StreamStats().Received, uint64(3<<20)-have; got != want || server.StreamStats().Sent != want {
		t.Fatalf("received %d, server sent %d, want %d (the blocks not here yet)", got, server.StreamStats().Sent, want)
	}
}
