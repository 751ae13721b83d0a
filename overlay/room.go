package overlay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Topic names (DESIGN.md, "Wire names").
func chatTopic(hash string) string    { return "f2f/" + hash + "/chat" }
func controlTopic(hash string) string { return "f2f/" + hash + "/control" }

// topicRoom returns the room hash of a face2face topic name.
func topicRoom(topic string) (string, bool) {
	parts := strings.Split(topic, "/")
	if len(parts) != 3 || parts[0] != "f2f" || len(parts[1]) != 32 {
		return "", false
	}
	return parts[1], true
}

type member struct {
	nick     string
	lastSeen time.Time
	gone     bool
	left     bool
	// unsubscribedSince is when the member was first seen connected but
	// missing from the chat topic's peers (zero: not so); reconnected is set
	// when repairTopicPeers reconnected it, until it is in the topic again.
	unsubscribedSince time.Time
	reconnected       bool
	// redialed is when redialLost last dialed the member.
	redialed time.Time
}

// sizeScaleFrom is the room size (live members, the node included) above
// which announcements, reports and telemetry are sent less often;
// sizeScaleMax caps the size counted.
const (
	sizeScaleFrom = 10
	sizeScaleMax  = 100
)

// sizeScaled is d in a room of up to sizeScaleFrom live members, and d
// times live/sizeScaleFrom in a larger one (at most sizeScaleMax/
// sizeScaleFrom times).
func sizeScaled(d time.Duration, live int) time.Duration {
	return d * time.Duration(min(max(live, sizeScaleFrom), sizeScaleMax)) / sizeScaleFrom
}

// liveMembers is the number of members the election counts (connected,
// subscribed and not gone, the node included): members that only a
// forged envelope claims do not make the node quieter. Not under r.mu.
func (r *room) liveMembers() int { return len(r.el.alive()) }

// redialEvery is how often a present member the node lost its connection
// to is dialed again (its relay died, say), until it is back or gone.
const redialEvery = 5 * time.Second

// resubscribeAfter is how long a connected member may be missing from the
// chat topic's peers before repairTopicPeers reconnects to it.
const resubscribeAfter = 10 * time.Second

// room is one joined room. Concurrency: mu guards the mutable fields; the
// goroutines run under ctx, tracked by the service's WaitGroup and by wg,
// which stop waits for.
type room struct {
	s      *Service
	key    RoomKey
	keyStr string // key.String(), to find the room by it
	sec    *RoomSecrets
	hash   string

	chat, control       *pubsub.Topic
	chatSub, controlSub *pubsub.Subscription
	chatEvents          *pubsub.TopicEventHandler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// takeInMu keeps the chat validator's take-ins of one room in one
	// order (GossipSub validates concurrently): the order in which their
	// checks passed, which is the order GossipSub then delivers in.
	takeInMu sync.Mutex

	mu       sync.Mutex
	nick     string
	seq      uint64
	lamport  uint64
	presence uint64
	lastSent time.Time // when this node last published a chat-topic envelope
	lastLive time.Time // when it last published a live one (any topic; not direct votes)
	members  map[peer.ID]*member
	proven   map[peer.ID]bool
	authing  map[peer.ID]bool      // reprove runs for these
	admitted map[peer.ID]time.Time // new authors admitted recently (admit)
	limits   *peerLimits           // per author
	syncing  map[peer.ID]bool
	// stored holds, per author, the seqs in the store (the history-sync
	// high-water marks); known holds those plus the ones accepted by the
	// validator and on their way to the store (the replay check).
	stored, known map[peer.ID]*seqSet

	el           *roomElection
	telemetry    *pubsub.Topic
	telemetrySub *pubsub.Subscription
	tel          map[peer.ID]memberTelemetry // guarded by mu

	// synced is closed after the first history sync with a member.
	synced     chan struct{}
	syncedOnce sync.Once
}

// rejoinSyncWait is how long a node that has sent in a room before waits
// for a first history sync before it announces its join (see run).
const rejoinSyncWait = 5 * time.Second

