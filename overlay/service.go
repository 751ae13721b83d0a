package overlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"

	"github.com/fluttershy/face2face/overlay/election"
)

// Rendezvous is what the room service needs from the DHT: announcing the
// node under a namespace and finding the peers that did. node wires the dht
// package's Service in.
type Rendezvous interface {
	Advertise(ctx context.Context, ns string) (time.Duration, error)
	FindPeers(ctx context.Context, ns string, limit int) ([]peer.AddrInfo, error)
}

// EventSink receives the service's events (room.*, chat.message); node
// forwards them to its events stream. It must not block.
type EventSink func(typ string, data any)

// Event types the service emits.
const (
	EventChatMessage   = "chat.message"
	EventRoomJoined    = "room.joined"
	EventRoomLeft      = "room.left"
	EventRoomForgotten = "room.forgotten"
	EventMemberJoined  = "room.member_joined"
	EventMemberLeft    = "room.member_left"
	EventMemberGone    = "room.member_gone"
)

// Params are the service's tunables, one group per subsystem.
type Params struct {
	Room     RoomParams
	Election election.Params
	Caps     CapsParams
}

// RoomParams are the tunables of rooms: discovery, presence, history
// sync and the limits on what peers may send.
type RoomParams struct {
	// DiscoverInterval is how often a joined room looks for members in the
	// DHT again (so split groups find each other).
	DiscoverInterval time.Duration
	// FastDiscover is the interval while a room has no connected member.
	FastDiscover time.Duration
	// PresenceInterval is how often a member announces itself.
	PresenceInterval time.Duration
	// GoneAfter marks a member gone when nothing was heard from it for so long.
	GoneAfter time.Duration
	// SyncInterval is how often history is pulled from a random member
	// besides on every new member.
	SyncInterval time.Duration
	// StreamTimeout bounds one auth, history or probe exchange.
	StreamTimeout time.Duration
	// MaxSyncMessages and MaxSyncBytes bound one history response.
	MaxSyncMessages int
	MaxSyncBytes    int
	// HistoryRate and HistoryBurst bound the history requests the node
	// answers per peer (per second); HistoryConcurrency bounds the answers
	// that need the database at once.
	HistoryRate        float64
	HistoryBurst       int
	HistoryConcurrency int
	// MaxConnectsPerRound bounds dials after one DHT lookup.
	MaxConnectsPerRound int
	// AuthorRate and AuthorBurst bound the messages per second one author
	// may have relayed through the node.
	AuthorRate  float64
	AuthorBurst int
	// ForwardRate and ForwardBurst bound the messages per second any one
	// peer may forward to the node for checking and storing, whoever
	// their authors; NewAuthorRate and NewAuthorBurst bound how many
	// authors the room has not seen yet it may bring in (each counted
	// once).
	ForwardRate    float64
	ForwardBurst   int
	NewAuthorRate  float64
	NewAuthorBurst int
	// MaxRoomMembers bounds the members a room keeps track of; beyond it
	// a departed one is forgotten, or a new author is refused.
	MaxRoomMembers int
	// ForgetAfter forgets members gone or left for so long (their
	// reports, telemetry and nickname; the log stays).
	ForgetAfter time.Duration
	// MaxSyncAuthors bounds the authors the node did not know that one
	// history answer may bring in.
	MaxSyncAuthors int
	// ControlMaxAge drops control messages older (or further in the
	// future) than this, so that an old one cannot be replayed.
	ControlMaxAge time.Duration
	// MeshMax is the largest room run as a mesh; larger rooms are a star
	// around the mixer (a room's policy may override it).
	MeshMax int
}

// DefaultRoomParams returns the default room tunables.
func DefaultRoomParams() RoomParams {
	return RoomParams{
		DiscoverInterval:    30 * time.Second,
		FastDiscover:        time.Second,
		PresenceInterval:    5 * time.Second,
		GoneAfter:           20 * time.Second,
		SyncInterval:        30 * time.Second,
		StreamTimeout:       10 * time.Second,
		MaxSyncMessages:     20000,
		MaxSyncBytes:        32 << 20,
		HistoryRate:         0.2,
		HistoryBurst:        4,
		HistoryConcurrency:  2,
		MaxConnectsPerRound: 20,
		AuthorRate:          100,
		AuthorBurst:         200,
		ForwardRate:         300,
		ForwardBurst:        600,
		NewAuthorRate:       1,
		NewAuthorBurst:      64,
		MaxRoomMembers:      1024,
		ForgetAfter:         10 * time.Minute,
		MaxSyncAuthors:      1024,
		ControlMaxAge:       30 * time.Second,
		MeshMax:             4,
	}
}

