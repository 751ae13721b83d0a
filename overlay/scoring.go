package overlay

import (
	"math"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// GossipSub v1.1 peer scoring (https://github.com/libp2p/specs/blob/master/pubsub/gossipsub/gossipsub-v1.1.md#peer-scoring).
// A peer's score is its application score, which the room validators feed
// (every author the room has not seen that a peer forwards beyond its
// allowance costs it a point; the points halve every PenaltyHalfLife and
// the first PenaltyGrace are not counted), plus
// the invalid-message penalty of the room topics (every message a
// validator rejects, squared, decaying). Below GossipThreshold the node
// stops gossiping with the peer, below PublishThreshold it publishes
// nothing to it, and below GraylistThreshold it ignores everything the
// peer sends.
const (
	GossipThreshold   = -500
	PublishThreshold  = -1000
	GraylistThreshold = -2500
	// PenaltyHalfLife is how fast a peer's penalty points are forgiven.
	PenaltyHalfLife = 10 * time.Second
	// PenaltyGrace points are not counted: an honest relay forwards what
	// its own limits let through, which can be a little more than this
	// node's limits allow it (the same budget, refilled at other moments),
	// and GossipSub prunes a mesh peer at any negative score.
	PenaltyGrace = 100
	// invalidWeight is the weight of the squared count of rejected
	// messages a peer forwarded on a room topic.
	invalidWeight = -10
)

// GossipParams returns the GossipSub parameters for
// pubsub.WithGossipSubParams: the library's defaults, except that the
// lazy gossip of each heartbeat (IHAVE of the last 3 heartbeats' message
// IDs, per topic) goes to Dlazy (6) peers outside the mesh instead of a
// quarter of them. A room's members are all connected to each other, so
// the default sent it to 11 of 49 peers in a room of 50, for each of the
// room's three topics, every second; that was a quarter of the CPU of an
// idle room of 50 in one process (0.62 cores; 0.55 with 6 peers). The mesh
// (D = 6) still pushes each message to 6 peers, and chat has history sync
// besides.
func GossipParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.GossipFactor = 0
	return p
}

// ScoreThresholds returns the thresholds for pubsub.WithPeerScore.
func ScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{GossipThreshold: GossipThreshold, PublishThreshold: PublishThreshold,
		GraylistThreshold: GraylistThreshold, AcceptPXThreshold: 100, OpportunisticGraftThreshold: 5}
}

// ScoreParams returns the peer score parameters for pubsub.WithPeerScore;
// app is the application score (node wires Service.AppScore). IP
// colocation is not penalised: a room may well be several daemons behind
// one address (and on one machine in tests and demos).
func ScoreParams(app func(peer.ID) float64) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics:               map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:     app,
		AppSpecificWeight:    1,
		DecayInterval:        time.Second,
		DecayToZero:          0.01,
		RetainScore:          10 * time.Minute,
		// Scoring keeps a record of who delivered each message, to
		// charge every forwarder of one the validators reject; pubsub's
		// default keeps them 2 min (2,400 records of 20 msg/s of chat,
		// each with a map of peers, at every member: 30 MB of the heap
		// of a 50-member room in one process at 30 s). Copies of a
		// message come while GossipSub's message cache holds it (5
		// heartbeats, 5 s); later ones are dropped as already seen
		// (WithSeenMessagesTTL stays at its 2 min) and start a fresh
		// record.
		SeenMsgTTL: DeliveryRecordTTL,
	}
}

// DeliveryRecordTTL is how long peer scoring remembers a message's
// forwarders.
const DeliveryRecordTTL = 6 * time.Second

// topicScoreParams are a room topic's score parameters: only the
// invalid-message penalty (the validators reject what is malformed,
// forged or of another room); message-delivery counters would penalise
// quiet rooms.
func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshQuantum:              time.Second, // unused (weight 0), but pubsub divides by it
		InvalidMessageDeliveriesWeight: invalidWeight,
		InvalidMessageDeliveriesDecay:  0.9,
	}
}

// penalties are the application-score points of each peer. Safe for
// concurrent use; bounded like peerLimits.
type penalties struct {
	mu sync.Mutex
	m  map[peer.ID]*penalty
}

type penalty struct {
	v  float64
	at time.Time
}

func newPenalties() *penalties { return &penalties{m: map[peer.ID]*penalty{}} }

// decayed is v halved for every PenaltyHalfLife since at.
func (p *penalty) decayed(now time.Time) float64 {
	return p.v * math.Exp2(-now.Sub(p.at).Seconds()/PenaltyHalfLife.Seconds())
}

// add charges p with w points.
func (ps *penalties) add(p peer.ID, w float64) {
	now := time.Now()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	e, ok := ps.m[p]
	if !ok {
		if len(ps.m) >= maxTrackedPeers {
			for id, x := range ps.m {
				if x.decayed(now) < 1 {
					delete(ps.m, id)
				}
			}
		}
		if len(ps.m) >= maxTrackedPeers {
			return
		}
		e = &penalty{at: now}
		ps.m[p] = e
	}
	e.v = e.decayed(now) + w
	e.at = now
}

// score is p's application score: minus its decayed points beyond
// PenaltyGrace.
func (ps *penalties) score(p peer.ID) float64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if e, ok := ps.m[p]; ok {
		return -max(0, e.decayed(time.Now())-PenaltyGrace)
	}
	return 0
}

// AppScore is the application-specific part of p's GossipSub score (see
// ScoreParams): minus the points the validators charged p.
func (s *Service) AppScore(p peer.ID) float64 { return s.penalties.score(p) }