func (s *Service) startRoom(ctx context.Context, key RoomKey, sec *RoomSecrets, rec RoomRecord) (_ *room, err error) {
	if err := s.flushIngest(ctx); err != nil { // what the room took in when it was joined before
		return nil, err
	}
	seq, err := s.store.MaxSeq(ctx, rec.Hash, s.h.ID())
	if err != nil {
		return nil, err
	}
	lamport, err := s.store.MaxLamport(ctx, rec.Hash)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.seqSets(ctx, rec.Hash)
	if err != nil {
		return nil, err
	}
	known := make(map[peer.ID]*seqSet, len(stored))
	for a, set := range stored {
		known[a] = set.clone()
	}
	r := &room{s: s, key: key, keyStr: key.String(), sec: sec, hash: rec.Hash, nick: rec.Nick, seq: seq, lamport: lamport,
		members: map[peer.ID]*member{}, proven: map[peer.ID]bool{}, authing: map[peer.ID]bool{}, admitted: map[peer.ID]time.Time{}, limits: newPeerLimits(s.params.Room.AuthorRate, s.params.Room.AuthorBurst),
		syncing: map[peer.ID]bool{}, stored: stored, known: known, synced: make(chan struct{})}
	if r.el, err = newRoomElection(r); err != nil {
		return nil, err
	}
	r.tel = map[peer.ID]memberTelemetry{}
	r.ctx, r.cancel = context.WithCancel(s.ctx)
	defer func() {
		if err != nil {
			r.stop()
		}
	}()
	if err := s.ps.RegisterTopicValidator(chatTopic(r.hash), r.validateChat); err != nil {
		return nil, fmt.Errorf("chat validator: %w", err)
	}
	if err := s.ps.RegisterTopicValidator(controlTopic(r.hash), r.validateControl); err != nil {
		return nil, fmt.Errorf("control validator: %w", err)
	}
	if err := s.ps.RegisterTopicValidator(telemetryTopic(r.hash), r.validateTelemetry); err != nil {
		return nil, fmt.Errorf("telemetry validator: %w", err)
	}
	if r.chat, err = s.ps.Join(chatTopic(r.hash)); err != nil {
		return nil, fmt.Errorf("join chat topic: %w", err)
	}
	if r.control, err = s.ps.Join(controlTopic(r.hash)); err != nil {
		return nil, fmt.Errorf("join control topic: %w", err)
	}
	if r.telemetry, err = s.ps.Join(telemetryTopic(r.hash)); err != nil {
		return nil, fmt.Errorf("join telemetry topic: %w", err)
	}
	if r.chatEvents, err = r.chat.EventHandler(); err != nil {
		return nil, err
	}
	// A deep buffer: a burst waits here for the writer instead of being
	// dropped by pubsub (history sync would fetch it later).
	if r.chatSub, err = r.chat.Subscribe(pubsub.WithBufferSize(1024)); err != nil {
		return nil, err
	}
	if r.controlSub, err = r.control.Subscribe(); err != nil {
		return nil, err
	}
	if r.telemetrySub, err = r.telemetry.Subscribe(); err != nil {
		return nil, err
	}
	for _, t := range []*pubsub.Topic{r.chat, r.control, r.telemetry} {
		if err := t.SetScoreParams(topicScoreParams()); err != nil {
			s.log.Debug("topic score parameters (is peer scoring on?)", "topic", t.String(), "err", err)
		}
	}
	return r, nil
}

// run starts the room's loops and announces the join.
func (r *room) run() {
	r.goroutine(r.chatLoop)
	r.goroutine(r.controlLoop)
	r.goroutine(r.peerEventLoop)
	r.goroutine(r.advertiseLoop)
	r.goroutine(r.discoverLoop)
	r.goroutine(r.presenceLoop)
	r.goroutine(func() { r.el.run(r.ctx) })
	r.goroutine(r.capsLoop)
	r.goroutine(r.telemetryLoop)
	r.goroutine(r.telemetryRecvLoop)
	r.goroutine(func() {
		// A node that sent here before first asks a member for the
		// history: its store may lack its last own messages (a power loss
		// between publishing one and its sync to disk, an old backup), and
		// a join sent under a number the members hold would be dropped by
		// them as a replay. History sync brings them back (takeIn) and
		// the join follows them.
		r.mu.Lock()
		rejoin := r.seq > 0
		r.mu.Unlock()
		if rejoin {
			t := time.NewTimer(rejoinSyncWait)
			select {
			case <-r.synced:
			case <-t.C:
			case <-r.ctx.Done():
			}
			t.Stop()
		}
		if _, err := r.publishChat(r.ctx, KindJoin, []byte(r.nickname())); err != nil && r.ctx.Err() == nil {
			r.s.log.Warn("join announcement", "room", r.hash, "err", err)
		}
	})
}

func (r *room) goroutine(f func()) {
	r.wg.Add(1)
	r.s.wg.Add(1)
	go func() {
		defer r.s.wg.Done()
		defer r.wg.Done()
		f()
	}()
}

// stop ends the room's loops and leaves its topics.
func (r *room) stop() {
	r.cancel()
	if r.chatEvents != nil {
		r.chatEvents.Cancel()
	}
	if r.chatSub != nil {
		r.chatSub.Cancel()
	}
	if r.controlSub != nil {
		r.controlSub.Cancel()
	}
	if r.telemetrySub != nil {
		r.telemetrySub.Cancel()
	}
	r.wg.Wait()
	for _, t := range []*pubsub.Topic{r.chat, r.control, r.telemetry} {
		if t != nil {
			_ = t.Close()
		}
	}
	_ = r.s.ps.UnregisterTopicValidator(chatTopic(r.hash))
	_ = r.s.ps.UnregisterTopicValidator(controlTopic(r.hash))
	_ = r.s.ps.UnregisterTopicValidator(telemetryTopic(r.hash))
}

func (r *room) nickname() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nick
}

func (r *room) setNick(n string) {
	r.mu.Lock()
	r.nick = n
	r.mu.Unlock()
}

func (r *room) isProven(p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proven[p]
}

func (r *room) setProven(p peer.ID) {
	r.mu.Lock()
	r.proven[p] = true
	r.mu.Unlock()
}