func (p RoomParams) validate() error {
	for name, d := range map[string]time.Duration{
		"DiscoverInterval": p.DiscoverInterval, "FastDiscover": p.FastDiscover,
		"PresenceInterval": p.PresenceInterval, "GoneAfter": p.GoneAfter,
		"SyncInterval": p.SyncInterval, "StreamTimeout": p.StreamTimeout,
		"ControlMaxAge": p.ControlMaxAge, "ForgetAfter": p.ForgetAfter,
	} {
		if d <= 0 {
			return fmt.Errorf("overlay: Room.%s must be > 0", name)
		}
	}
	if p.MaxSyncMessages <= 0 || p.MaxSyncBytes <= 0 || p.MaxConnectsPerRound <= 0 || p.AuthorRate <= 0 || p.AuthorBurst <= 0 ||
		p.HistoryRate <= 0 || p.HistoryBurst <= 0 || p.HistoryConcurrency <= 0 || p.ForwardRate <= 0 || p.ForwardBurst <= 0 ||
		p.NewAuthorRate <= 0 || p.NewAuthorBurst <= 0 || p.MaxRoomMembers <= 0 || p.MaxSyncAuthors <= 0 {
		return errors.New("overlay: room limits must be > 0")
	}
	if p.MeshMax < 1 || p.MeshMax > MaxMeshMax {
		return fmt.Errorf("overlay: Room.MeshMax must be in 1..%d", MaxMeshMax)
	}
	return nil
}

// CapsParams are the tunables of capability reports, bandwidth probes
// and telemetry.
type CapsParams struct {
	// CapsInterval is how often a member measures its upload again.
	CapsInterval time.Duration
	// ReportInterval is how often a member publishes its report.
	ReportInterval time.Duration
	// ProbeBytes is how much one probe sends (f2f room probe, reports).
	ProbeBytes int
	// ProbeTime bounds one probe: on a slow uplink it measures what it
	// sent by then.
	ProbeTime time.Duration
	// MaxProbeBytes is the most a peer may send in one probe to the node.
	MaxProbeBytes int
	// ProbePeers is how many members a report's upload figure is measured
	// against.
	ProbePeers int
	// ProbeRate and ProbeBurst bound the probes the node serves per peer
	// (per second); ProbeConcurrency bounds those it serves at once.
	ProbeRate        float64
	ProbeBurst       int
	ProbeConcurrency int
	// TelemetryInterval is how often a member publishes its network
	// activity summary.
	TelemetryInterval time.Duration
	// UploadLimit, when positive, caps the probe's sending rate (bytes/s):
	// it simulates a slow uplink in tests and demos.
	UploadLimit float64
	// CodecMicros, when positive, is reported instead of the codec
	// benchmark's time: tests of the election by uplink fix it, because in
	// a loaded, race-built process the benchmark varies by more than the
	// uplinks they compare.
	CodecMicros uint64
}

// DefaultCapsParams returns the default report, probe and telemetry
// tunables.
func DefaultCapsParams() CapsParams {
	return CapsParams{
		CapsInterval:      5 * time.Minute,
		ReportInterval:    10 * time.Second,
		ProbeBytes:        2 << 20,
		ProbeTime:         5 * time.Second,
		MaxProbeBytes:     16 << 20,
		ProbePeers:        3,
		ProbeRate:         0.2,
		ProbeBurst:        3,
		ProbeConcurrency:  2,
		TelemetryInterval: 5 * time.Second,
	}
}

func (p CapsParams) validate() error {
	if p.CapsInterval <= 0 || p.ReportInterval <= 0 || p.ProbeTime <= 0 || p.TelemetryInterval <= 0 {
		return errors.New("overlay: Caps intervals must be > 0")
	}
	if p.ProbeBytes <= 0 || p.MaxProbeBytes < p.ProbeBytes || p.ProbePeers <= 0 || p.ProbeRate <= 0 ||
		p.ProbeBurst <= 0 || p.ProbeConcurrency <= 0 || p.UploadLimit < 0 {
		return errors.New("overlay: bad probe limits")
	}
	return nil
}

// DefaultParams returns the default tunables.
func DefaultParams() Params {
	return Params{Room: DefaultRoomParams(), Election: election.DefaultParams(), Caps: DefaultCapsParams()}
}

