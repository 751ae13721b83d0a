package collab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
	"golang.org/x/time/rate"
)

// ProtocolID is the documents' sync protocol: one stream per pair of
// members and room, opened with a hello frame naming the room, then
// varint-length-delimited frames both ways: Automerge sync messages per
// document (when the stream opens, and to catch up), each member's own
// new changes as it makes them, heads announcements, and the pages'
// cursors.
const ProtocolID protocol.ID = "/f2f/doc/1"

// Frame types.
const (
	frameHello  = 0 // payload: the room hash
	frameSync   = 1 // doc name, kind, Automerge sync message
	frameCursor = 2 // doc name, peer (who, for frames to a page), opaque cursor
	// frameChanges: doc name, kind, Automerge changes (as a save
	// appends them): a member's new changes, pushed as they happen.
	frameChanges = 3
	// frameHeads: doc name, kind, the sender's heads (32 bytes each): what
	// it has after members' changes came (at most once a tick): a member
	// that lacks one of them syncs.
	frameHeads = 4
)

// frame is one decoded frame.
type frame struct {
	typ     byte
	name    string
	kind    Kind
	peer    string
	payload []byte
}

func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (f frame) encode() []byte {
	b := []byte{f.typ}
	switch f.typ {
	case frameSync, frameChanges, frameHeads:
		b = putString(putString(b, f.name), string(f.kind))
	case frameCursor:
		b = putString(putString(b, f.name), f.peer)
	}
	return append(b, f.payload...)
}

var errBadFrame = errors.New("bad frame")