// publishChat signs, publishes and stores one chat-topic envelope.
func (r *room) publishChat(ctx context.Context, kind Kind, text []byte) (ChatMessage, error) {
	body, err := r.sec.Seal(text, []byte(r.hash))
	if err != nil {
		return ChatMessage{}, err
	}
	r.mu.Lock()
	if r.lamport >= MaxLamport {
		r.mu.Unlock()
		return ChatMessage{}, fmt.Errorf("%w: the room's clock ran out", ErrUnstorable)
	}
	r.seq++
	r.lamport++
	env := &Envelope{Room: r.hash, Seq: r.seq, Lamport: r.lamport, Time: time.Now().UnixMilli(), Kind: kind, Body: body}
	r.markKnownLocked(r.s.h.ID(), env.Seq)
	addSeq(r.stored, r.s.h.ID(), env.Seq) // not taken in again if it comes back before its commit
	r.lastSent = time.Now()
	r.mu.Unlock()
	if err := env.Sign(r.s.sk); err != nil {
		return ChatMessage{}, err
	}
	raw, err := env.Marshal()
	if err != nil {
		return ChatMessage{}, err
	}
	// Published, committed, then flushed to disk: the members' copies wait
	// neither for this node's SQLite insert (which now and then took
	// 1-8 ms on a busy machine) nor for its fsync (1-20 ms); the caller's
	// answer waits for both. A node that dies before its commit gets its
	// message back from the members (the rejoin's history sync, see run).
	if err := r.chat.Publish(ctx, raw); err != nil {
		// Stored below and so acknowledged: history sync delivers it later.
		r.s.log.Debug("publish", "room", r.hash, "err", err)
	}
	_, durable, err := r.s.store.PutUnsynced(ctx, env, raw)
	if err != nil {
		return ChatMessage{}, fmt.Errorf("sent, but not stored here: %w", err)
	}
	cm := newChatMessage(env, r.nickname(), text)
	if kind == KindFile {
		r.s.noteFile(r, text)
	}
	r.s.events(EventChatMessage, cm)
	if err := durable(); err != nil {
		return ChatMessage{}, fmt.Errorf("sent, but not stored here: %w", err)
	}
	return cm, nil
}

// parseEnvelope is the cheap half of a received envelope's checks: size,
// encoding and room.
func (r *room) parseEnvelope(data []byte) (*Envelope, error) {
	c := &r.s.stats
	if len(data) > MaxEnvelopeSize {
		c.oversize.Add(1)
		return nil, ErrTooLarge
	}
	env, err := UnmarshalEnvelope(data)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			c.oversize.Add(1)
		} else {
			c.malformed.Add(1)
		}
		return nil, err
	}
	if env.Room != r.hash {
		c.foreign.Add(1)
		return nil, fmt.Errorf("envelope of another room")
	}
	return env, nil
}

// openEnvelope is the costly half: signature, decryption and text rules;
// it returns the plaintext body.
func (r *room) openEnvelope(env *Envelope) ([]byte, error) {
	c := &r.s.stats
	if err := env.Verify(); err != nil {
		c.badSig.Add(1)
		return nil, err
	}
	body, err := r.sec.Open(env.Body, []byte(r.hash))
	if err != nil {
		c.foreign.Add(1)
		return nil, err
	}
	if err := ValidText(env.Kind, body); err != nil {
		c.malformed.Add(1)
		return nil, err
	}
	return body, nil
}

// validateChat is the chat topic's validator: size, encoding, room,
// signature, decryption, text rules, a rate limit per author, and no replay
// of an (author, seq) already stored or on its way to the store. A replay is
// recognised before its signature is checked; only a verified envelope
// marks its (author, seq) known, so a forgery cannot shadow the real one.
func (r *room) validateChat(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if msg.ReceivedFrom == r.s.h.ID() {
		return pubsub.ValidationAccept // our own, built by publishChat
	}
	env, err := r.parseEnvelope(msg.Data)
	if err != nil {
		return pubsub.ValidationReject
	}
	// A member's own leave may be checked after its unsubscription
	// already ended its proof.
	if !r.fromProven(msg.ReceivedFrom) && !(env.Kind == KindLeave && env.Author == msg.ReceivedFrom) {
		return pubsub.ValidationIgnore
	}
	if !env.Kind.Stored() {
		r.s.stats.malformed.Add(1)
		return pubsub.ValidationReject
	}
	r.mu.Lock()
	seen := hasSeq(r.known, env.Author, env.Seq)
	clock := r.lamport
	r.mu.Unlock()
	if !seen && !lamportWithin(env.Lamport, clock) {
		// Not proof of malice (a new member's clock is 0 until history
		// arrives): ignored here, fetched by history sync in order.
		r.s.stats.clockJump.Add(1)
		return pubsub.ValidationIgnore
	}
	if !seen && !r.admit(msg.ReceivedFrom, env.Author) {
		return pubsub.ValidationIgnore
	}
	if seen {
		r.s.stats.replayed.Add(1)
		return pubsub.ValidationIgnore
	}
	body, err := r.openEnvelope(env)
	if err != nil {
		return pubsub.ValidationReject
	}
	if !r.allow(env.Author) {
		r.s.stats.rateLimit.Add(1)
		return pubsub.ValidationIgnore
	}
	// The first verified copy marks (author, seq) known, so a replay is
	// counted even when it arrives before the first copy is stored.
	r.mu.Lock()
	isNew := r.markKnownLocked(env.Author, env.Seq)
	r.mu.Unlock()
	if !isNew {
		r.s.stats.replayed.Add(1)
		return pubsub.ValidationIgnore
	}
	// Taken in here, where it is known good, rather than from the
	// subscription: its chat event does not wait for pubsub's event loop
	// and the room's reader to be scheduled behind the forwarding of the
	// same message on a busy machine.
	r.takeInMu.Lock()
	r.s.ingest(r.ctx, ingestItem{r: r, env: env, raw: msg.Data, body: body})
	r.takeInMu.Unlock()
	return pubsub.ValidationAccept
}

