package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/pion/webrtc/v4"
)

// Errors users see.
var (
	ErrNotJoined      = errors.New("not a member of this room (join it first)")
	ErrPublishing     = errors.New("already publishing in this room (f2f media stop first)")
	ErrRecording      = errors.New("already recording this room (f2f media stop first)")
	ErrNothingToStop  = errors.New("nothing is published or recorded in this room")
	ErrClosed         = errors.New("media service closed")
	ErrNoMixing       = errors.New("audio mixing is not available")
	ErrNotMember      = errors.New("peer is not a member of the room")
	ErrMixNeedsStar   = errors.New("mixed audio needs a star room")
	ErrMixSelf        = errors.New("this node is the room's mixer")
	errTooManyInbound = errors.New("too many media connections in this room")
)

// Service is a node's live media: it publishes files, receives and records
// other members' tracks, and on the elected mixer of a star forwards every
// track (and mixes audio for members that ask for it).
//
// Concurrency: mu guards the rooms map and each room's maps and pointers;
// one loop goroutine reconciles sending edges with the topologies; each
// edge runs its own goroutine that owns its PeerConnection's negotiation;
// hubs (the received streams) guard their state with their own mutex so
// that packets never wait for mu.
type Service struct {
	h       host.Host
	self    peer.ID
	params  Params
	log     *slog.Logger
	rooms   Rooms
	events  func(Event)
	ice     ICEConfig
	roomICE func(hash string) []webrtc.ICEServer
	mixer   AudioMixer
	names   func(hash string, p peer.ID) string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kickCh chan struct{}

	mu     sync.Mutex
	media  map[string]*roomMedia
	closed bool
}

// roomMedia is one room's media state on this node.
type roomMedia struct {
	hash    string
	topo    Topology
	pub     *publisher
	live    *liveSession // a page's camera, microphone and screen
	rec     *recording
	wantMix bool
	out     map[peer.ID]*outEdge
	in      map[peer.ID]*inEdge
	hubs    map[trackKey]*hub
	retryAt map[peer.ID]time.Time
	mix     *mixSession
	mixErr  string // why the mixer refused to mix for this node, if it did
	mixedBy peer.ID
	// mixTap and levelTap take the node's own audio (mixing, speaker).
	mixTap, levelTap func([]byte)

	// Composed video: wantVideo, this node asked for it; videoErr, why
	// the mixer refused; composedBy, who composes for it; compose, the
	// composition this node makes as the mixer; gridFrom and gridAt, the
	// mixer and time of the last composed frame received; gridGaps, the
	// pauses at mixer changes.
	wantVideo  bool
	videoErr   string
	composedBy peer.ID
	compose    *composeSession
	gridFrom   peer.ID
	gridAt     time.Time
	gridGaps   []Gap
}

