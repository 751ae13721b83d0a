package overlay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
)

// Stream protocols (DESIGN.md, "Wire names").
const (
	// AuthProtocol is the password-room challenge-response: each side
	// proves it holds the room key without revealing it.
	AuthProtocol protocol.ID = "/f2f/room-auth/1"
	// HistoryProtocol serves a room's signed envelopes a member lacks.
	HistoryProtocol protocol.ID = "/f2f/history/1"
)

const (
	maxAuthFrame       = 256
	maxHistoryRequest  = 256 << 10
	authNonceSize      = 32
	authResponseLabel  = "f2f-room-auth/1 responder"
	authInitiatorLabel = "f2f-room-auth/1 initiator"
)

// authenticate runs AuthProtocol as initiator with p. On success both sides
// count the other as a proven member of r.
//
//	initiator -> responder: room hash (32) || nonceI (32)
//	responder -> initiator: nonceR (32) || MAC(responder label, hash, nonceI, nonceR, I, R)
//	initiator -> responder: MAC(initiator label, hash, nonceI, nonceR, I, R)
//	responder -> initiator: "ok"
func (s *Service) authenticate(ctx context.Context, r *room, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, s.params.Room.StreamTimeout)
	defer cancel()
	st, err := s.h.NewStream(ctx, p, AuthProtocol)
	if err != nil {
		return err
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	rd := msgio.NewVarintReaderSize(st, maxAuthFrame)
	wr := msgio.NewVarintWriter(st)
	nonceI := make([]byte, authNonceSize)
	if _, err := rand.Read(nonceI); err != nil {
		return err
	}
	if err := wr.WriteMsg(append([]byte(r.hash), nonceI...)); err != nil {
		return err
	}
	resp, err := rd.ReadMsg()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotMember, err)
	}
	nonceR, macR, err := parseAuthAnswer(resp)
	if err != nil {
		st.Reset()
		return fmt.Errorf("%w: %v", ErrNotMember, err)
	}
	self := []byte(s.h.ID())
	want := r.sec.AuthMAC([]byte(authResponseLabel), []byte(r.hash), nonceI, nonceR, self, []byte(p))
	if !hmac.Equal(want, macR) {
		st.Reset()
		return fmt.Errorf("%w: peer %s does not hold the room key", ErrNotMember, p)
	}
	r.setProven(p)
	macI := r.sec.AuthMAC([]byte(authInitiatorLabel), []byte(r.hash), nonceI, nonceR, self, []byte(p))
	if err := wr.WriteMsg(macI); err != nil {
		return err
	}
	ok, err := rd.ReadMsg()
	if err != nil || !bytes.Equal(ok, []byte("ok")) {
		return fmt.Errorf("%w: no confirmation", ErrNotMember)
	}
	return nil
}

// handleAuth is the responder side of AuthProtocol.
func (s *Service) handleAuth(st network.Stream) {
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	rd := msgio.NewVarintReaderSize(st, maxAuthFrame)
	wr := msgio.NewVarintWriter(st)
	req, err := rd.ReadMsg()
	if err != nil {
		st.Reset()
		return
	}
	hash, nonceI, err := parseAuthHello(req)
	if err != nil {
		st.Reset()
		return
	}
	r := s.roomByHash(hash)
	if r == nil || !r.sec.Encrypted() {
		st.Reset()
		return
	}
	nonceR := make([]byte, authNonceSize)
	if _, err := rand.Read(nonceR); err != nil {
		st.Reset()
		return
	}
	p := st.Conn().RemotePeer()
	self := []byte(s.h.ID())
	macR := r.sec.AuthMAC([]byte(authResponseLabel), []byte(r.hash), nonceI, nonceR, []byte(p), self)
	if err := wr.WriteMsg(append(append([]byte{}, nonceR...), macR...)); err != nil {
		st.Reset()
		return
	}
	macI, err := rd.ReadMsg()
	if err != nil {
		st.Reset()
		return
	}
	want := r.sec.AuthMAC([]byte(authInitiatorLabel), []byte(r.hash), nonceI, nonceR, []byte(p), self)
	if !hmac.Equal(want, macI) {
		s.log.Debug("room auth failed", "room", r.hash, "peer", p)
		st.Reset()
		return
	}
	r.setProven(p)
	_ = wr.WriteMsg([]byte("ok"))
	// The newly proven member may have missed messages: pull from it too.
	r.goroutine(func() {
		if err := s.syncFrom(r.ctx, r, p); err != nil && r.ctx.Err() == nil {
			s.log.Debug("history sync", "room", r.hash, "peer", p, "err", err)
		}
	})
}

// parseAuthHello splits the initiator's first AuthProtocol frame: a room
// hash (32 lower-case hex characters) and its nonce.
func parseAuthHello(b []byte) (hash string, nonce []byte, err error) {
	if len(b) != 32+authNonceSize {
		return "", nil, fmt.Errorf("auth hello of %d bytes, want %d", len(b), 32+authNonceSize)
	}
	if !validRoomHash(string(b[:32])) {
		return "", nil, errors.New("auth hello without a room hash")
	}
	return string(b[:32]), b[32:], nil
}

// parseAuthAnswer splits the responder's AuthProtocol answer: its nonce
// and its MAC.
func parseAuthAnswer(b []byte) (nonce, mac []byte, err error) {
	if len(b) != authNonceSize*2 {
		return nil, nil, errors.New("bad auth answer")
	}
	return b[:authNonceSize], b[authNonceSize:], nil
}