// validateControl is the control topic's validator (presence, capability
// reports, election).
func (r *room) validateControl(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	return r.validateLive(controlTopic(r.hash), msg, KindPresence, KindCaps, KindElect)
}

// validateLive checks a message of a live (not stored) topic (see
// checkLive).
func (r *room) validateLive(topic string, msg *pubsub.Message, kinds ...Kind) pubsub.ValidationResult {
	if msg.ReceivedFrom == r.s.h.ID() {
		return pubsub.ValidationAccept
	}
	env, body, res := r.checkLive(topic, msg.ReceivedFrom, msg.Data, kinds...)
	if res == pubsub.ValidationAccept {
		msg.ValidatorData = validated{env: env, body: body}
	}
	return res
}

// checkLive checks a live (not stored) envelope data that from forwarded
// on topic or sent directly: besides the envelope checks it must be of
// one of the kinds, fresh (within ControlMaxAge of the node's clock, so an
// old one cannot be replayed once it left pubsub's seen cache) and within
// the author's rate. It returns the envelope and its opened body when the
// verdict is accept.
func (r *room) checkLive(topic string, from peer.ID, data []byte, kinds ...Kind) (*Envelope, []byte, pubsub.ValidationResult) {
	if f := r.s.dropFilter; f != nil && f(topic, from) {
		return nil, nil, pubsub.ValidationIgnore
	}
	if !r.fromProven(from) {
		return nil, nil, pubsub.ValidationIgnore
	}
	env, err := r.parseEnvelope(data)
	if err != nil {
		return nil, nil, pubsub.ValidationReject
	}
	if !slices.Contains(kinds, env.Kind) {
		r.s.stats.malformed.Add(1)
		return nil, nil, pubsub.ValidationReject
	}
	if !r.admit(from, env.Author) {
		return nil, nil, pubsub.ValidationIgnore
	}
	body, err := r.openEnvelope(env)
	if err != nil {
		return nil, nil, pubsub.ValidationReject
	}
	if age := time.Since(time.UnixMilli(env.Time)); age > r.s.params.Room.ControlMaxAge || age < -r.s.params.Room.ControlMaxAge {
		r.s.stats.replayed.Add(1)
		return nil, nil, pubsub.ValidationIgnore
	}
	if !r.allow(env.Author) {
		r.s.stats.rateLimit.Add(1)
		return nil, nil, pubsub.ValidationIgnore
	}
	return env, body, pubsub.ValidationAccept
}

// fromProven reports whether a message forwarded by p may be taken: in a
// password room only from members that proved the key (the peer filter
// keeps others out of the mesh; this also covers a member who left).
func (r *room) fromProven(p peer.ID) bool {
	return !r.sec.Encrypted() || r.isProven(p)
}

type validated struct {
	env  *Envelope
	body []byte
}

func (r *room) allow(p peer.ID) bool { return r.limits.allow(p) }

// admit decides, before any signature is checked, whether the node takes
// on an envelope by author that the peer from forwarded: every peer may
// make the node verify and store at most Params.ForwardRate messages per
// second, and at most NewAuthorRate of authors the room has not seen yet
// (a peer that invents a key per message is held to that); a room tracks
// at most MaxRoomMembers members. What a peer forwards beyond that is
// ignored; each new author beyond its allowance also costs it a point of
// its GossipSub application score, so a peer that invents authors is soon
// graylisted.
func (r *room) admit(from, author peer.ID) bool {
	s := r.s
	if !s.fwdLimits.allow(from) {
		// A busy honest relay may get here too: dropped, not charged.
		s.stats.rateLimit.Add(1)
		return false
	}
	if author == s.h.ID() {
		return true
	}
	now := time.Now()
	r.mu.Lock()
	_, member := r.members[author]
	_, stored := r.known[author]
	at, pending := r.admitted[author]
	pending = pending && now.Sub(at) < admittedFor
	full := !member && !stored && len(r.members) >= s.params.Room.MaxRoomMembers
	r.mu.Unlock()
	if member || stored || pending {
		return true
	}
	if full && !r.forgetOne() {
		s.stats.newAuthor.Add(1)
		return false
	}
	if !s.newAuthorLimits.allow(from) {
		s.stats.newAuthor.Add(1)
		s.penalties.add(from, 1)
		return false
	}
	// Its next messages (presence, report, telemetry, ...) are not new
	// again while it becomes a member.
	r.mu.Lock()
	if len(r.admitted) >= s.params.Room.MaxRoomMembers {
		for a, t := range r.admitted {
			if now.Sub(t) >= admittedFor {
				delete(r.admitted, a)
			}
		}
	}
	if len(r.admitted) < s.params.Room.MaxRoomMembers {
		r.admitted[author] = now
	}
	r.mu.Unlock()
	return true
}