func (p Params) validate() error {
	if err := p.Room.validate(); err != nil {
		return err
	}
	if err := p.Election.Validate(); err != nil {
		return err
	}
	if err := p.Caps.validate(); err != nil {
		return err
	}
	if p.Caps.ProbeTime >= p.Room.StreamTimeout {
		return errors.New("overlay: Caps.ProbeTime must be shorter than Room.StreamTimeout")
	}
	return nil
}

type config struct {
	params     Params
	log        *slog.Logger
	events     EventSink
	reach      func() Reachability
	turn       func() []string
	dropFilter DropFilter
	activity   Activity
}

// DropFilter decides, for a message received on a topic from a peer,
// whether to drop it: tests use it to lose messages.
type DropFilter func(topic string, from peer.ID) bool

// WithDropFilter drops the control and telemetry messages f selects as
// they arrive (a lossy network for tests; nil: none).
func WithDropFilter(f DropFilter) Option {
	return func(c *config) error { c.dropFilter = f; return nil }
}

// WithReachability tells capability reports the node's reachability
// (node wires AutoNAT's).
func WithReachability(f func() Reachability) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("overlay: nil reachability")
		}
		c.reach = f
		return nil
	}
}

// WithTURN tells capability reports the addresses ("ip:port") of the
// STUN and TURN server the node runs for its rooms (none: nil).
func WithTURN(f func() []string) Option {
	return func(c *config) error { c.turn = f; return nil }
}

// Option configures New.
type Option func(*config) error

