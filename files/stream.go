package files

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// BlocksProtocol is a get's fast path. Bitswap moves a file as many small
// wants and answers, each block a message of its own, paced by a
// session's want window; a get instead learns which peer sent it the root
// block and asks that peer for each node's children in one request on a
// stream of their own, which the peer answers with the blocks back to back
// at the stream's speed. Every block is checked against its CID before it
// is stored, exactly as bitswap's are; what the peer does not send (it
// lacks the block, the file is not for this node, the stream fails or a
// block does not match) is fetched over bitswap as before.
//
// A request is a uvarint count (1..MaxStreamWants) and as many CIDs, each
// a uvarint length and its bytes; the answer is a status byte (streamOK,
// or streamBusy: the node already streams to StreamPeersAtOnce other
// peers, ask bitswap) and, when OK, for each CID in order a uvarint length
// (0: not sent) and the block's bytes.
const BlocksProtocol = protocol.ID("/f2f/blocks/1")

// Limits of the fast path.
const (
	// MaxStreamWants is the most CIDs one request names (a UnixFS node
	// links at most LinksPerNode).
	MaxStreamWants = 1024
	// MaxStreamBlock is the largest block sent or accepted (bitswap's
	// limit too).
	MaxStreamBlock = 2 << 20
	// streamHandlers is how many requests a node serves at once, and
	// streamPerPeer how many of one peer; more are reset (the asker
	// falls back to bitswap).
	streamHandlers = 16
	streamPerPeer  = 4
	// StreamPeersAtOnce is how many peers a node streams blocks to at
	// once. Ten members fetching a file just shared would otherwise all
	// stream it from the sharer; past the first ones they use bitswap,
	// which takes blocks from every member that has them, those ahead
	// included.
	StreamPeersAtOnce = 2
	// streamPerBlock is added to streamIdle for each block a request
	// names: a peer slower than a block per second overall (256 KiB/s
	// for a file's leaves) is left for bitswap.
	streamPerBlock = time.Second
	// streamIdle bounds the wait for a request, and for each block of an
	// answer.
	streamIdle = 30 * time.Second
	maxCIDLen  = 128

	streamOK   = 0
	streamBusy = 1
)

// Streams are what the fast path needs from the node: its libp2p host,
// and the bytes of blocks bitswap has received from a peer so far
// (bitswap's ledger), from which a get learns who sent its root block.
type Streams struct {
	Host     host.Host
	Received func(peer.ID) uint64
}

// WithStreams serves BlocksProtocol on st.Host and lets gets use it.
func WithStreams(st Streams) Option {
	return func(c *config) error {
		if st.Host == nil || st.Received == nil {
			return errors.New("files: streams need a host and bitswap's ledger")
		}
		c.streams = &st
		return nil
	}
}

// StreamStats are the fast path's counts since start: bytes of blocks
// sent to other nodes' gets and received by this node's, the gets that
// fell back to bitswap because their peer failed or misbehaved, and the
// requests this node answered busy.
type StreamStats struct {
	Sent      uint64 `json:"sent"`
	Received  uint64 `json:"received"`
	Fallbacks uint64 `json:"fallbacks"`
	Busy      uint64 `json:"busy"`
}

// StreamStats returns the fast path's counts.
func (s *Service) StreamStats() StreamStats {
	return StreamStats{Sent: s.streamSent.Load(), Received: s.streamRecv.Load(), Fallbacks: s.streamFails.Load(), Busy: s.streamBusy.Load()}
}

// serveStreams registers the fast path's handler (see BlocksProtocol).
func (s *Service) serveStreams() {
	s.streamSlots = make(chan struct{}, streamHandlers)
	s.streams.Host.SetStreamHandler(BlocksProtocol, s.handleBlocks)
}