// admittedFor is how long an author admitted as new is not new again.
const admittedFor = time.Minute

// lamportWithin reports whether a received envelope's Lamport time is at
// most MaxLamportJump ahead of clock, the largest the node has stored.
func lamportWithin(lamport, clock uint64) bool {
	return lamport <= clock || lamport-clock <= MaxLamportJump
}

// markKnownLocked adds (author, seq) to the known set and reports whether
// it was new. r.mu is held.
func (r *room) markKnownLocked(author peer.ID, seq uint64) bool {
	return addSeq(r.known, author, seq)
}

// addSeq adds (author, seq) to sets and reports whether it was new.
func addSeq(sets map[peer.ID]*seqSet, author peer.ID, seq uint64) bool {
	set, ok := sets[author]
	if !ok {
		set = &seqSet{}
		sets[author] = set
	}
	return set.add(seq)
}

// hasSeq reports whether sets holds (author, seq).
func hasSeq(sets map[peer.ID]*seqSet, author peer.ID, seq uint64) bool {
	set, ok := sets[author]
	return ok && set.has(seq)
}

// isStored reports whether (author, seq) is in the store.
func (r *room) isStored(author peer.ID, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return hasSeq(r.stored, author, seq)
}

// highWater returns the contiguous high-water mark of every author in the
// store (the history request).
func (r *room) highWater() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint64, len(r.stored))
	for a, set := range r.stored {
		if set.hw > 0 {
			out[a.String()] = set.hw
		}
	}
	return out
}

// covers reports whether a member with the high-water marks have has every
// message this node stored.
func (r *room) covers(have map[peer.ID]uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for a, set := range r.stored {
		if have[a] < set.max() {
			return false
		}
	}
	return true
}

// takeIn takes in a received envelope (from gossip or history) unless this
// node stored or took it in before: the room's state follows it and its
// chat event is emitted; the writer stores it shortly after (ingestDelay).
// It reports whether the envelope was new.
func (r *room) takeIn(env *Envelope, body []byte) bool {
	r.mu.Lock()
	if !addSeq(r.stored, env.Author, env.Seq) {
		r.mu.Unlock()
		return false
	}
	r.s.stats.accepted.Add(1)
	if env.Lamport > r.lamport {
		r.lamport = env.Lamport
	}
	r.markKnownLocked(env.Author, env.Seq)
	if env.Author == r.s.h.ID() && env.Seq > r.seq {
		r.seq = env.Seq // its own, back from a member: go on after it
	}
	r.mu.Unlock()
	r.seen(env, body)
	if env.Kind == KindFile {
		r.s.noteFile(r, body)
	}
	r.s.events(EventChatMessage, newChatMessage(env, r.nickOf(env.Author), body))
	return true
}

func (r *room) nickOf(p peer.ID) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.members[p]; ok && m.nick != "" {
		return m.nick
	}
	return defaultNick(p)
}

// seen records that p is alive (and its nickname) from one of its envelopes.
func (r *room) seen(env *Envelope, body []byte) {
	if env.Author == r.s.h.ID() {
		return
	}
	r.mu.Lock()
	m, ok := r.members[env.Author]
	if !ok {
		m = &member{}
		r.members[env.Author] = m
	}
	wasAway := !ok || m.gone || m.left
	switch env.Kind {
	case KindJoin, KindPresence, KindNick:
		if len(body) > 0 {
			m.nick = string(body)
		}
	}
	t := time.UnixMilli(env.Time)
	if t.After(time.Now()) {
		t = time.Now()
	}
	fresh := time.Since(t) < r.s.params.Room.GoneAfter
	if t.After(m.lastSeen) {
		m.lastSeen = t
	}
	leaving := env.Kind == KindLeave
	if leaving && fresh {
		m.left = true
		delete(r.proven, env.Author) // a proof ends with the membership
	} else if fresh {
		m.gone, m.left = false, false
	}
	nick := m.nick
	r.mu.Unlock()
	if fresh && (leaving || wasAway) {
		r.el.invalidateAlive()
	}
	switch {
	case leaving && fresh:
		r.s.events(EventMemberLeft, map[string]string{"room": r.hash, "peer": env.Author.String(), "nick": nick})
	case wasAway && fresh && !leaving:
		r.s.events(EventMemberJoined, map[string]string{"room": r.hash, "peer": env.Author.String(), "nick": nick})
	}
}

// chatLoop keeps the room's chat subscription drained: validateChat takes
// in what arrives, publishChat the node's own messages.
func (r *room) chatLoop() {
	for {
		if _, err := r.chatSub.Next(r.ctx); err != nil {
			return
		}
	}
}

func (r *room) controlLoop() {
	for {
		msg, err := r.controlSub.Next(r.ctx)
		if err != nil {
			return
		}
		v, ok := msg.ValidatorData.(validated)
		if !ok {
			continue
		}
		r.seen(v.env, v.body)
		switch v.env.Kind {
		case KindCaps:
			if c, err := UnmarshalCapReport(v.body); err == nil {
				r.el.onReport(v.env.Author, c)
			}
		case KindElect:
			if m, err := UnmarshalElect(v.body); err == nil {
				if m.Op == OpVote {
					r.s.stats.votesPublished.Add(1)
				}
				r.el.onElect(v.env.Author, m)
			}
		}
	}
}