// historyRequest asks a member for the envelopes the requester lacks.
type historyRequest struct {
	Room string            `json:"room"`
	Have map[string]uint64 `json:"have"` // author -> contiguous high-water seq
}

// syncFrom pulls the envelopes of r that p has and the node lacks, checking
// every one (signature, room, decryption, text rules) before storing it:
// p may relay but cannot forge or alter. One sync per peer at a time.
func (s *Service) syncFrom(ctx context.Context, r *room, p peer.ID) error {
	r.mu.Lock()
	if r.syncing[p] {
		r.mu.Unlock()
		return nil
	}
	r.syncing[p] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.syncing, p)
		r.mu.Unlock()
	}()
	if r.sec.Encrypted() && !r.isProven(p) {
		return ErrNotMember
	}
	req := historyRequest{Room: r.hash, Have: r.highWater()}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if len(b) > maxHistoryRequest {
		return errors.New("history request too large")
	}
	ctx, cancel := context.WithTimeout(ctx, s.params.Room.StreamTimeout)
	defer cancel()
	st, err := s.h.NewStream(ctx, p, HistoryProtocol)
	if err != nil {
		return err
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	if err := msgio.NewVarintWriter(st).WriteMsg(b); err != nil {
		return err
	}
	_ = st.CloseWrite()
	rd := msgio.NewVarintReaderSize(st, MaxEnvelopeSize)
	var batch []ingestItem
	flush := func() error {
		_, err := s.ingestWait(ctx, batch, true)
		batch = nil
		return err
	}
	// The answer comes in Lamport order, so an honest one never jumps by
	// more than MaxLamportJump past what was stored or received before it.
	r.mu.Lock()
	clock := r.lamport
	r.mu.Unlock()
	fresh := map[peer.ID]bool{} // authors this answer brings in
	for n := 0; n < s.params.Room.MaxSyncMessages; n++ {
		raw, err := rd.ReadMsg()
		if err != nil {
			return errors.Join(err, flush())
		}
		if len(raw) == 0 {
			return flush() // end of answer
		}
		env, err := r.parseEnvelope(raw)
		if err != nil || !env.Kind.Stored() || r.isStored(env.Author, env.Seq) {
			continue // counted by parseEnvelope, or a duplicate: not verified again
		}
		if !lamportWithin(env.Lamport, clock) {
			s.stats.clockJump.Add(1)
			continue
		}
		if !fresh[env.Author] && !r.knownAuthor(env.Author) {
			if len(fresh) >= s.params.Room.MaxSyncAuthors {
				s.stats.newAuthor.Add(1)
				continue
			}
			fresh[env.Author] = true
		}
		body, err := r.openEnvelope(env)
		if err != nil {
			continue // counted by openEnvelope
		}
		clock = max(clock, env.Lamport)
		batch = append(batch, ingestItem{r: r, env: env, raw: raw, body: body})
		if len(batch) == maxIngestBatch/2 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	st.Reset()
	return flush()
}

// decodeHistoryRequest decodes a HistoryProtocol request: the room hash
// and, per author, the contiguous high-water seq the requester has.
func decodeHistoryRequest(b []byte) (string, map[peer.ID]uint64, error) {
	if len(b) > maxHistoryRequest {
		return "", nil, errors.New("history request too large")
	}
	var req historyRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return "", nil, err
	}
	if !validRoomHash(req.Room) {
		return "", nil, errors.New("history request without a room hash")
	}
	have := make(map[peer.ID]uint64, len(req.Have))
	for a, n := range req.Have {
		id, err := peer.Decode(a)
		if err != nil {
			return "", nil, err
		}
		have[id] = n
	}
	return req.Room, have, nil
}

// handleHistory answers a HistoryProtocol request from a member of the
// room (in a password room: one that proved the key), at most
// HistoryConcurrency at once and HistoryRate per peer; the answer streams
// from the database.
func (s *Service) handleHistory(st network.Stream) {
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	p := st.Conn().RemotePeer()
	if !s.historyLimits.allow(p) {
		s.stats.rateLimit.Add(1)
		st.Reset()
		return
	}
	b, err := msgio.NewVarintReaderSize(st, maxHistoryRequest).ReadMsg()
	if err != nil {
		st.Reset()
		return
	}
	room, have, err := decodeHistoryRequest(b)
	if err != nil {
		st.Reset()
		return
	}
	r := s.roomByHash(room)
	if r == nil || !r.isMember(p) {
		st.Reset()
		return
	}
	wr := msgio.NewVarintWriter(st)
	if r.covers(have) { // the usual case: nothing to send, no query
		_ = wr.WriteMsg(nil)
		return
	}
	select {
	case s.historySem <- struct{}{}:
		defer func() { <-s.historySem }()
	default:
		st.Reset()
		return
	}
	if err := s.flushIngest(r.ctx); err != nil {
		st.Reset()
		return
	}
	err = s.store.MissingEach(r.ctx, r.hash, have, s.params.Room.MaxSyncMessages, s.params.Room.MaxSyncBytes, wr.WriteMsg)
	if err != nil {
		st.Reset()
		return
	}
	_ = wr.WriteMsg(nil)
}