// handleBlocks answers one request: each block the asker may have (the
// block request filter's rule, AllowBlock) and this node holds.
func (s *Service) handleBlocks(st network.Stream) {
	select {
	case s.streamSlots <- struct{}{}:
		defer func() { <-s.streamSlots }()
	default:
		_ = st.Reset()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	p := st.Conn().RemotePeer()
	if !s.streamPeerSlot(p) {
		_ = st.Reset()
		return
	}
	defer s.streamPeerDone(p)
	_ = st.SetReadDeadline(time.Now().Add(streamIdle))
	wants, err := readWants(bufio.NewReader(st))
	if err != nil {
		_ = st.Reset()
		return
	}
	stop := context.AfterFunc(s.ctx, func() { _ = st.Reset() })
	defer stop()
	_ = st.SetWriteDeadline(time.Now().Add(streamIdle))
	if !s.streamAdmit(p) {
		s.streamBusy.Add(1)
		_, _ = st.Write([]byte{streamBusy})
		_ = st.Close()
		return
	}
	defer s.streamRelease(p)
	if _, err := st.Write([]byte{streamOK}); err != nil {
		_ = st.Reset()
		return
	}
	var hdr [binary.MaxVarintLen64]byte
	for _, c := range wants {
		var data []byte
		if s.AllowBlock(p, c) {
			if b, err := s.bs.Get(s.ctx, c); err == nil && len(b.RawData()) <= MaxStreamBlock {
				data = b.RawData()
			}
		}
		_ = st.SetWriteDeadline(time.Now().Add(streamIdle))
		if _, err := st.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(data)))]); err != nil {
			_ = st.Reset()
			return
		}
		if len(data) > 0 {
			if _, err := st.Write(data); err != nil {
				_ = st.Reset()
				return
			}
			s.streamSent.Add(uint64(len(data)))
		}
	}
	_ = st.Close()
}

// peerCounts counts things (requests) by peer; the zero value is ready.
type peerCounts map[peer.ID]int

func (c *peerCounts) add(p peer.ID) {
	if *c == nil {
		*c = peerCounts{}
	}
	(*c)[p]++
}

func (c peerCounts) done(p peer.ID) {
	if c[p]--; c[p] <= 0 {
		delete(c, p)
	}
}

// streamPeerSlot takes one of p's streamPerPeer slots.
func (s *Service) streamPeerSlot(p peer.ID) bool {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.streamPeers[p] >= streamPerPeer {
		return false
	}
	s.streamPeers.add(p)
	return true
}

func (s *Service) streamPeerDone(p peer.ID) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	s.streamPeers.done(p)
}

// streamAdmit lets p's request be answered unless StreamPeersAtOnce other
// peers are being answered.
func (s *Service) streamAdmit(p peer.ID) bool {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.streamActive[p] == 0 && len(s.streamActive) >= StreamPeersAtOnce {
		return false
	}
	s.streamActive.add(p)
	return true
}

func (s *Service) streamRelease(p peer.ID) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	s.streamActive.done(p)
}