// peerEventLoop reacts to peers joining the chat topic: password rooms
// authenticate them, then history is pulled from them.
func (r *room) peerEventLoop() {
	for {
		ev, err := r.chatEvents.NextPeerEvent(r.ctx)
		if err != nil {
			return
		}
		r.el.invalidateAlive() // the topic's peers changed
		if ev.Type == pubsub.PeerLeave {
			// Unsubscribed or disconnected: the proof ends; a member
			// that comes back proves the key again.
			r.mu.Lock()
			delete(r.proven, ev.Peer)
			r.mu.Unlock()
			continue
		}
		if ev.Type != pubsub.PeerJoin {
			continue
		}
		p := ev.Peer
		r.goroutine(func() { r.meet(p) })
	}
}

// meet authenticates p in a password room (when not done yet) and pulls
// the history p has and the node lacks.
func (r *room) meet(p peer.ID) {
	if r.sec.Encrypted() && !r.isProven(p) {
		if err := r.s.authenticate(r.ctx, r, p); err != nil {
			r.s.log.Debug("room auth", "room", r.hash, "peer", p, "err", err)
			return
		}
	}
	// Sync now, and once more after a few GossipSub heartbeats: a message
	// published before p entered our mesh reached neither side by gossip.
	for _, wait := range []time.Duration{0, 3 * time.Second} {
		if !sleepCtx(r.ctx, wait) {
			return
		}
		if err := r.s.syncFrom(r.ctx, r, p); err != nil && r.ctx.Err() == nil {
			r.s.log.Debug("history sync", "room", r.hash, "peer", p, "err", err)
		} else if err == nil {
			r.syncedOnce.Do(func() { close(r.synced) })
		}
	}
}

// reprove authenticates, in a password room, the peers in the chat topic
// that hold no proof (any more): a member marked gone while it stayed
// subscribed, or one whose first authentication failed. Its messages are
// not taken until it proves the key again.
func (r *room) reprove() {
	if !r.sec.Encrypted() {
		return
	}
	for _, p := range r.chat.ListPeers() {
		r.mu.Lock()
		start := !r.proven[p] && !r.authing[p]
		if start {
			r.authing[p] = true
		}
		r.mu.Unlock()
		if !start {
			continue
		}
		r.goroutine(func() {
			defer func() {
				r.mu.Lock()
				delete(r.authing, p)
				r.mu.Unlock()
			}()
			r.meet(p)
		})
	}
}

// advertiseLoop keeps a provider record for the room's rendezvous in the
// DHT, retrying quickly until the first one is stored.
func (r *room) advertiseLoop() {
	retry := r.s.params.Room.FastDiscover
	for {
		ttl, err := r.s.rv.Advertise(r.ctx, r.sec.Rendezvous())
		wait := jitter(ttl * 3 / 4)
		if err != nil || ttl <= 0 {
			wait = retry
			retry = min(retry*2, r.s.params.Room.DiscoverInterval)
		} else {
			retry = r.s.params.Room.FastDiscover
		}
		if !sleepCtx(r.ctx, wait) {
			return
		}
	}
}

// discoverLoop looks members up in the DHT and connects to them: quickly
// while none is connected, then every DiscoverInterval scaled to the
// room's size (see sizeScaled): each lookup walks the DHT (DHT traffic was
// about a fifth of what a room of 50 in one process allocated), and the
// room as a whole still looks about every DiscoverInterval / 10, so groups
// split apart find each other as soon as in a small room.
func (r *room) discoverLoop() {
	for {
		r.discoverOnce()
		wait := jitter(sizeScaled(r.s.params.Room.DiscoverInterval, r.liveMembers()))
		if len(r.chat.ListPeers()) == 0 {
			wait = r.s.params.Room.FastDiscover
		}
		if !sleepCtx(r.ctx, wait) {
			return
		}
	}
}

func (r *room) discoverOnce() {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	found, err := r.s.rv.FindPeers(ctx, r.sec.Rendezvous(), 50)
	if err != nil {
		return
	}
	dials := 0
	for _, ai := range found {
		if ai.ID == r.s.h.ID() || r.s.connected(ai.ID) || dials >= r.s.params.Room.MaxConnectsPerRound {
			continue
		}
		dials++
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.s.h.Connect(dctx, ai)
		dcancel()
		if err != nil {
			r.s.log.Debug("dial room member", "peer", ai.ID, "err", err)
		}
	}
}