func readString(b []byte, max int) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(max) || n > uint64(len(b)-k) {
		return "", nil, errBadFrame
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// decodeFrame reads a frame; the payload aliases b.
func decodeFrame(b []byte) (frame, error) {
	if len(b) == 0 {
		return frame{}, errBadFrame
	}
	f := frame{typ: b[0]}
	rest := b[1:]
	var err error
	switch f.typ {
	case frameHello:
	case frameSync, frameChanges, frameHeads:
		var kind string
		if f.name, rest, err = readString(rest, 64); err != nil {
			return frame{}, err
		}
		if kind, rest, err = readString(rest, 16); err != nil {
			return frame{}, err
		}
		f.kind = Kind(kind)
	case frameCursor:
		if f.name, rest, err = readString(rest, 64); err != nil {
			return frame{}, err
		}
		if f.peer, rest, err = readString(rest, 128); err != nil {
			return frame{}, err
		}
	default:
		return frame{}, errBadFrame
	}
	f.payload = rest
	return f, nil
}

// session is one sync partner in a room: a member over a libp2p stream,
// or a page of this node over its WebSocket (then only one document).
type session struct {
	s       *Service
	room    string
	peer    peer.ID // the member; "" for a page
	onlyDoc string  // a page's document
	send    func([]byte) error
	stop    func()

	mu     sync.Mutex
	states map[string]*automerge.SyncState
	dirty  map[string]bool
	resync bool                              // frames were dropped: sync every document
	heads  map[string][]automerge.ChangeHash // announced by the member, to check at the next tick
	out    [][]byte                          // frames waiting to go (changes, cursors)
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func (s *Service) newSession(room string, p peer.ID, onlyDoc string, send func([]byte) error, stop func()) *session {
	return &session{s: s, room: room, peer: p, onlyDoc: onlyDoc, send: send, stop: stop,
		states: map[string]*automerge.SyncState{}, dirty: map[string]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (se *session) markDirty(name string) {
	if se.onlyDoc != "" && name != se.onlyDoc {
		return
	}
	se.mu.Lock()
	se.dirty[name] = true
	se.mu.Unlock()
	se.poke()
}

// queue adds a frame to send. A member that cannot keep up with the
// room's changes (maxQueued frames behind) gets none until the queue
// drains: it catches up by the sync protocol instead (the document is
// marked to sync).
func (se *session) queue(f []byte) {
	se.mu.Lock()
	if len(se.out) < maxQueued {
		se.out = append(se.out, f)
	} else {
		se.resync = true
	}
	se.mu.Unlock()
	se.poke()
}

const maxQueued = 256

func (se *session) poke() {
	select {
	case se.wake <- struct{}{}:
	default:
	}
}

func (se *session) close() {
	se.once.Do(func() {
		close(se.done)
		se.stop()
	})
}

// register adds the session to its room and marks every document of the
// room (or its one document) to sync.
func (s *Service) register(se *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	m := s.sessions[se.room]
	if m == nil {
		m = map[*session]struct{}{}
		s.sessions[se.room] = m
	}
	m[se] = struct{}{}
	for name := range s.docs[se.room] {
		se.dirty[name] = se.onlyDoc == "" || name == se.onlyDoc
	}
	se.poke()
	return true
}

func (s *Service) unregister(se *session) {
	s.mu.Lock()
	delete(s.sessions[se.room], se)
	if len(s.sessions[se.room]) == 0 {
		delete(s.sessions, se.room)
	}
	s.mu.Unlock()
}

// writeLoop sends, for every document marked dirty, the sync message its
// state asks for, and the cursors waiting, until the session ends.
func (se *session) writeLoop() {
	defer se.close()
	for {
		select {
		case <-se.done:
			return
		case <-se.wake:
		}
		for {
			se.mu.Lock()
			var name string
			for n, d := range se.dirty {
				if d {
					name = n
					break
				}
			}
			delete(se.dirty, name)
			curs := se.out
			se.out = nil
			if se.resync && len(curs) == 0 {
				se.resync = false
				for _, n := range se.s.docNames(se.room) {
					se.dirty[n] = true
				}
			}
			se.mu.Unlock()
			for _, c := range curs {
				if se.write(c) != nil {
					return
				}
				if c[0] == frameChanges {
					se.s.pushed.Add(1)
				}
			}
			if name == "" {
				break
			}
			msg, kind, ok := se.generate(name)
			if !ok {
				continue
			}
			if se.write(frame{typ: frameSync, name: name, kind: kind, payload: msg}.encode()) != nil {
				return
			}
			se.s.synced.Add(1)
		}
	}
}

func (se *session) write(b []byte) error {
	if err := se.send(b); err != nil {
		return err
	}
	se.s.framesOut.Add(1)
	se.s.bytesOut.Add(uint64(len(b)))
	return nil
}

// generate returns the next sync message for a document, if any.
func (se *session) generate(name string) ([]byte, Kind, bool) {
	d, err := se.s.lookup(se.room, name)
	if err != nil {
		return nil, "", false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	se.mu.Lock()
	ss := se.states[name]
	if ss == nil {
		ss = automerge.NewSyncState(d.d)
		se.states[name] = ss
	}
	se.mu.Unlock()
	ss.Doc = d.d
	sm, ok := ss.GenerateMessage()
	if !ok {
		return nil, "", false
	}
	return sm.Bytes(), d.kind, true
}

// receive applies one sync message from the session's partner.
func (se *session) receive(ctx context.Context, f frame) error {
	s := se.s
	d, created, err := se.target(ctx, f, func() error {
		if err := checkChanges(f.payload, s.limits.DocBytes); err != nil {
			return err
		}
		if _, err := s.lookup(se.room, f.name); err != nil {
			// A document this node has not seen: the message must decode
			// before the document exists here.
			if _, err := automerge.LoadSyncMessage(f.payload); err != nil {
				return fmt.Errorf("%w: sync message: %v", errBadFrame, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	se.mu.Lock()
	ss := se.states[f.name]
	if ss == nil {
		ss = automerge.NewSyncState(d.d)
		se.states[f.name] = ss
	}
	se.mu.Unlock()
	ss.Doc = d.d
	before := d.d.Heads()
	if _, err := ss.ReceiveMessage(f.payload); err != nil {
		d.mu.Unlock()
		s.rejected.Add(1)
		return fmt.Errorf("%w: sync message: %v", errBadFrame, err)
	}
	if err := s.applied(ctx, se, d, before, created); err != nil {
		return err
	}
	se.markDirty(f.name) // the reply
	return nil
}

// applied finishes a receive (d.mu held, released here): when the heads
// moved, the changes are stored and passed on.
func (s *Service) applied(ctx context.Context, se *session, d *doc, before []automerge.ChangeHash, created bool) error {
	changed := !sameHeads(before, d.d.Heads())
	if k := docKind(d.d); changed && k != "" && d.kind != k {
		d.kind = k
	}
	var inc []byte
	var err error
	if changed {
		inc, err = s.persist(ctx, d)
	}
	info := d.info()
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if created {
		s.events(EventCreated, info)
	}
	if changed {
		s.changed(d, se, inc)
	}
	return nil
}

// target checks a sync or changes frame (its document's name and kind,
// then its payload with check; a failed check is counted: rejected, or
// oversize when past a limit), finds or makes its document, and returns
// it locked (d.mu) when the payload leaves it within its size.
func (se *session) target(ctx context.Context, f frame, check func() error) (*doc, bool, error) {
	s := se.s
	if se.onlyDoc != "" && f.name != se.onlyDoc {
		return nil, false, fmt.Errorf("%w: a page's session is for %s", errBadFrame, se.onlyDoc)
	}
	if CheckName(f.name) != nil {
		return nil, false, fmt.Errorf("%w: document name %q", errBadFrame, f.name)
	}
	kind, err := ParseKind(string(f.kind))
	if err != nil || f.kind == "" {
		return nil, false, fmt.Errorf("%w: kind %q", errBadFrame, f.kind)
	}
	if err := check(); err != nil {
		if errors.Is(err, ErrTooLarge) {
			s.oversize.Add(1)
		} else {
			s.rejected.Add(1)
		}
		return nil, false, err
	}
	d, created, err := s.ensure(ctx, se.room, f.name, kind, false)
	if err != nil {
		return nil, false, err
	}
	d.mu.Lock()
	if d.size+len(f.payload) > s.limits.DocBytes+s.limits.DocBytes/4 {
		d.mu.Unlock()
		s.oversize.Add(1)
		return nil, false, fmt.Errorf("%w: %s would pass %d bytes", ErrTooLarge, f.name, s.limits.DocBytes)
	}
	return d, created, nil
}

// receiveChanges applies changes a member pushed.
func (se *session) receiveChanges(ctx context.Context, f frame) error {
	s := se.s
	if se.peer == "" {
		return fmt.Errorf("%w: changes from a page", errBadFrame)
	}
	var hashes, deps [][32]byte
	d, created, err := se.target(ctx, f, func() (err error) {
		hashes, deps, err = pushedChanges(f.payload, s.limits.DocBytes)
		return err
	})
	if err != nil {
		return err
	}
	before := d.d.Heads()
	if !d.ready(deps, hashes) {
		// They build on changes this node has not got: still on their way
		// from another member, or missed while apart. They wait for them
		// (a tick at most; then the sync protocol brings them all).
		d.hold(heldPush{payload: append([]byte(nil), f.payload...), hashes: hashes, deps: deps, from: se, at: time.Now()})
		info := d.info()
		d.mu.Unlock()
		if created {
			s.events(EventCreated, info)
		}
		return nil
	}
	if err := d.d.LoadIncremental(f.payload); err != nil {
		d.mu.Unlock()
		s.rejected.Add(1)
		return fmt.Errorf("%w: pushed changes: %v", errBadFrame, err)
	}
	d.releaseHeld()
	return s.applied(ctx, se, d, before, created)
}

// docNames lists a room's documents.
func (s *Service) docNames(room string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.docs[room] {
		out = append(out, n)
	}
	return out
}

func sameHeads(a, b []automerge.ChangeHash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cursor passes a page's cursor on: to the room's members and this
// node's other pages of the document (from this node), or from a member
// to this node's pages.
func (s *Service) cursor(room, name string, from *session, payload []byte) {
	who := from.peer
	if who == "" {
		who = s.h.ID()
	}
	s.mu.Lock()
	var targets []*session
	for se := range s.sessions[room] {
		if se == from {
			continue
		}
		if se.onlyDoc == name || se.onlyDoc == "" && from.peer == "" {
			targets = append(targets, se)
		}
	}
	s.mu.Unlock()
	b := frame{typ: frameCursor, name: name, peer: who.String(), payload: payload}.encode()
	for _, se := range targets {
		se.mu.Lock()
		if len(se.out) < 64 {
			se.out = append(se.out, b)
		}
		se.mu.Unlock()
		se.poke()
	}
}

// limiter bounds what a partner may send.
type limiter struct{ frames, bytes *rate.Limiter }

func (s *Service) newLimiter() limiter {
	l := s.limits
	return limiter{rate.NewLimiter(rate.Limit(l.FramesPerSec), int(4*l.FramesPerSec)+1), rate.NewLimiter(rate.Limit(l.BytesPerSec), l.FrameBytes)}
}

func (l limiter) wait(ctx context.Context, n int) error {
	if err := l.frames.Wait(ctx); err != nil {
		return err
	}
	return l.bytes.WaitN(ctx, min(n, l.bytes.Burst()))
}

// handleFrame handles one frame from a partner; an error ends the
// session.
func (se *session) handleFrame(ctx context.Context, b []byte) error {
	s := se.s
	s.framesIn.Add(1)
	s.bytesIn.Add(uint64(len(b)))
	if se.peer != "" && !s.rooms.IsMember(se.room, se.peer) {
		s.refused.Add(1)
		return fmt.Errorf("%s is no member of the room any more", se.peer)
	}
	f, err := decodeFrame(b)
	if err != nil {
		s.rejected.Add(1)
		return err
	}
	switch f.typ {
	case frameSync:
		return se.receive(ctx, f)
	case frameChanges:
		return se.receiveChanges(ctx, f)
	case frameHeads:
		return se.receiveHeads(f)
	case frameCursor:
		if len(f.payload) > s.limits.CursorBytes {
			s.oversize.Add(1)
			return nil
		}
		if se.onlyDoc != "" && f.name != se.onlyDoc || CheckName(f.name) != nil {
			s.rejected.Add(1)
			return nil
		}
		s.cursor(se.room, f.name, se, append([]byte(nil), f.payload...))
		return nil
	}
	s.rejected.Add(1)
	return errBadFrame
}

// handleStream serves a member's sync stream.
func (s *Service) handleStream(st network.Stream) {
	p := st.Conn().RemotePeer()
	r := msgio.NewVarintReaderSize(st, s.limits.FrameBytes)
	_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := r.ReadMsg()
	if err != nil {
		_ = st.Reset()
		return
	}
	f, err := decodeFrame(b)
	room := string(f.payload)
	r.ReleaseMsg(b)
	_ = st.SetReadDeadline(time.Time{})
	if err != nil || f.typ != frameHello || len(room) > 128 || !s.joined(room) || !s.rooms.IsMember(room, p) {
		// Nothing of a room goes to a peer that is not its member.
		s.refused.Add(1)
		_ = st.Reset()
		return
	}
	s.run(room, p, st, r)
}

func (s *Service) joined(room string) bool {
	for _, h := range s.rooms.JoinedHashes() {
		if h == room {
			return true
		}
	}
	return false
}

// dial opens a sync stream to a member.
func (s *Service) dial(room string, p peer.ID) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	st, err := s.h.NewStream(network.WithAllowLimitedConn(ctx, "doc sync"), p, ProtocolID)
	cancel()
	if err != nil {
		s.log.Debug("doc sync dial", "peer", p, "err", err)
		return
	}
	w := msgio.NewVarintWriter(st)
	if err := w.WriteMsg(frame{typ: frameHello, payload: []byte(room)}.encode()); err != nil {
		_ = st.Reset()
		return
	}
	s.run(room, p, st, msgio.NewVarintReaderSize(st, s.limits.FrameBytes))
}

// run runs a member's sync session on a stream until either side ends it.
func (s *Service) run(room string, p peer.ID, st network.Stream, r msgio.ReadCloser) {
	var wmu sync.Mutex
	w := msgio.NewVarintWriter(st)
	se := s.newSession(room, p, "", func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = st.SetWriteDeadline(time.Now().Add(30 * time.Second))
		return w.WriteMsg(b)
	}, func() { _ = st.Reset() })
	if !s.register(se) {
		_ = st.Reset()
		return
	}
	defer s.unregister(se)
	go se.writeLoop()
	defer se.close()
	lim := s.newLimiter()
	ctx := s.ctx
	for {
		b, err := r.ReadMsg()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, network.ErrReset) {
				s.log.Debug("doc sync read", "peer", p, "err", err)
			}
			if errors.Is(err, msgio.ErrMsgTooLarge) {
				s.oversize.Add(1)
			}
			return
		}
		if err := lim.wait(ctx, len(b)); err != nil {
			r.ReleaseMsg(b)
			return
		}
		err = se.handleFrame(ctx, b)
		r.ReleaseMsg(b)
		if err != nil {
			s.log.Info("doc sync: ending a member's session", "peer", p, "err", err)
			return
		}
	}
}

// loop opens a sync stream to every member of a joined room that has
// none, when the room has documents here: the member with the lower peer
// ID at once, the other after a while (so that normally one stream serves
// a pair), and ends the sessions of peers that are no longer members.
func (s *Service) loop() {
	defer s.wg.Done()
	t := time.NewTicker(s.limits.Tick)
	defer t.Stop()
	first := map[sessKey]time.Time{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		s.mu.Lock()
		var all []*session
		for _, m := range s.sessions {
			for se := range m {
				all = append(all, se)
			}
		}
		s.mu.Unlock()
		for _, se := range all {
			se.checkHeads()
		}
		s.expireHeld(s.limits.Tick)
		s.announceHeads()
		now := time.Now()
		self := s.h.ID()
		seen := map[sessKey]bool{}
		for _, room := range s.rooms.JoinedHashes() {
			// A room without documents here needs no streams: members with
			// documents open theirs, and a document made here marks the
			// room for the next pass.
			s.mu.Lock()
			none := len(s.docs[room]) == 0
			s.mu.Unlock()
			if none {
				continue
			}
			for _, p := range s.rooms.Members(room) {
				if p == self {
					continue
				}
				k := sessKey{room, p}
				seen[k] = true
				if _, ok := first[k]; !ok {
					first[k] = now
				}
				s.mu.Lock()
				has := false
				for se := range s.sessions[room] {
					if se.peer == p {
						has = true
						break
					}
				}
				last, tried := s.dialing[k]
				wait := self > p && now.Sub(first[k]) < 3*s.limits.Tick
				go_ := !has && !s.closed && !wait && (!tried || now.Sub(last) >= s.limits.RedialAfter)
				if go_ {
					s.dialing[k] = now
					s.wg.Add(1)
				}
				s.mu.Unlock()
				if go_ {
					go s.dial(room, p)
				}
			}
		}
		for k := range first {
			if !seen[k] {
				delete(first, k)
			}
		}
		s.mu.Lock()
		for k := range s.dialing {
			if !seen[k] {
				delete(s.dialing, k)
			}
		}
		s.mu.Unlock()
		// Sessions of peers that left or whose room was left end.
		s.mu.Lock()
		var drop []*session
		for room, m := range s.sessions {
			for se := range m {
				if se.peer != "" && !seen[sessKey{room, se.peer}] && !s.rooms.IsMember(room, se.peer) {
					drop = append(drop, se)
				}
			}
		}
		s.mu.Unlock()
		for _, se := range drop {
			se.close()
		}
	}
}

// Kick makes the service look for members without a sync stream now (on
// a member joining) rather than at its next tick.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Joined reports whether the room with this hash is joined.
func (s *Service) Joined(room string) bool { return s.joined(room) }

// PagePeer is a page's side of a document session (node carries it on a
// WebSocket).
type PagePeer interface {
	SendSync(msg []byte) error
	SendCursor(from string, cursor []byte) error
	// Recv returns the page's next sync message or cursor.
	Recv() (sync, cursor []byte, err error)
	Close() error
}

// ServePage syncs one document with a page of this node until the page
// goes, ctx ends or the service closes: the page holds its own copy
// (Automerge in JavaScript), and its cursors go to the room's members.
func (s *Service) ServePage(ctx context.Context, room, name string, p PagePeer) error {
	d, err := s.lookup(room, name)
	if err != nil {
		return err
	}
	se := s.newSession(room, "", name, func(b []byte) error {
		f, err := decodeFrame(b)
		if err != nil {
			return err
		}
		if f.typ == frameCursor {
			return p.SendCursor(f.peer, f.payload)
		}
		return p.SendSync(f.payload)
	}, func() { _ = p.Close() })
	if !s.register(se) {
		return ErrClosed
	}
	defer s.unregister(se)
	go se.writeLoop()
	defer se.close()
	stop := context.AfterFunc(ctx, se.close)
	defer stop()
	lim := s.newLimiter()
	for {
		msg, cur, err := p.Recv()
		if err != nil {
			return err
		}
		if err := lim.wait(s.ctx, len(msg)+len(cur)); err != nil {
			return err
		}
		s.framesIn.Add(1)
		s.bytesIn.Add(uint64(len(msg) + len(cur)))
		if cur != nil {
			if len(cur) <= s.limits.CursorBytes {
				s.cursor(room, name, se, cur)
			}
			continue
		}
		d.mu.Lock()
		kind := d.kind
		d.mu.Unlock()
		if err := se.receive(ctx, frame{typ: frameSync, name: name, kind: kind, payload: msg}); err != nil {
			return err
		}
	}
}

// announceHeads tells every member the heads of each document that
// members changed since the last tick. A member pushes its own changes to
// the members it has a session with; one that has none with the author
// (it cannot reach it) learns here that it lacks something, and syncs.
func (s *Service) announceHeads() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for room, m := range s.docs {
		for name, d := range m {
			if !d.backstop.Swap(false) {
				continue
			}
			d.mu.Lock()
			var hs []byte
			for _, h := range d.d.Heads() {
				hs = append(hs, h[:]...)
			}
			kind := d.kind
			d.mu.Unlock()
			f := frame{typ: frameHeads, name: name, kind: kind, payload: hs}.encode()
			for se := range s.sessions[room] {
				if se.peer != "" {
					se.queue(f)
				}
			}
		}
	}
}

// receiveHeads notes a member's heads; those this node lacks a tick
// later (not just in flight from their author) make it sync with the
// member.
func (se *session) receiveHeads(f frame) error {
	if se.peer == "" || CheckName(f.name) != nil || len(f.payload)%32 != 0 || len(f.payload) > 32*64 {
		se.s.rejected.Add(1)
		return fmt.Errorf("%w: heads of %q", errBadFrame, f.name)
	}
	var hs []automerge.ChangeHash
	for b := f.payload; len(b) > 0; b = b[32:] {
		var h automerge.ChangeHash
		copy(h[:], b)
		hs = append(hs, h)
	}
	se.mu.Lock()
	if se.heads == nil {
		se.heads = map[string][]automerge.ChangeHash{}
	}
	if len(se.heads) < 64 {
		se.heads[f.name] = hs
	}
	se.mu.Unlock()
	return nil
}

// checkHeads syncs the documents whose announced heads are still unknown
// here.
func (se *session) checkHeads() {
	se.mu.Lock()
	heads := se.heads
	se.heads = nil
	se.mu.Unlock()
	for name, hs := range heads {
		d, err := se.s.lookup(se.room, name)
		if err != nil {
			se.markDirty(name)
			continue
		}
		d.mu.Lock()
		missing := false
		for _, h := range hs {
			if _, err := d.d.Change(h); err != nil {
				missing = true
				break
			}
		}
		d.mu.Unlock()
		if missing {
			se.markDirty(name)
		}
	}
}

// heldPush is a member's pushed changes that wait for the changes they
// build on.
type heldPush struct {
	payload      []byte
	hashes, deps [][32]byte
	from         *session
	at           time.Time
}

// maxHeld bounds the pushes a document holds.
const maxHeld = 256

// ready reports whether every change pushed changes build on is here or
// among them (d.mu held).
func (d *doc) ready(deps, hashes [][32]byte) bool {
	for _, dep := range deps {
		if _, err := d.d.Change(automerge.ChangeHash(dep)); err != nil && !slices.Contains(hashes, dep) {
			return false
		}
	}
	return true
}

// hold keeps pushed changes until what they build on arrives (d.mu held);
// past maxHeld the oldest are dropped and their sender synced with.
func (d *doc) hold(h heldPush) {
	if len(d.held) >= maxHeld {
		d.held[0].from.markDirty(d.name)
		d.held = d.held[1:]
	}
	d.held = append(d.held, h)
}

// releaseHeld loads the held pushes that became ready (d.mu held).
func (d *doc) releaseHeld() {
	for progress := true; progress; {
		progress = false
		for i := 0; i < len(d.held); i++ {
			h := d.held[i]
			if !d.ready(h.deps, h.hashes) {
				continue
			}
			_ = d.d.LoadIncremental(h.payload) // checked when it came; a failure leaves it to the sync protocol
			d.held = slices.Delete(d.held, i, i+1)
			i--
			progress = true
		}
	}
}

// expireHeld gives up on pushes held longer than a tick: their senders
// are synced with instead.
func (s *Service) expireHeld(older time.Duration) {
	s.mu.Lock()
	var ds []*doc
	for _, m := range s.docs {
		for _, d := range m {
			ds = append(ds, d)
		}
	}
	s.mu.Unlock()
	for _, d := range ds {
		d.mu.Lock()
		kept := d.held[:0]
		for _, h := range d.held {
			if time.Since(h.at) > older {
				h.from.markDirty(d.name)
			} else {
				kept = append(kept, h)
			}
		}
		d.held = kept
		d.mu.Unlock()
	}
}