// readWants reads a request.
func readWants(r *bufio.Reader) ([]cid.Cid, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > MaxStreamWants {
		return nil, fmt.Errorf("request for %d blocks", n)
	}
	out := make([]cid.Cid, 0, n)
	buf := make([]byte, maxCIDLen)
	for range n {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if l < 1 || l > maxCIDLen {
			return nil, fmt.Errorf("CID of %d bytes", l)
		}
		if _, err := io.ReadFull(r, buf[:l]); err != nil {
			return nil, err
		}
		c, err := cid.Cast(buf[:l])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// appendWants encodes a request.
func appendWants(b []byte, cids []cid.Cid) []byte {
	b = binary.AppendUvarint(b, uint64(len(cids)))
	for _, c := range cids {
		cb := c.Bytes()
		b = binary.AppendUvarint(b, uint64(len(cb)))
		b = append(b, cb...)
	}
	return b
}

// streamSource is the peer a get's fast path asks: the peer that sent the
// most bitswap bytes since before (the root block's sender), if it speaks
// BlocksProtocol.
type streamSource struct {
	s    *Service
	peer peer.ID
	mu   sync.Mutex
	bad  error // set once the peer misbehaved or failed: not asked again
	sent uint64
}

// ledgers snapshots bitswap's received bytes per connected peer.
func (s *Service) ledgers() map[peer.ID]uint64 {
	if s.streams == nil {
		return nil
	}
	out := map[peer.ID]uint64{}
	for _, p := range s.streams.Host.Network().Peers() {
		out[p] = s.streams.Received(p)
	}
	return out
}

// sourceSince picks the fast path's peer from the ledgers' growth since
// before; nil when no peer sent anything (the root was local) or the peer
// does not speak the protocol.
func (s *Service) sourceSince(before map[peer.ID]uint64) *streamSource {
	if s.streams == nil {
		return nil
	}
	var best peer.ID
	var most uint64
	for p, n := range s.ledgers() {
		if d := n - before[p]; n > before[p] && d > most {
			best, most = p, d
		}
	}
	if best == "" {
		return nil
	}
	if ok, err := s.streams.Host.Peerstore().SupportsProtocols(best, BlocksProtocol); err != nil || len(ok) == 0 {
		return nil
	}
	return &streamSource{s: s, peer: best}
}

// usable reports whether the source may still be asked.
func (src *streamSource) usable() bool {
	if src == nil {
		return false
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.bad == nil
}

func (src *streamSource) fail(err error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.bad == nil {
		src.s.streamFails.Add(1)
		src.bad = err
		src.s.log.Debug("block stream: falling back to bitswap", "peer", src.peer, "err", err)
	}
}

// bytes is what the source sent over the fast path.
func (src *streamSource) bytes() uint64 {
	if src == nil {
		return 0
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.sent
}

// fetch asks the source for cids and stores and hands on (got) every block
// that arrives and matches its CID, in order; it returns the CIDs not
// received. Any failure marks the source bad for the rest of the get.
func (src *streamSource) fetch(ctx context.Context, cids []cid.Cid, got func(blocks.Block) bool) []cid.Cid {
	for len(cids) > 0 && src.usable() {
		n := min(len(cids), MaxStreamWants)
		missing, err := src.request(ctx, cids[:n], got)
		if err != nil {
			if ctx.Err() == nil {
				src.fail(err)
			}
			return append(missing, cids[n:]...)
		}
		if len(missing) > 0 {
			return append(missing, cids[n:]...)
		}
		cids = cids[n:]
	}
	return cids
}

// request is one request and its answer; missing is what did not arrive
// (on an error: everything from the failed block on).
func (src *streamSource) request(ctx context.Context, cids []cid.Cid, got func(blocks.Block) bool) (missing []cid.Cid, err error) {
	h := src.s.streams.Host
	st, err := h.NewStream(network.WithNoDial(ctx, "blocks from a connected peer"), src.peer, BlocksProtocol)
	if err != nil {
		return cids, err
	}
	defer func() { _ = st.Reset() }()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	_ = st.SetWriteDeadline(time.Now().Add(streamIdle))
	if _, err := st.Write(appendWants(nil, cids)); err != nil {
		return cids, err
	}
	_ = st.CloseWrite()
	r := bufio.NewReaderSize(st, 64<<10)
	end := time.Now().Add(streamIdle + time.Duration(len(cids))*streamPerBlock)
	_ = st.SetReadDeadline(time.Now().Add(streamIdle))
	switch status, err := r.ReadByte(); {
	case err != nil:
		return cids, err
	case status == streamBusy:
		return cids, nil // busy: this batch over bitswap, the next asks again
	case status != streamOK:
		return cids, fmt.Errorf("status %d", status)
	}
	for i, c := range cids {
		dl := time.Now().Add(streamIdle)
		if dl.After(end) {
			dl = end
		}
		_ = st.SetReadDeadline(dl)
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return append(missing, cids[i:]...), err
		}
		if l == 0 {
			missing = append(missing, c)
			continue
		}
		if l > MaxStreamBlock {
			return append(missing, cids[i:]...), fmt.Errorf("block %s of %d bytes", c, l)
		}
		data := make([]byte, l)
		if _, err := io.ReadFull(r, data); err != nil {
			return append(missing, cids[i:]...), err
		}
		sum, err := c.Prefix().Sum(data)
		if err != nil || !sum.Equals(c) {
			return append(missing, cids[i:]...), fmt.Errorf("block %s does not match its CID", c)
		}
		b, err := blocks.NewBlockWithCid(data, c)
		if err != nil {
			return append(missing, cids[i:]...), err
		}
		if err := src.s.bserv.AddBlock(ctx, b); err != nil {
			return append(missing, cids[i:]...), err
		}
		src.mu.Lock()
		src.sent += l
		src.mu.Unlock()
		src.s.streamRecv.Add(l)
		if !got(b) {
			return append(missing, cids[i+1:]...), ctx.Err()
		}
	}
	return missing, nil
}