// presenceLoop announces the node on the control topic, pulls history from
// a random member now and then, and marks silent members gone.
//
// The intervals are jittered so that members who joined together do not
// announce (and verify each other's announcements) in the same instant.
// Every envelope a member publishes tells the others it is alive (seen):
// its chat messages, its telemetry (every TelemetryInterval), the mixer's
// heartbeats. So a member announces itself only after one and a half
// announcement intervals without publishing anything; with the default
// intervals its telemetry is its announcement (in a room of 50, the
// announcements were a third of the messages of an idle room).
//
// In a room of more than sizeScaleFrom present members a member announces
// itself proportionally less often (and is marked gone after
// proportionally longer silence, see sizeScaled), so that each member
// receives about the same number of announcements a second whatever the
// room's size: in a room of 50, an announcement from each every 5 s was 10
// a second to verify at every member.
func (r *room) presenceLoop() {
	lastSync := time.Now()
	for {
		every := sizeScaled(r.s.params.Room.PresenceInterval, r.liveMembers())
		r.mu.Lock()
		// 3/2: telemetry, jittered by ±25 % like this loop, comes
		// first; a member is marked gone after 4 intervals.
		quiet := time.Since(r.lastSent) >= every*3/2 && time.Since(r.lastLive) >= every*3/2
		r.mu.Unlock()
		if quiet {
			r.publishPresence()
		}
		r.markGone()
		r.forgetDeparted()
		r.reprove()
		r.repairTopicPeers()
		r.redialLost()
		if time.Since(lastSync) >= r.s.params.Room.SyncInterval {
			lastSync = time.Now()
			if peers := r.chat.ListPeers(); len(peers) > 0 {
				p := peers[rand.IntN(len(peers))]
				r.goroutine(func() { r.meet(p) })
			}
		}
		if !sleepCtx(r.ctx, jitter(r.s.params.Room.PresenceInterval)) {
			return
		}
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

func (r *room) publishPresence() {
	r.publishControl(r.control, KindPresence, []byte(r.nickname()))
}

// publishElect publishes an election message on the control topic.
func (r *room) publishElect(m Elect) {
	r.publishControl(r.control, KindElect, m.Marshal())
}

// publishControl signs and publishes a live (not stored) envelope.
func (r *room) publishControl(t *pubsub.Topic, kind Kind, text []byte) {
	if raw, err := r.sealLive(kind, text); err == nil {
		r.mu.Lock()
		r.lastLive = time.Now()
		r.mu.Unlock()
		_ = t.Publish(r.ctx, raw)
	}
}

// sealLive seals, signs and encodes a live (not stored) envelope: its seq
// is the node's clock in milliseconds, kept increasing.
func (r *room) sealLive(kind Kind, text []byte) ([]byte, error) {
	body, err := r.sec.Seal(text, []byte(r.hash))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	now := uint64(time.Now().UnixMilli())
	if now <= r.presence {
		now = r.presence + 1
	}
	r.presence = now
	env := &Envelope{Room: r.hash, Seq: now, Lamport: max(r.lamport, 1), Time: time.Now().UnixMilli(), Kind: kind, Body: body}
	r.mu.Unlock()
	if err := env.Sign(r.s.sk); err != nil {
		return nil, err
	}
	return env.Marshal()
}

// repairTopicPeers reconnects to members that are connected and alive but
// that GossipSub has not listed as subscribed to the chat topic for
// resubscribeAfter. go-libp2p-pubsub can lose a peer's subscriptions when
// two nodes dial each other at once and one of the duplicate streams is
// reset (the peer's hello is processed before the dead-peer cleanup clears
// it); the peer then never sends them again, and the member stays cut off
// from direct gossip. Closing the connections and dialing again makes both
// sides start afresh.
func (r *room) repairTopicPeers() {
	inTopic := map[peer.ID]bool{}
	for _, p := range r.chat.ListPeers() {
		inTopic[p] = true
	}
	now := time.Now()
	var stale []peer.ID
	r.mu.Lock()
	for id, m := range r.members {
		if inTopic[id] {
			m.reconnected = false
		}
		if m.gone || m.left || m.reconnected || inTopic[id] || !r.s.connected(id) {
			m.unsubscribedSince = time.Time{}
			continue
		}
		switch {
		case m.unsubscribedSince.IsZero():
			m.unsubscribedSince = now
		case now.Sub(m.unsubscribedSince) >= resubscribeAfter:
			m.unsubscribedSince = time.Time{}
			m.reconnected = true // once; again only after it was back in the topic
			stale = append(stale, id)
		}
	}
	r.mu.Unlock()
	for _, p := range stale {
		r.s.log.Info("member connected but not in the chat topic; reconnecting", "room", r.hash, "peer", p)
		_ = r.s.h.Network().ClosePeer(p)
		r.goroutine(func() {
			ctx, cancel := context.WithTimeout(r.ctx, r.s.params.Room.StreamTimeout)
			defer cancel()
			if err := r.s.h.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
				r.s.log.Debug("reconnect member", "room", r.hash, "peer", p, "err", err)
			}
		})
	}
}

// redialLost dials the present members the node has no connection to
// (at most MaxConnectsPerRound a round, each every redialEvery), through
// the addresses it knows of them: a member whose relay died is reached
// through its other relay without waiting for the next DHT lookup.
func (r *room) redialLost() {
	now := time.Now()
	var lost []peer.ID
	r.mu.Lock()
	for id, m := range r.members {
		if id == r.s.h.ID() || m.gone || m.left || now.Sub(m.redialed) < redialEvery || r.s.connected(id) {
			continue
		}
		if len(lost) == r.s.params.Room.MaxConnectsPerRound {
			break
		}
		m.redialed = now
		lost = append(lost, id)
	}
	r.mu.Unlock()
	for _, p := range lost {
		r.goroutine(func() {
			ctx, cancel := context.WithTimeout(r.ctx, r.s.params.Room.StreamTimeout)
			defer cancel()
			if err := r.s.h.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
				r.s.log.Debug("redial lost member", "room", r.hash, "peer", p, "err", err)
			}
		})
	}
}