// WithParams replaces the default tunables.
func WithParams(p Params) Option { return func(c *config) error { c.params = p; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("overlay: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithEvents sets where events go.
func WithEvents(f EventSink) Option { return func(c *config) error { c.events = f; return nil } }

// Stats counts what the validators and the history sync dropped, by reason.
type Stats struct {
	Accepted  uint64 `json:"accepted"`
	Malformed uint64 `json:"malformed"`
	Oversize  uint64 `json:"oversize"`
	BadSig    uint64 `json:"bad_signature"`
	Foreign   uint64 `json:"foreign"`
	Replayed  uint64 `json:"replayed"`
	RateLimit uint64 `json:"rate_limited"`
	Synced    uint64 `json:"synced"`
	// ClockJump counts chat envelopes whose Lamport time was more than
	// MaxLamportJump ahead of the room's clock.
	ClockJump uint64 `json:"clock_jump"`
	// ElectIgnored counts election messages and reports ignored: from a
	// peer that is not a present member, or with a term too far ahead.
	ElectIgnored uint64 `json:"elect_ignored"`
	// NewAuthor counts messages ignored because their forwarder brought
	// in more new authors than it may (or the room was full).
	NewAuthor uint64 `json:"new_author_limited"`
	// VotesDirect and VotesPublished count the election votes taken:
	// straight from the voter (VoteProtocol) and from the control topic
	// (the fallback).
	VotesDirect    uint64 `json:"votes_direct"`
	VotesPublished uint64 `json:"votes_published"`
}

type counters struct {
	accepted, malformed, oversize, badSig, foreign, replayed, rateLimit, synced, clockJump, electIgnored, newAuthor, votesDirect, votesPublished atomic.Uint64
}

// Service runs the node's rooms: rendezvous through the DHT, GossipSub
// topics with validators, chat, presence, password-room authentication and
// history sync.
//
// Concurrency: mu guards rooms; each room guards its own state with its
// own mutex. Every goroutine runs under the service's or a room's context
// and is tracked by wg; Close cancels and waits.
type Service struct {
	h      host.Host
	ps     *pubsub.PubSub
	rv     Rendezvous
	store  *Store
	sk     crypto.PrivKey
	params Params
	log    *slog.Logger
	events EventSink
	stats  counters

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// ingestCh feeds ingestLoop, the single writer of received envelopes.
	ingestCh chan *ingestJob
	// ingestDone is closed when ingestLoop has returned.
	ingestDone chan struct{}

	mu    sync.Mutex
	rooms map[string]*room // by hash
	// secrets holds the derived secrets of stored rooms that are not
	// joined (a joined room has its own): a password room's cost Argon2id,
	// which Log would otherwise run on every call.
	secrets map[string]*RoomSecrets

	// fileMu guards fileRooms: for every file CID (KeyString) shared in a
	// stored room, the rooms (by hash) it was shared in and whether each
	// is a password room. It serves the file access policy.
	fileMu    sync.Mutex
	fileRooms map[string]map[string]bool
	closed    bool

	started     time.Time
	reach       func() Reachability
	turn        func() []string
	dropFilter  DropFilter
	activity    Activity
	codecOnce   sync.Once
	codecUS     uint64
	probeSem    chan struct{}
	voteSem     chan struct{} // handleVote's slots
	probeLimits *peerLimits
	// historyLimits and historySem bound the history answers served.
	historyLimits *peerLimits
	historySem    chan struct{}
	// fwdLimits and newAuthorLimits bound, per forwarding peer, what
	// gossip may make the node check and store; penalties feed the
	// GossipSub application score.
	fwdLimits       *peerLimits
	newAuthorLimits *peerLimits
	penalties       *penalties
}

// codecMicros is the codec benchmark, run once.
func (s *Service) codecMicros() uint64 {
	s.codecOnce.Do(func() {
		if s.params.Caps.CodecMicros > 0 {
			s.codecUS = s.params.Caps.CodecMicros
			return
		}
		s.codecUS = codecBenchmark()
	})
	return s.codecUS
}

// New starts the room service and its stream handlers on h. ps must have
// been built with a peer filter that calls AllowPeer.
func New(h host.Host, ps *pubsub.PubSub, rv Rendezvous, store *Store, sk crypto.PrivKey, opts ...Option) (*Service, error) {
	c := config{params: DefaultParams(), log: slog.Default(), events: func(string, any) {},
		reach: func() Reachability { return ReachUnknown }}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if err := c.params.validate(); err != nil {
		return nil, err
	}
	if h == nil || ps == nil || rv == nil || store == nil || sk == nil {
		return nil, errors.New("overlay: nil dependency")
	}
	s := &Service{h: h, ps: ps, rv: rv, store: store, sk: sk, params: c.params, log: c.log,
		events: c.events, rooms: map[string]*room{}, ingestCh: make(chan *ingestJob, maxIngestBatch), ingestDone: make(chan struct{}),
		started: time.Now(), reach: c.reach, turn: c.turn, dropFilter: c.dropFilter, activity: c.activity,
		probeSem: make(chan struct{}, c.params.Caps.ProbeConcurrency), voteSem: make(chan struct{}, maxVoteHandlers), probeLimits: newPeerLimits(c.params.Caps.ProbeRate, c.params.Caps.ProbeBurst),
		historyLimits:   newPeerLimits(c.params.Room.HistoryRate, c.params.Room.HistoryBurst),
		historySem:      make(chan struct{}, c.params.Room.HistoryConcurrency),
		fwdLimits:       newPeerLimits(c.params.Room.ForwardRate, c.params.Room.ForwardBurst),
		newAuthorLimits: newPeerLimits(c.params.Room.NewAuthorRate, c.params.Room.NewAuthorBurst),
		penalties:       newPenalties()}
	if err := s.loadFileRooms(context.Background()); err != nil {
		s.log.Warn("load shared files", "err", err)
	}
	// Connections opening, closing or turning limited change who the
	// rooms' elections count as alive.
	conns, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.BufSize(64))
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.ingestLoop()
	}()
	go func() {
		defer s.wg.Done()
		defer conns.Close()
		for {
			select {
			case <-conns.Out():
				s.mu.Lock()
				for _, r := range s.rooms {
					r.el.invalidateAlive()
				}
				s.mu.Unlock()
			case <-s.ctx.Done():
				return
			}
		}
	}()
	h.SetStreamHandler(AuthProtocol, s.handleAuth)
	h.SetStreamHandler(HistoryProtocol, s.handleHistory)
	h.SetStreamHandler(ProbeProtocol, s.handleProbe)
	h.SetStreamHandler(VoteProtocol, s.handleVote)
	return s, nil
}

// Restore rejoins the rooms that were joined when the node last stopped.
func (s *Service) Restore(ctx context.Context) error {
	recs, err := s.store.Rooms(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		if !r.Joined {
			continue
		}
		if _, err := s.Join(ctx, r.Key, r.Password); err != nil {
			errs = append(errs, fmt.Errorf("rejoin %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Goodbye announces the leave in every joined room (the others then see
// "left" rather than a member going quiet) as the node shuts down; the
// rooms stay joined, and Restore announces the join again. The node calls
// it while GossipSub still runs, and gives the messages a moment to leave.
func (s *Service) Goodbye(ctx context.Context) int {
	s.mu.Lock()
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	var (
		wg   sync.WaitGroup
		sent atomic.Int32
	)
	for _, r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.publishChat(ctx, KindLeave, []byte(r.nickname())); err != nil {
				s.log.Debug("leave announcement at shutdown", "room", r.hash, "err", err)
				return
			}
			if len(r.chat.ListPeers()) > 0 {
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(sent.Load())
}

// Close leaves no goroutine behind; rooms stay joined in the store so that
// Restore rejoins them.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.rooms = map[string]*room{}
	s.mu.Unlock()
	s.h.RemoveStreamHandler(AuthProtocol)
	s.h.RemoveStreamHandler(HistoryProtocol)
	s.h.RemoveStreamHandler(ProbeProtocol)
	s.h.RemoveStreamHandler(VoteProtocol)
	s.cancel()
	for _, r := range rooms {
		r.stop()
	}
	s.wg.Wait()
	return nil
}

// Stats returns the drop counters.
func (s *Service) Stats() Stats {
	c := &s.stats
	return Stats{Accepted: c.accepted.Load(), Malformed: c.malformed.Load(), Oversize: c.oversize.Load(),
		BadSig: c.badSig.Load(), Foreign: c.foreign.Load(), Replayed: c.replayed.Load(),
		RateLimit: c.rateLimit.Load(), Synced: c.synced.Load(), ClockJump: c.clockJump.Load(), ElectIgnored: c.electIgnored.Load(), NewAuthor: c.newAuthor.Load(),
		VotesDirect: c.votesDirect.Load(), VotesPublished: c.votesPublished.Load()}
}

// RoomInfo describes a room (`f2f room ls`).
type RoomInfo struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Hash     string `json:"hash"`
	Password bool   `json:"password"`
	Joined   bool   `json:"joined"`
	Nick     string `json:"nick"`
	Members  int    `json:"members"`
	Messages int    `json:"messages"`
}

// Create makes a new room (a password room when password is not empty),
// joins it and returns it; its Key is what others need to join.
func (s *Service) Create(ctx context.Context, name, password string) (RoomInfo, error) {
	key, _, err := NewRoomKey(name, password)
	if err != nil {
		return RoomInfo{}, err
	}
	return s.Join(ctx, key.String(), password)
}

// Join joins the room of key: it checks the password, stores the room,
// subscribes to its topics and starts finding members through the DHT. A
// wrong password fails at once with ErrWrongPassword. Joining a joined room
// returns it unchanged.
func (s *Service) Join(ctx context.Context, keyStr, password string) (RoomInfo, error) {
	key, err := ParseRoomKey(strings.TrimSpace(keyStr))
	if err != nil {
		return RoomInfo{}, err
	}
	sec, err := key.Secrets(password)
	if err != nil {
		return RoomInfo{}, err
	}
	hash := sec.Hash()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return RoomInfo{}, ErrServiceClosed
	}
	if r, ok := s.rooms[hash]; ok {
		s.mu.Unlock()
		return r.info(ctx), nil
	}
	s.mu.Unlock()

	rec, err := s.store.Room(ctx, hash)
	switch {
	case errors.Is(err, ErrNoRoom):
		rec = RoomRecord{Hash: hash, Key: key.String(), Name: key.Name, Password: password,
			Nick: defaultNick(s.h.ID()), CreatedAt: time.Now().UTC()}
	case err != nil:
		return RoomInfo{}, err
	}
	rec.Joined = true
	rec.Password = password
	if err := s.store.SaveRoom(ctx, rec); err != nil {
		return RoomInfo{}, err
	}
	r, err := s.startRoom(ctx, key, sec, rec)
	if err != nil {
		_ = s.store.SetJoined(ctx, hash, false)
		return RoomInfo{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		r.stop()
		return RoomInfo{}, ErrServiceClosed
	}
	if other, ok := s.rooms[hash]; ok { // a concurrent Join won
		s.mu.Unlock()
		r.stop()
		return other.info(ctx), nil
	}
	s.rooms[hash] = r
	s.mu.Unlock()
	r.run()
	s.events(EventRoomJoined, map[string]string{"room": hash, "name": key.Name})
	return r.info(ctx), nil
}

// Leave announces the leave, stops the room and marks it not joined. Its
// log stays.
func (s *Service) Leave(ctx context.Context, ref string) error {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.rooms, r.hash)
	s.mu.Unlock()
	if _, err := r.publishChat(ctx, KindLeave, []byte(r.nickname())); err != nil {
		s.log.Debug("leave announcement", "room", r.hash, "err", err)
	}
	r.stop()
	if err := s.store.SetJoined(ctx, r.hash, false); err != nil {
		return err
	}
	s.events(EventRoomLeft, map[string]string{"room": r.hash, "name": r.key.Name})
	return nil
}

// Rooms lists the known rooms, joined or not.
func (s *Service) Rooms(ctx context.Context) ([]RoomInfo, error) {
	recs, err := s.store.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	_ = s.flushIngest(ctx) // the counts below include what was taken in
	out := make([]RoomInfo, 0, len(recs))
	for _, rec := range recs {
		s.mu.Lock()
		r := s.rooms[rec.Hash]
		s.mu.Unlock()
		if r != nil {
			out = append(out, r.infoStored(ctx))
			continue
		}
		n, _ := s.store.Count(ctx, rec.Hash)
		out = append(out, RoomInfo{Key: rec.Key, Name: rec.Name, Hash: rec.Hash, Password: rec.Password != "",
			Joined: false, Nick: rec.Nick, Messages: n})
	}
	return out, nil
}

// resolve finds a stored room by key, hash or unique name.
func (s *Service) resolve(ctx context.Context, ref string) (RoomRecord, error) {
	ref = strings.TrimSpace(ref)
	recs, err := s.store.Rooms(ctx)
	if err != nil {
		return RoomRecord{}, err
	}
	// A name means the joined room of that name; a room left earlier only
	// when no joined room has it.
	var byName, joinedByName []RoomRecord
	for _, r := range recs {
		if r.Key == ref || r.Hash == ref {
			return r, nil
		}
		if r.Name == ref {
			byName = append(byName, r)
			if r.Joined {
				joinedByName = append(joinedByName, r)
			}
		}
	}
	switch {
	case len(joinedByName) == 1:
		return joinedByName[0], nil
	case len(joinedByName) > 1:
		return RoomRecord{}, fmt.Errorf("%w %q: you joined %d rooms with that name; give the room key (f2f room ls)", ErrAmbiguousRoom, ref, len(joinedByName))
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		return RoomRecord{}, fmt.Errorf("%w %q: %d rooms you left have it; give the room key (f2f room ls)", ErrAmbiguousRoom, ref, len(byName))
	}
	return RoomRecord{}, fmt.Errorf("%w %q (give its key, or the name of a room you joined)", ErrUnknownRoom, ref)
}

// Forget drops a room and its chat log from this node, leaving it first
// when joined. The files shared in a password room stay restricted to that
// room (so served to nobody) rather than becoming public.
func (s *Service) Forget(ctx context.Context, ref string) (RoomInfo, error) {
	rec, err := s.resolve(ctx, ref)
	if err != nil {
		return RoomInfo{}, err
	}
	if s.roomByHash(rec.Hash) != nil {
		if err := s.Leave(ctx, rec.Hash); err != nil {
			return RoomInfo{}, err
		}
	}
	if err := s.flushIngest(ctx); err != nil { // nothing of the room written after it is deleted
		return RoomInfo{}, err
	}
	var keep [][]byte
	if rec.Password != "" {
		sec, err := s.secretsOf(rec)
		if err != nil {
			return RoomInfo{}, err
		}
		msgs, err := s.store.FileMessages(ctx, rec.Hash)
		if err != nil {
			return RoomInfo{}, err
		}
		for _, m := range msgs {
			if body, err := sec.Open(m.Env.Body, []byte(rec.Hash)); err == nil {
				if l, err := decodeFileLink(body); err == nil {
					keep = append(keep, l.CID.Bytes())
				}
			}
		}
	}
	n, _ := s.store.Count(ctx, rec.Hash)
	if err := s.store.DeleteRoom(ctx, rec.Hash, keep); err != nil {
		return RoomInfo{}, err
	}
	s.mu.Lock()
	delete(s.secrets, rec.Hash)
	s.mu.Unlock()
	s.events(EventRoomForgotten, map[string]string{"room": rec.Hash, "name": rec.Name})
	return RoomInfo{Key: rec.Key, Name: rec.Name, Hash: rec.Hash, Password: rec.Password != "", Messages: n}, nil
}

func (s *Service) joined(ctx context.Context, ref string) (*room, error) {
	if r := s.joinedInMemory(strings.TrimSpace(ref)); r != nil {
		return r, nil
	}
	rec, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServiceClosed
	}
	r, ok := s.rooms[rec.Hash]
	if !ok {
		return nil, fmt.Errorf("%w %q (join it again with its key)", ErrNotJoined, rec.Name)
	}
	return r, nil
}

// joinedInMemory is joined's answer without the store, when ref is the
// key or hash of a joined room or the name of exactly one (as resolve
// decides); nil otherwise (then resolve decides, and words the error).
// Every message sent names its room: reading the room list from SQLite
// took 0.3 ms of each send's path to the members (issue 19).
func (s *Service) joinedInMemory(ref string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var byName *room
	named := 0
	for _, r := range s.rooms {
		if r.hash == ref || r.keyStr == ref {
			return r
		}
		if r.key.Name == ref {
			byName = r
			named++
		}
	}
	// A name that could be another (left) room's key or hash is left to
	// resolve, where keys and hashes come first.
	if named == 1 && len(ref) != len(byName.hash) {
		if _, err := ParseRoomKey(ref); err != nil {
			return byName
		}
	}
	return nil
}

func (s *Service) roomByHash(hash string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[hash]
}

// AllowPeer is the GossipSub peer filter: a password room's topics flow only
// to and from members that proved the room key over AuthProtocol; other
// topics are not filtered here.
func (s *Service) AllowPeer(p peer.ID, topic string) bool {
	hash, ok := topicRoom(topic)
	if !ok {
		return true
	}
	r := s.roomByHash(hash)
	if r == nil {
		return true // not ours: nothing of it flows through us anyway
	}
	return !r.sec.Encrypted() || r.isProven(p)
}

// MemberInfo describes one member of a room (`f2f room peers`).
type MemberInfo struct {
	ID        string    `json:"id"`
	Nick      string    `json:"nick"`
	Connected bool      `json:"connected"`
	RTTMS     float64   `json:"rtt_ms"`
	LastSeen  time.Time `json:"last_seen"`
	Gone      bool      `json:"gone"`
	Proven    bool      `json:"proven"`
}

// Peers lists the members the node knows of in a room, itself excluded.
func (s *Service) Peers(ctx context.Context, ref string) ([]MemberInfo, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return nil, err
	}
	return r.memberList(), nil
}

// ChatMessage is one entry of a room's log as users see it.
type ChatMessage struct {
	Room    string    `json:"room"`
	Author  string    `json:"author"`
	Nick    string    `json:"nick"`
	Seq     uint64    `json:"seq"`
	Lamport uint64    `json:"lamport"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Text    string    `json:"text"`
	// File is the shared file of a "file" message.
	File *FileLink `json:"file,omitempty"`
	// Stage is the change of a "stage" message (Text describes it).
	Stage *StageOp `json:"stage,omitempty"`
}

// newChatMessage builds the ChatMessage of an envelope with its decrypted
// body. A file message's body is its link; one that does not parse (it was
// validated when received, so only a damaged store could hold one) is
// shown with an empty link rather than dropped.
func newChatMessage(env *Envelope, nick string, body []byte) ChatMessage {
	cm := ChatMessage{Room: env.Room, Author: env.Author.String(), Nick: nick, Seq: env.Seq, Lamport: env.Lamport,
		Time: time.UnixMilli(env.Time).UTC(), Kind: env.Kind.String()}
	if env.Kind == KindFile {
		if l, err := decodeFileLink(body); err == nil {
			cm.File = &l
			cm.Text = l.Name
		}
		return cm
	}
	if env.Kind == KindStage {
		if op, err := decodeStageOp(body); err == nil {
			cm.Stage = &op
			cm.Text = stageText(op)
		}
		return cm
	}
	cm.Text = string(body)
	return cm
}

// Log returns a room's log in its deterministic order (Lamport time, author,
// seq), from since on (zero: all) and at most the last limit entries (0: all).
func (s *Service) Log(ctx context.Context, ref string, since time.Time, limit int) ([]ChatMessage, error) {
	rec, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	sec, err := s.secretsOf(rec)
	if err != nil {
		return nil, err
	}
	// The page comes from SQL (--since, --limit); the nicknames its authors
	// had at each message come from the nick and join messages, walked in
	// the same order alongside it.
	if err := s.flushIngest(ctx); err != nil {
		return nil, err
	}
	msgs, err := s.store.Log(ctx, rec.Hash, since, limit)
	if err != nil {
		return nil, err
	}
	nickMsgs, err := s.store.NickMessages(ctx, rec.Hash)
	if err != nil {
		return nil, err
	}
	nicks := map[peer.ID]string{}
	j := 0
	out := make([]ChatMessage, 0, len(msgs))
	for _, m := range msgs {
		for ; j < len(nickMsgs) && logBefore(nickMsgs[j].Env, m.Env); j++ {
			decodeChat(sec, nickMsgs[j].Env, nicks)
		}
		if j < len(nickMsgs) && nickMsgs[j].Env.Author == m.Env.Author && nickMsgs[j].Env.Seq == m.Env.Seq {
			j++ // this very message: decoded below
		}
		cm, ok := decodeChat(sec, m.Env, nicks)
		if !ok {
			continue
		}
		out = append(out, cm)
	}
	return out, nil
}

// logBefore reports whether a comes before b in the log's deterministic
// order (lamport, author, seq).
func logBefore(a, b *Envelope) bool {
	if a.Lamport != b.Lamport {
		return a.Lamport < b.Lamport
	}
	if a.Author != b.Author {
		return a.Author.String() < b.Author.String() // the store orders the text form
	}
	return a.Seq < b.Seq
}

// secretsOf returns a stored room's secrets: the joined room's own, else
// derived once and kept.
func (s *Service) secretsOf(rec RoomRecord) (*RoomSecrets, error) {
	s.mu.Lock()
	if r, ok := s.rooms[rec.Hash]; ok {
		s.mu.Unlock()
		return r.sec, nil
	}
	if sec, ok := s.secrets[rec.Hash]; ok {
		s.mu.Unlock()
		return sec, nil
	}
	s.mu.Unlock()
	key, err := ParseRoomKey(rec.Key)
	if err != nil {
		return nil, err
	}
	sec, err := key.Secrets(rec.Password)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.secrets == nil {
		s.secrets = map[string]*RoomSecrets{}
	}
	s.secrets[rec.Hash] = sec
	s.mu.Unlock()
	return sec, nil
}

// decodeChat turns a stored envelope into a ChatMessage, tracking nicknames
// in nicks as the log goes.
func decodeChat(sec *RoomSecrets, e *Envelope, nicks map[peer.ID]string) (ChatMessage, bool) {
	body, err := sec.Open(e.Body, []byte(e.Room))
	if err != nil {
		return ChatMessage{}, false
	}
	nick := nicks[e.Author]
	if nick == "" {
		nick = defaultNick(e.Author)
	}
	cm := newChatMessage(e, nick, body)
	switch e.Kind {
	case KindNick:
		nicks[e.Author] = string(body)
	case KindJoin:
		if len(body) > 0 {
			nicks[e.Author] = string(body)
			cm.Nick = string(body)
		}
	}
	return cm, true
}

func defaultNick(id peer.ID) string {
	s := id.String()
	if len(s) > 6 {
		s = s[len(s)-6:]
	}
	return "peer-" + s
}

// Send sends text to a room as a chat message, as it is (commands are
// parsed by the caller: api.ParseChat). The message is stored
// (acknowledged) before it is published.
func (s *Service) Send(ctx context.Context, ref, text string) (ChatMessage, error) {
	return s.sendKind(ctx, ref, KindChat, text)
}

// Me sends an action ("* nick ACTION").
func (s *Service) Me(ctx context.Context, ref, action string) (ChatMessage, error) {
	return s.sendKind(ctx, ref, KindMe, action)
}

// SetNick changes the node's nickname in a room: it sends a nick message
// and keeps the name for the room.
func (s *Service) SetNick(ctx context.Context, ref, nick string) (ChatMessage, error) {
	cm, err := s.sendKind(ctx, ref, KindNick, nick)
	if err != nil {
		return cm, err
	}
	r, err := s.joined(ctx, ref)
	if err != nil {
		return cm, err
	}
	if err := s.store.SetNick(ctx, r.hash, nick); err != nil {
		return cm, err
	}
	r.setNick(nick)
	return cm, nil
}

func (s *Service) sendKind(ctx context.Context, ref string, kind Kind, body string) (ChatMessage, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return ChatMessage{}, err
	}
	if err := ValidText(kind, []byte(body)); err != nil {
		return ChatMessage{}, err
	}
	return r.publishChat(ctx, kind, []byte(body))
}

// WhoText is a room's member list as /who prints it.
func (s *Service) WhoText(ctx context.Context, ref string) (string, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return "", err
	}
	return r.whoText(), nil
}

// connectedness reports whether p is connected.
func (s *Service) connected(p peer.ID) bool {
	return s.h.Network().Connectedness(p) == network.Connected
}

func sortedMembers(m map[peer.ID]*member) []peer.ID {
	ids := make([]peer.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
