package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

// rawProto is the benchmark's plain stream protocol: the dialer sends
// bytes, the listener reads them all and answers one byte.
const rawProto = protocol.ID("/f2f-bench/raw/1")

// RawStream sends size bytes from a to b over one new libp2p stream and
// returns the time until b has read them all (b's one-byte answer is back).
func RawStream(ctx context.Context, a, b *node.Node, size int64) (time.Duration, error) {
	b.Host().SetStreamHandler(rawProto, func(s network.Stream) {
		defer s.Close()
		if _, err := io.CopyN(io.Discard, s, size); err != nil {
			_ = s.Reset()
			return
		}
		_, _ = s.Write([]byte{1})
	})
	defer b.Host().RemoveStreamHandler(rawProto)
	if err := a.Host().Connect(ctx, peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Addrs()}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	_, _ = io.ReadFull(testnet.RandomReader(int64(len(buf)), 7), buf)
	start := time.Now()
	s, err := a.Host().NewStream(network.WithAllowLimitedConn(ctx, "bench"), b.Host().ID(), rawProto)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := s.Write(buf[:n]); err != nil {
			return 0, err
		}
		left -= n
	}
	if err := s.CloseWrite(); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
		return 0, fmt.Errorf("raw stream: %w", err)
	}
	return time.Since(start), nil
}

// FileBench is a file transfer benchmark: one node that adds a file of
// Size random bytes, and fetchers that get it.
type FileBench struct {
	Net  *testnet.Net
	Root cid.Cid
	Size int64
	Sum  [32]byte
}

// NewFileBench starts 1+fetchers in-process nodes in dir (each knowing the
// first), has node 0 add size random bytes, and connects every fetcher to
// node 0 (as room members are).
func NewFileBench(ctx context.Context, dir string, fetchers int, size int64) (_ *FileBench, err error) {
	net, err := testnet.New(dir, 1+fetchers, testnet.WithShape(testnet.Star))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = net.Close()
		}
	}()
	sum, err := testnet.SHA256Of(testnet.RandomReader(size, 1))
	if err != nil {
		return nil, err
	}
	res, err := net.Nodes[0].AddFile(ctx, "bench.bin", "", testnet.RandomReader(size, 1))
	if err != nil {
		return nil, err
	}
	root, err := cid.Decode(res.Entry.CID)
	if err != nil {
		return nil, err
	}
	src := net.Nodes[0].Host()
	for _, nd := range net.Nodes[1:] {
		if err := nd.Host().Connect(ctx, peer.AddrInfo{ID: src.ID(), Addrs: src.Addrs()}); err != nil {
			return nil, err
		}
	}
	return &FileBench{Net: net, Root: root, Size: size, Sum: sum}, nil
}

// Close stops the nodes.
func (f *FileBench) Close() error { return f.Net.Close() }

// Get has fetcher i (1-based) get the file and checks its bytes.
func (f *FileBench) Get(ctx context.Context, i int) (time.Duration, []api.Source, error) {
	nd := f.Net.Nodes[i]
	start := time.Now()
	_, src, err := nd.GetFile(ctx, f.Root, files.GetOptions{Name: "bench.bin"})
	d := time.Since(start)
	if err != nil {
		return 0, nil, fmt.Errorf("node %d: %w", i, err)
	}
	sum, err := testnet.CatSHA256(ctx, nd, f.Root)
	if err != nil {
		return 0, nil, err
	}
	if sum != f.Sum {
		return 0, nil, fmt.Errorf("node %d: sha256 differs", i)
	}
	return d, src, nil
}

// Fanout has every fetcher get the file at once and returns the time until
// the last one has it all.
func (f *FileBench) Fanout(ctx context.Context) (time.Duration, [][]api.Source, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		srcs = make([][]api.Source, len(f.Net.Nodes))
	)
	start := time.Now()
	for i := 1; i < len(f.Net.Nodes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, s, err := f.Net.Nodes[i].GetFile(ctx, f.Root, files.GetOptions{Name: "bench.bin"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %d: %w", i, err))
			}
			srcs[i] = s
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	for i := 1; i < len(f.Net.Nodes); i++ {
		sum, err := testnet.CatSHA256(ctx, f.Net.Nodes[i], f.Root)
		if err != nil {
			return 0, nil, err
		}
		if sum != f.Sum {
			return 0, nil, fmt.Errorf("node %d: sha256 differs", i)
		}
	}
	return d, srcs, nil
}

// FileBenchResult is what `f2f bench files` prints.
type FileBenchResult struct {
	Size    int64   `json:"size"`
	GetSec  float64 `json:"get_s"`
	GetMBps float64 `json:"get_mb_s"`
	RawSec  float64 `json:"raw_s"`
	RawMBps float64 `json:"raw_mb_s"`
	Ratio   float64 `json:"ratio"`
	// Bare is the floor: the same size moved by boxo's bitswap alone
	// (BareBitswap); GetOverBare is file get's speed over it.
	BareSec     float64 `json:"bare_bitswap_s"`
	BareMBps    float64 `json:"bare_bitswap_mb_s"`
	GetOverBare float64 `json:"get_over_bare"`
	Fetchers    int     `json:"fanout_nodes"`
	FanoutSec   float64 `json:"fanout_s"`
	FanoutSrcs  int     `json:"fanout_max_sources"`
}

// RunFileBench measures a 1→1 get of size bytes next to a raw stream
// between the same two nodes and next to boxo's bitswap alone
// (BareBitswap), then a 1→fetchers fan-out, in dir.
func RunFileBench(ctx context.Context, dir string, size int64, fetchers int) (FileBenchResult, error) {
	r := FileBenchResult{Size: size, Fetchers: fetchers}
	one, err := NewFileBench(ctx, filepath.Join(dir, "pair"), 1, size)
	if err != nil {
		return r, err
	}
	raw, err := RawStream(ctx, one.Net.Nodes[0], one.Net.Nodes[1], size)
	if err != nil {
		one.Close()
		return r, err
	}
	get, _, err := one.Get(ctx, 1)
	one.Close()
	if err != nil {
		return r, err
	}
	mb := float64(size) / 1e6
	r.GetSec, r.GetMBps = get.Seconds(), mb/get.Seconds()
	r.RawSec, r.RawMBps = raw.Seconds(), mb/raw.Seconds()
	r.Ratio = r.GetMBps / r.RawMBps
	bare, err := BareBitswap(ctx, size)
	if err != nil {
		return r, err
	}
	r.BareSec, r.BareMBps = bare.Seconds(), mb/bare.Seconds()
	r.GetOverBare = r.GetMBps / r.BareMBps
	if fetchers > 0 {
		fan, err := NewFileBench(ctx, filepath.Join(dir, "fanout"), fetchers, size)
		if err != nil {
			return r, err
		}
		d, srcs, err := fan.Fanout(ctx)
		fan.Close()
		if err != nil {
			return r, err
		}
		r.FanoutSec = d.Seconds()
		for _, s := range srcs {
			r.FanoutSrcs = max(r.FanoutSrcs, len(s))
		}
	}
	return r, nil
}