// knownAuthor reports whether the room has stored messages of p or knows
// it as a member.
func (r *room) knownAuthor(p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, member := r.members[p]
	_, stored := r.known[p]
	return member || stored || p == r.s.h.ID()
}

// forgetOne drops the member heard from longest ago among those that are
// gone or left and not connected, with what the room keeps of it, to make
// room for a new one; it reports whether there was one.
func (r *room) forgetOne() bool {
	r.mu.Lock()
	var oldest peer.ID
	var at time.Time
	for id, m := range r.members {
		if (m.gone || m.left) && !r.s.connected(id) && (oldest == "" || m.lastSeen.Before(at)) {
			oldest, at = id, m.lastSeen
		}
	}
	if oldest != "" {
		r.forgetLocked(oldest)
	}
	r.mu.Unlock()
	if oldest != "" {
		r.el.forget(oldest)
	}
	return oldest != ""
}

// forgetLocked drops what the room keeps of a departed member (its log
// stays). r.mu is held.
func (r *room) forgetLocked(id peer.ID) {
	delete(r.members, id)
	delete(r.proven, id)
	delete(r.tel, id)
}

// forgetDeparted drops the members gone or left for longer than
// RoomParams.ForgetAfter.
func (r *room) forgetDeparted() {
	var old []peer.ID
	r.mu.Lock()
	for id, m := range r.members {
		if (m.gone || m.left) && time.Since(m.lastSeen) > r.s.params.Room.ForgetAfter && !r.s.connected(id) {
			r.forgetLocked(id)
			old = append(old, id)
		}
	}
	r.mu.Unlock()
	for _, id := range old {
		r.el.forget(id)
	}
}

func (r *room) markGone() {
	var gone []peer.ID
	after := sizeScaled(r.s.params.Room.GoneAfter, r.liveMembers())
	r.mu.Lock()
	for id, m := range r.members {
		if !m.gone && !m.left && time.Since(m.lastSeen) > after {
			m.gone = true
			delete(r.proven, id) // proven again (meet) when it is back
			gone = append(gone, id)
		}
	}
	r.mu.Unlock()
	if len(gone) > 0 {
		r.el.invalidateAlive()
	}
	for _, id := range gone {
		r.s.events(EventMemberGone, map[string]string{"room": r.hash, "peer": id.String(), "nick": r.nickOf(id)})
	}
}

func (r *room) memberList() []MemberInfo {
	connected := map[peer.ID]bool{}
	for _, p := range r.chat.ListPeers() {
		connected[p] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range connected {
		if _, ok := r.members[p]; !ok {
			r.members[p] = &member{lastSeen: time.Now()}
		}
	}
	out := []MemberInfo{}
	for _, id := range sortedMembers(r.members) {
		m := r.members[id]
		nick := m.nick
		if nick == "" {
			nick = defaultNick(id)
		}
		out = append(out, MemberInfo{ID: id.String(), Nick: nick, Connected: connected[id] && r.s.connected(id),
			RTTMS: float64(r.s.h.Peerstore().LatencyEWMA(id).Microseconds()) / 1000, LastSeen: m.lastSeen.UTC(),
			Gone: m.gone || m.left, Proven: !r.sec.Encrypted() || r.proven[id]})
	}
	return out
}

func (r *room) whoText() string {
	var b strings.Builder
	list := r.memberList()
	n := 1
	for _, m := range list {
		if !m.Gone {
			n++
		}
	}
	fmt.Fprintf(&b, "in %s, %d member(s): %s (you)", r.key.Name, n, r.nickname())
	for _, m := range list {
		state := "here"
		if m.Gone {
			state = "gone"
		} else if !m.Connected {
			state = "not connected"
		}
		fmt.Fprintf(&b, ", %s (%s)", m.Nick, state)
	}
	return b.String()
}

// presentCount is the room's member count wherever one is shown (room ls,
// /who, /metrics): this node and every other member that is neither gone
// nor left.
func (r *room) presentCount() int {
	n := 1
	for _, m := range r.memberList() {
		if !m.Gone {
			n++
		}
	}
	return n
}

// info is the room's summary, its message count after what was taken in
// is stored.
func (r *room) info(ctx context.Context) RoomInfo {
	_ = r.s.flushIngest(ctx)
	return r.infoStored(ctx)
}

// infoStored is info without waiting for the writer: for a caller that
// already did (Rooms, once for all rooms).
func (r *room) infoStored(ctx context.Context) RoomInfo {
	n, _ := r.s.store.Count(ctx, r.hash)
	members := r.presentCount()
	return RoomInfo{Key: r.key.String(), Name: r.key.Name, Hash: r.hash, Password: r.sec.Encrypted(),
		Joined: true, Nick: r.nickname(), Members: members, Messages: n}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