// New builds the media service on h and registers /f2f/signal/1.
func New(h host.Host, rooms Rooms, opts ...Option) (*Service, error) {
	if h == nil || rooms == nil {
		return nil, errors.New("media: New needs a host and the rooms")
	}
	c := config{params: DefaultParams(), log: slog.Default(), events: func(Event) {}, rooms: rooms}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if err := c.params.validate(); err != nil {
		return nil, err
	}
	if c.mixer == nil {
		c.mixer = defaultMixer()
	}
	s := &Service{
		h: h, self: h.ID(), params: c.params, log: c.log, rooms: c.rooms, events: c.events,
		ice: c.ice, roomICE: c.roomICE, mixer: c.mixer, names: c.names, kickCh: make(chan struct{}, 1), media: map[string]*roomMedia{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	h.SetStreamHandler(protocol.ID(ID), s.handleSignal)
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Close stops publishing and recording, closes every PeerConnection and
// waits for the service's goroutines.
func (s *Service) Close() error {
	s.h.RemoveStreamHandler(protocol.ID(ID))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := s.media
	s.media = map[string]*roomMedia{}
	s.mu.Unlock()
	s.cancel()
	var errs []error
	for _, rm := range rooms {
		errs = append(errs, s.teardown(rm))
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// kick makes the loop reconcile now.
func (s *Service) kick() {
	select {
	case s.kickCh <- struct{}{}:
	default:
	}
}

func (s *Service) loop() {
	defer s.wg.Done()
	t := time.NewTicker(s.params.Tick)
	defer t.Stop()
	statsEvery := max(1, int(time.Second/s.params.Tick))
	for n := 0; ; n++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kickCh:
		}
		s.reconcile()
		if n%statsEvery == 0 {
			s.sampleRates()
		}
	}
}

// room returns the media state of a joined room, creating it; nil when the
// node is not in the room. Call with mu held.
func (s *Service) roomLocked(hash string) *roomMedia {
	if rm := s.media[hash]; rm != nil {
		return rm
	}
	if !slices.Contains(s.rooms.JoinedHashes(), hash) {
		return nil
	}
	rm := &roomMedia{hash: hash, out: map[peer.ID]*outEdge{}, in: map[peer.ID]*inEdge{},
		hubs: map[trackKey]*hub{}, retryAt: map[peer.ID]time.Time{}}
	s.media[hash] = rm
	return rm
}

// reconcile brings every room's sending edges in line with its topology:
// which receivers, and which tracks to each.
func (s *Service) reconcile() {
	// Only rooms with media (something published, received or sent) are
	// looked at: an idle node costs nothing here.
	s.mu.Lock()
	if s.closed || len(s.media) == 0 {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	joined := s.rooms.JoinedHashes()
	var gone []*roomMedia
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		for _, rm := range gone {
			_ = s.teardown(rm)
		}
	}()
	if s.closed {
		return
	}
	for h, rm := range s.media {
		if !slices.Contains(joined, h) {
			delete(s.media, h)
			gone = append(gone, rm)
		}
	}
	for h, rm := range s.media {
		if rm.pub == nil && rm.live == nil && len(rm.in) == 0 && len(rm.out) == 0 && len(rm.hubs) == 0 {
			continue
		}
		topo, ok := s.rooms.MediaTopology(h)
		if !ok {
			continue
		}
		if prev := rm.topo; prev.Mixer != topo.Mixer || prev.Star != topo.Star || len(prev.Members) != len(topo.Members) {
			if prev.Mixer != "" || topo.Mixer != "" {
				s.events(Event{Type: "media.route", Data: map[string]any{
					"room": h, "mixer": topo.Mixer.String(), "star": topo.Star}})
			}
		}
		rm.topo = topo
		s.reconcileRoomLocked(rm)
	}
}

// publishReady reports whether every member the room's topology sends
// this node's own tracks to has a sending edge that carries them.
func (s *Service) publishReady(hash string, own []sendTrack) bool {
	// The room's topology now, not the one the loop last applied: right
	// after Publish the loop may not have looked at the room yet.
	t, ok := s.rooms.MediaTopology(hash)
	if !ok {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.media[hash]
	if rm == nil {
		return true
	}
	isMixer := t.Star && t.Mixer == s.self
	for _, r := range t.Receivers(s.self) {
		e := rm.out[r]
		for _, tr := range own {
			if isMixer && tr.key.kind == kindAudio && e != nil && e.wantsMix() && s.mixer.Available() == nil {
				continue // mixed into r's audio instead
			}
			if isMixer && tr.key.kind == kindVideo && e != nil && e.wantsVideo() {
				continue // composed into r's picture instead
			}
			if e == nil || !e.ready(tr.key) {
				return false
			}
		}
	}
	return true
}

// wantLocked computes, per receiver, the tracks this node should send.
func (s *Service) wantLocked(rm *roomMedia) map[peer.ID][]sendTrack {
	want := map[peer.ID][]sendTrack{}
	t := rm.topo
	own := rm.ownTracks()
	isMixer := t.Star && t.Mixer == s.self
	for _, r := range t.Receivers(s.self) {
		var ts []sendTrack
		mixFor, composeFor := false, false
		if e := rm.out[r]; isMixer && e != nil {
			mixFor = e.wantsMix() && s.mixer.Available() == nil
			composeFor = e.wantsVideo()
		}
		for _, t := range own {
			switch {
			case mixFor && t.key.kind == kindAudio: // the node's own audio is in the mix
			case composeFor && t.key.kind == kindVideo: // and its video in the picture
			default:
				ts = append(ts, t)
			}
		}
		if isMixer {
			for _, hb := range sortedHubs(rm.hubs) {
				if hb.key.origin == r || hb.key.origin == s.self || hb.key.id == trackMix || hb.key.id == trackGrid || !hb.live() {
					continue
				}
				if mixFor && hb.key.kind == kindAudio || composeFor && hb.key.kind == kindVideo {
					continue
				}
				if tl := hb.localTrack(); tl != nil {
					ts = append(ts, sendTrack{key: hb.key, track: tl})
				}
			}
			if mixFor {
				if tl := s.mixTrackLocked(rm, r); tl != nil {
					ts = append(ts, sendTrack{key: trackKey{origin: s.self, kind: kindAudio, id: trackMix}, track: tl})
				}
			}
			if composeFor {
				if tl := s.composeTrackLocked(rm, r); tl != nil {
					ts = append(ts, sendTrack{key: trackKey{origin: s.self, kind: kindVideo, id: trackGrid}, track: tl})
				}
			}
		}
		if len(ts) > 0 {
			want[r] = ts
		}
	}
	return want
}

func (s *Service) reconcileRoomLocked(rm *roomMedia) {
	want := s.wantLocked(rm)
	now := time.Now()
	for r, e := range rm.out {
		if _, ok := want[r]; !ok {
			e.cancel()
			delete(rm.out, r)
		}
	}
	for r, ts := range want {
		e := rm.out[r]
		if e == nil {
			if now.Before(rm.retryAt[r]) {
				continue
			}
			e = s.newOutEdge(rm.hash, r)
			rm.out[r] = e
			s.wg.Add(1)
			go e.run()
		}
		e.update(ts)
	}
	if rm.topo.Star && rm.topo.Mixer == s.self {
		// A member that became the mixer answers what its receivers
		// asked for before.
		for _, e := range rm.out {
			if e.needsAnswer() {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.answerPrefs(e)
				}()
			}
		}
	}
	s.reconcileMixLocked(rm, want)
	s.reconcileComposeLocked(rm, want)
	if rm.live != nil {
		rm.live.update(pageTracksLocked(rm, s.self))
	}
}

// ownTracks are the node's own tracks in the room: its page's while the
// page sends any (the person at the page is the participant), else a
// file publisher's.
func (rm *roomMedia) ownTracks() []sendTrack {
	if ts := rm.live.sendTracks(); len(ts) > 0 {
		return ts
	}
	return rm.pub.sendTracks()
}

// setOwnAudioTap hands the node's own sent audio to f (nil: stop).
func (rm *roomMedia) setOwnAudioTap(f func([]byte)) {
	rm.pub.setAudioTap(f)
	rm.live.setAudioTap(f)
}

// pageTracksLocked are the tracks a page of this node receives: every
// live stream of another member that reaches the node.
func pageTracksLocked(rm *roomMedia, self peer.ID) []sendTrack {
	var out []sendTrack
	for _, hb := range sortedHubs(rm.hubs) {
		if hb.key.origin == self || !hb.live() {
			continue
		}
		if tl := hb.localTrack(); tl != nil {
			out = append(out, sendTrack{key: hb.key, track: tl})
		}
	}
	return out
}

// edgeDone removes a finished outgoing edge; a failed one is retried
// after a backoff.
func (s *Service) edgeDone(e *outEdge, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.media[e.room]
	if rm == nil || rm.out[e.peer] != e {
		return
	}
	delete(rm.out, e.peer)
	if err != nil && s.ctx.Err() == nil {
		rm.retryAt[e.peer] = time.Now().Add(s.params.RetryBackoff)
		s.log.Debug("media edge ended", "room", e.room, "peer", e.peer, "err", err)
	}
}

// teardown stops a room's publisher and recording and closes its edges.
func (s *Service) teardown(rm *roomMedia) error {
	s.mu.Lock()
	pub, rec := rm.pub, rm.rec
	rm.pub, rm.rec = nil, nil
	outs := make([]*outEdge, 0, len(rm.out))
	for _, e := range rm.out {
		outs = append(outs, e)
	}
	ins := make([]*inEdge, 0, len(rm.in))
	for _, e := range rm.in {
		ins = append(ins, e)
	}
	mix, comp := rm.mix, rm.compose
	rm.mix, rm.compose = nil, nil
	live := rm.live
	rm.live = nil
	hubs := make([]*hub, 0, len(rm.hubs))
	for _, hb := range rm.hubs {
		hubs = append(hubs, hb)
	}
	s.mu.Unlock()
	for _, e := range outs {
		e.cancel()
	}
	for _, e := range ins {
		e.cancel()
	}
	if mix != nil {
		mix.stop()
	}
	if comp != nil {
		comp.stop()
	}
	if live != nil {
		live.cancel(ErrNotJoined)
	}
	pub.stop()
	for _, hb := range hubs {
		hb.setSink(nil)
	}
	return rec.close()
}

// Publish starts sending the files in the room.
func (s *Service) Publish(hash string, spec PublishSpec) error {
	pub, err := openPublisher(s, hash, spec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pub.stop()
		return ErrClosed
	}
	rm := s.roomLocked(hash)
	switch {
	case rm == nil:
		err = ErrNotJoined
	case rm.pub != nil:
		err = ErrPublishing
	default:
		rm.pub = pub
	}
	s.mu.Unlock()
	if err != nil {
		pub.stop()
		return err
	}
	pub.start(hash)
	s.events(Event{Type: "media.publish", Data: map[string]any{"room": hash, "video": spec.Video, "audio": spec.Audio}})
	s.kick()
	return nil
}

// Record starts writing every remote publisher's tracks in the room to
// files in dir.
func (s *Service) Record(hash, dir string) error {
	rec, err := newRecording(dir, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rm := s.roomLocked(hash)
	switch {
	case rm == nil:
		return ErrNotJoined
	case rm.rec != nil:
		return ErrRecording
	}
	rm.rec = rec
	for _, hb := range rm.hubs {
		hb.setSink(rec.sink(hb.key))
	}
	s.events(Event{Type: "media.record", Data: map[string]any{"room": hash, "dir": rec.dir}})
	return nil
}

// StopResult says what Stop stopped.
type StopResult struct {
	Published bool `json:"published"`
	Recorded  bool `json:"recorded"`
	// Files are the recorded files, closed and complete.
	Files []RecordedFile `json:"files,omitempty"`
}

// Stop stops publishing and recording in the room; recorded files are
// finalized before it returns.
func (s *Service) Stop(hash string) (StopResult, error) {
	s.mu.Lock()
	rm := s.media[hash]
	if rm == nil || (rm.pub == nil && rm.rec == nil) {
		s.mu.Unlock()
		return StopResult{}, ErrNothingToStop
	}
	pub, rec := rm.pub, rm.rec
	rm.pub, rm.rec = nil, nil
	hubs := make([]*hub, 0, len(rm.hubs))
	for _, hb := range rm.hubs {
		hubs = append(hubs, hb)
	}
	s.mu.Unlock()
	res := StopResult{Published: pub != nil, Recorded: rec != nil}
	pub.stop()
	for _, hb := range hubs {
		hb.setSink(nil)
	}
	var err error
	if rec != nil {
		err = rec.close()
		res.Files = rec.files()
	}
	s.events(Event{Type: "media.stop", Data: map[string]any{"room": hash}})
	s.kick()
	return res, err
}

// SetMix asks the room's mixer to send this node one mixed audio stream
// instead of one per publisher (star rooms only), and with video one
// composed picture of the others' video instead of one track each.
func (s *Service) SetMix(hash string, on, video bool) error {
	video = video && on
	if t, ok := s.rooms.MediaTopology(hash); ok && on {
		if !t.Star {
			return fmt.Errorf("%w: this room is a mesh of %d members, where every member sends its audio to every other (`f2f mixer ROOM --topology star` makes it a star)", ErrMixNeedsStar, len(t.Members))
		}
		if t.Mixer == s.self {
			return fmt.Errorf("%w: it mixes for the others and cannot ask itself", ErrMixSelf)
		}
	}
	s.mu.Lock()
	rm := s.roomLocked(hash)
	if rm == nil {
		s.mu.Unlock()
		return ErrNotJoined
	}
	rm.wantMix, rm.wantVideo = on, video
	if !video {
		rm.videoErr, rm.composedBy = "", ""
	}
	ins := make([]*inEdge, 0, len(rm.in))
	for _, e := range rm.in {
		ins = append(ins, e)
	}
	s.mu.Unlock()
	for _, e := range ins {
		e.sendPrefs(on, video)
	}
	return nil
}

// handleSignal serves /f2f/signal/1: a member that wants to send us media.
func (s *Service) handleSignal(st network.Stream) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	s.wg.Add(1) // under mu, so never after Close began to wait
	s.mu.Unlock()
	// No defer here: with one, Go 1.26's race detector now and then
	// reports its defer record against a finished pion OnTrack goroutine
	// whose memory it reused (runtime.deferreturn vs onTrack.gowrap1).
	err := s.serveInbound(st)
	if err != nil && s.ctx.Err() == nil {
		s.log.Debug("media inbound ended", "peer", st.Conn().RemotePeer(), "err", err)
	}
	s.wg.Done()
}

func (s *Service) registerInbound(e *inEdge) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.rooms.IsMember(e.room, e.peer) {
		return ErrNotMember
	}
	rm := s.roomLocked(e.room)
	if rm == nil {
		return ErrNotJoined
	}
	if old := rm.in[e.peer]; old != nil {
		old.cancel()
	} else if len(rm.in) >= s.params.MaxInbound {
		return errTooManyInbound
	}
	rm.in[e.peer] = e
	e.wantMix, e.wantVideo = rm.wantMix, rm.wantVideo
	return nil
}

func (s *Service) inboundDone(e *inEdge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := s.media[e.room]; rm != nil && rm.in[e.peer] == e {
		delete(rm.in, e.peer)
	}
}

// hubFor returns the room's hub for a received stream, creating it.
func (s *Service) hubFor(hash string, key trackKey, create func() *hub) *hub {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.media[hash]
	if rm == nil {
		return nil
	}
	if hb := rm.hubs[key]; hb != nil {
		return hb
	}
	if len(rm.hubs) >= 4*s.params.MaxTracks {
		return nil
	}
	hb := create()
	if rm.rec != nil {
		hb.setSink(rm.rec.sink(key))
	}
	rm.hubs[key] = hb
	return hb
}

// mixedReply records what the mixer said about mixing (and composing
// video, when video is not nil) for this node.
func (s *Service) mixedReply(hash string, from peer.ID, mixing bool, reason string, video *bool, vreason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.media[hash]
	if rm == nil {
		return
	}
	rm.mixErr = reason
	if mixing {
		rm.mixedBy = from
	} else if rm.mixedBy == from {
		rm.mixedBy = ""
	}
	if video == nil {
		return
	}
	if rm.wantVideo {
		rm.videoErr = vreason
	}
	if *video {
		rm.composedBy = from
	} else if rm.composedBy == from {
		rm.composedBy = ""
	}
}

func (s *Service) emit(typ string, data map[string]any) { s.events(Event{Type: typ, Data: data}) }
