package overlay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/encoding/protowire"
)

func telemetryTopic(hash string) string { return "f2f/" + hash + "/telemetry" }

// Telemetry limits.
const (
	// MaxTelemetryEdges bounds the edges of one summary.
	MaxTelemetryEdges = 128
	// MaxTelemetryBody bounds an encoded summary.
	MaxTelemetryBody = 16 << 10
)

// Edge kinds of the topology graph.
const (
	EdgeConn   = "connection"
	EdgeGossip = "gossip"
	EdgeMedia  = "media"
)

var edgeKinds = []string{"", EdgeConn, EdgeGossip, EdgeMedia}

// TelemetryEdge is one edge a member reports: to Peer, of Kind, with its
// measured figures.
type TelemetryEdge struct {
	Peer      peer.ID `json:"peer"`
	Kind      string  `json:"kind"`
	Transport string  `json:"transport,omitempty"`
	Outbound  bool    `json:"outbound,omitempty"`
	RTTMicros uint64  `json:"rtt_us,omitempty"`
	InBps     uint64  `json:"in_bps,omitempty"`
	OutBps    uint64  `json:"out_bps,omitempty"`
}

// Telemetry is a member's network-activity summary (the body of a
// KindTelemetry envelope on the room's telemetry topic).
//
// Wire format (protobuf, by hand, fields in order): 1 DHT routing-table
// size (varint), 2 edges (repeated message: 1 peer (bytes), 2 kind, 3
// transport (string), 4 outbound, 5 RTT µs, 6 in bytes/s, 7 out bytes/s).
type Telemetry struct {
	DHTSize uint64          `json:"dht_size"`
	Edges   []TelemetryEdge `json:"edges"`
}

// Marshal encodes the summary.
func (t Telemetry) Marshal() []byte {
	var b []byte
	if t.DHTSize > 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, t.DHTSize)
	}
	for _, e := range t.Edges {
		var m []byte
		m = protowire.AppendTag(m, 1, protowire.BytesType)
		m = protowire.AppendString(m, string(e.Peer))
		kind := 0
		for i, k := range edgeKinds {
			if k == e.Kind {
				kind = i
			}
		}
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(kind))
		if e.Transport != "" {
			m = protowire.AppendTag(m, 3, protowire.BytesType)
			m = protowire.AppendString(m, e.Transport)
		}
		for i, v := range []uint64{boolU(e.Outbound), e.RTTMicros, e.InBps, e.OutBps} {
			if v != 0 {
				m = protowire.AppendTag(m, protowire.Number(4+i), protowire.VarintType)
				m = protowire.AppendVarint(m, v)
			}
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// UnmarshalTelemetry decodes and validates a summary; errors wrap
// ErrMalformed or ErrTooLarge.
func UnmarshalTelemetry(b []byte) (Telemetry, error) {
	if len(b) > MaxTelemetryBody {
		return Telemetry{}, fmt.Errorf("%w: telemetry of %d bytes", ErrTooLarge, len(b))
	}
	t, err := unmarshalTelemetry(b)
	if err != nil {
		return Telemetry{}, fmt.Errorf("%w: telemetry: %w", ErrMalformed, err)
	}
	return t, nil
}

func unmarshalTelemetry(b []byte) (Telemetry, error) {
	var t Telemetry
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return t, errors.New("bad tag")
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v > maxControlValue {
				return t, errors.New("bad DHT size")
			}
			t.DHTSize, b = v, b[m:]
		case num == 2 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return t, errors.New("bad edge")
			}
			b = b[m:]
			if len(t.Edges) == MaxTelemetryEdges {
				return t, fmt.Errorf("more than %d edges", MaxTelemetryEdges)
			}
			e, err := unmarshalEdge(v)
			if err != nil {
				return t, err
			}
			t.Edges = append(t.Edges, e)
		default:
			return t, fmt.Errorf("unknown field %d", num)
		}
	}
	return t, nil
}

func unmarshalEdge(b []byte) (TelemetryEdge, error) {
	var e TelemetryEdge
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return e, errors.New("edge: bad tag")
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 3) && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 || len(v) > MaxAuthorSize {
				return e, errors.New("edge: bad bytes")
			}
			b = b[m:]
			// Every member keeps the latest summary of every other (2,400
			// edges at each member of a room of 50), naming mostly the
			// same peers and a handful of transports: the strings are
			// interned (unique), so those summaries share one copy of each.
			if num == 1 {
				id, err := peer.IDFromBytes(v)
				if err != nil {
					return e, fmt.Errorf("edge peer: %w", err)
				}
				e.Peer = unique.Make(id).Value()
			} else {
				if len(v) > 16 || strings.ContainsFunc(string(v), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
					return e, errors.New("edge: bad transport")
				}
				e.Transport = unique.Make(string(v)).Value()
			}
		case num >= 2 && num <= 7 && num != 3 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v > maxControlValue {
				return e, errors.New("edge: bad value")
			}
			b = b[m:]
			switch num {
			case 2:
				if v == 0 || v >= uint64(len(edgeKinds)) {
					return e, errors.New("edge: bad kind")
				}
				e.Kind = edgeKinds[v]
			case 4:
				e.Outbound = v != 0
			case 5:
				e.RTTMicros = v
			case 6:
				e.InBps = v
			case 7:
				e.OutBps = v
			}
		default:
			return e, fmt.Errorf("edge: unknown field %d", num)
		}
	}
	if e.Peer == "" || e.Kind == "" {
		return e, errors.New("edge: missing peer or kind")
	}
	return e, nil
}

// Activity is what the node measures of its own network for telemetry;
// node wires libp2p's bandwidth counter, the GossipSub mesh (pubsub
// tracer) and the DHT. Any func may be nil.
type Activity struct {
	// Rates returns the bytes/s from and to p.
	Rates func(p peer.ID) (in, out float64)
	// Mesh returns the node's GossipSub mesh peers in a topic.
	Mesh func(topic string) []peer.ID
	// DHTSize returns the routing table's size.
	DHTSize func() int
	// Media returns the node's media sending edges in a room: to whom and
	// at how many bytes/s.
	Media func(hash string) []MediaLink
	// MediaEncode returns the measured time to encode one media frame
	// where the node encodes (0: it encodes nothing).
	MediaEncode func(hash string) time.Duration
	// ComposeCost returns the node's CPU time to compose and encode one
	// frame of composed video (measured, or calibrated once).
	ComposeCost func() time.Duration
}

// MediaLink is one media edge the node sends on.
type MediaLink struct {
	To  peer.ID
	Bps float64
}

// WithActivity sets the sources of the node's telemetry.
func WithActivity(a Activity) Option { return func(c *config) error { c.activity = a; return nil } }

// MeshTracer is a GossipSub RawTracer that keeps each topic's mesh (the
// peers the node grafted): pass it to pubsub.WithRawTracer and its Mesh to
// WithActivity. Concurrency: a mutex guards the mesh.
type MeshTracer struct {
	pubsub.RawTracer
	mu   sync.Mutex
	mesh map[string]map[peer.ID]bool
}

// NewMeshTracer returns an empty tracer.
func NewMeshTracer() *MeshTracer {
	return &MeshTracer{RawTracer: noopTracer{}, mesh: map[string]map[peer.ID]bool{}}
}

// Graft records p joining the node's mesh in topic.
func (t *MeshTracer) Graft(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.mesh[topic]
	if !ok {
		m = map[peer.ID]bool{}
		t.mesh[topic] = m
	}
	m[p] = true
}

// Prune records p leaving the node's mesh in topic.
func (t *MeshTracer) Prune(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.mesh[topic], p)
}

// RemovePeer forgets p in every topic.
func (t *MeshTracer) RemovePeer(p peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.mesh {
		delete(m, p)
	}
}

// Leave forgets a topic.
func (t *MeshTracer) Leave(topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.mesh, topic)
}

// Mesh returns the mesh peers of topic.
func (t *MeshTracer) Mesh(topic string) []peer.ID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]peer.ID, 0, len(t.mesh[topic]))
	for p := range t.mesh[topic] {
		out = append(out, p)
	}
	return out
}

type noopTracer struct{}

func (noopTracer) AddPeer(peer.ID, protocol.ID)          {}
func (noopTracer) RemovePeer(peer.ID)                    {}
func (noopTracer) Join(string)                           {}
func (noopTracer) Leave(string)                          {}
func (noopTracer) Graft(peer.ID, string)                 {}
func (noopTracer) Prune(peer.ID, string)                 {}
func (noopTracer) ValidateMessage(*pubsub.Message)       {}
func (noopTracer) DeliverMessage(*pubsub.Message)        {}
func (noopTracer) RejectMessage(*pubsub.Message, string) {}
func (noopTracer) DuplicateMessage(*pubsub.Message)      {}
func (noopTracer) ThrottlePeer(peer.ID)                  {}
func (noopTracer) RecvRPC(*pubsub.RPC)                   {}
func (noopTracer) SendRPC(*pubsub.RPC, peer.ID)          {}
func (noopTracer) DropRPC(*pubsub.RPC, peer.ID)          {}
func (noopTracer) UndeliverableMessage(*pubsub.Message)  {}

// localTelemetry measures the node's edges to the room's members now.
func (r *room) localTelemetry() Telemetry {
	s := r.s
	a := s.activity
	var t Telemetry
	if a.DHTSize != nil {
		t.DHTSize = uint64(a.DHTSize())
	}
	members := r.el.alive()
	ids := make([]peer.ID, 0, len(members))
	for p := range members {
		if p != s.h.ID() {
			ids = append(ids, p)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		conns := s.h.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		c := conns[0]
		e := TelemetryEdge{Peer: p, Kind: EdgeConn, Transport: transportOf(c), Outbound: c.Stat().Direction == network.DirOutbound,
			RTTMicros: uint64(s.h.Peerstore().LatencyEWMA(p).Microseconds())}
		if a.Rates != nil {
			in, out := a.Rates(p)
			e.InBps, e.OutBps = rateU(in), rateU(out)
		}
		t.Edges = append(t.Edges, e)
		if len(t.Edges) >= MaxTelemetryEdges/2 {
			break
		}
	}
	if a.Media != nil {
		for _, m := range a.Media(r.hash) {
			if len(t.Edges) >= MaxTelemetryEdges*3/4 {
				break
			}
			t.Edges = append(t.Edges, TelemetryEdge{Peer: m.To, Kind: EdgeMedia, Outbound: true, OutBps: rateU(m.Bps)})
		}
	}
	if a.Mesh != nil {
		mesh := a.Mesh(chatTopic(r.hash))
		sort.Slice(mesh, func(i, j int) bool { return mesh[i] < mesh[j] })
		for _, p := range mesh {
			if len(t.Edges) >= MaxTelemetryEdges {
				break
			}
			t.Edges = append(t.Edges, TelemetryEdge{Peer: p, Kind: EdgeGossip})
		}
	}
	return t
}

func rateU(v float64) uint64 {
	if v <= 0 || math.IsNaN(v) {
		return 0
	}
	return uint64(min(v, maxControlValue))
}

// transportOf names a connection's transport (tcp, quic, webrtc, ...).
func transportOf(c network.Conn) string {
	if t := c.ConnState().Transport; t != "" {
		return strings.ToLower(strings.ReplaceAll(t, "-", ""))
	}
	return "unknown"
}

// memberTelemetry is a member's latest summary, as it came (validated):
// decoded only for a graph, so that the room's summaries (every member's
// edges at every member: 2,450 in a room of 50) are no objects for the
// garbage collector to trace.
type memberTelemetry struct {
	raw  []byte
	when time.Time
}

// telemetryInterval is how often the node publishes its summary:
// TelemetryInterval scaled to the room's size (see sizeScaled; in a room
// of 50 every member's summary every 5 s was 10 a second to verify at
// every member, each listing 49 peers).
func (r *room) telemetryInterval() time.Duration {
	return sizeScaled(r.s.params.Caps.TelemetryInterval, r.liveMembers())
}

// telemetryLoop publishes the node's summary every telemetryInterval.
func (r *room) telemetryLoop() {
	for {
		if !sleepCtx(r.ctx, jitter(r.telemetryInterval())) {
			return
		}
		r.publishControl(r.telemetry, KindTelemetry, r.localTelemetry().Marshal())
	}
}

func (r *room) telemetryRecvLoop() {
	for {
		msg, err := r.telemetrySub.Next(r.ctx)
		if err != nil {
			return
		}
		v, ok := msg.ValidatorData.(validated)
		if !ok {
			continue
		}
		// A member's telemetry is also its sign of life (presenceLoop).
		r.seen(v.env, v.body)
		// The validator decoded it (ValidText).
		r.mu.Lock()
		if _, member := r.members[v.env.Author]; member {
			r.tel[v.env.Author] = memberTelemetry{raw: v.body, when: time.Now()}
		}
		r.mu.Unlock()
	}
}

// validateTelemetry is the telemetry topic's validator: a fresh, signed
// KindTelemetry envelope within the author's rate.
func (r *room) validateTelemetry(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	return r.validateLive(telemetryTopic(r.hash), msg, KindTelemetry)
}

// GraphNode is a member in a topology graph.
type GraphNode struct {
	ID   string `json:"id"`
	Nick string `json:"nick"`
	// Role is "me", "mixer" or "member" (the node itself, when it is the
	// mixer, is "me" with Mixer set).
	Role  string `json:"role"`
	Mixer bool   `json:"mixer,omitempty"`
	// DHTSize is the member's routing-table size, as it last reported.
	DHTSize uint64 `json:"dht_size,omitempty"`
}

// GraphEdge is an edge in a topology graph, as From reported it.
type GraphEdge struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Kind      string  `json:"kind"`
	Transport string  `json:"transport,omitempty"`
	Outbound  bool    `json:"outbound,omitempty"`
	RTTMS     float64 `json:"rtt_ms,omitempty"`
	InBps     uint64  `json:"in_bps,omitempty"`
	OutBps    uint64  `json:"out_bps,omitempty"`
	// BitswapSent and BitswapRecv are the bytes of blocks exchanged (the
	// node's own graph only).
	BitswapSent uint64 `json:"bitswap_sent,omitempty"`
	BitswapRecv uint64 `json:"bitswap_recv,omitempty"`
}

// Graph is a room's topology (`f2f topo --room ROOM`): every member and
// the edges each reported in its latest telemetry (the node's own are
// measured now).
type Graph struct {
	Room     string      `json:"room"`
	Name     string      `json:"name"`
	Term     uint64      `json:"term"`
	Topology string      `json:"topology"`
	Time     time.Time   `json:"time"`
	Nodes    []GraphNode `json:"nodes"`
	Edges    []GraphEdge `json:"edges"`
}

// Graph returns the room's topology graph.
func (s *Service) Graph(ctx context.Context, ref string) (Graph, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return Graph{}, err
	}
	me := s.h.ID()
	info, topo := r.el.info()
	g := Graph{Room: r.hash, Name: r.key.Name, Term: info.Term, Topology: topo.Mode, Time: time.Now().UTC()}
	own := r.localTelemetry()
	maxAge := 3 * r.telemetryInterval()
	r.mu.Lock()
	raws := make(map[peer.ID][]byte, len(r.tel))
	for p, t := range r.tel {
		if m, ok := r.members[p]; p != me && ok && !m.gone && !m.left && time.Since(t.when) <= maxAge {
			raws[p] = t.raw
		}
	}
	r.mu.Unlock()
	tel := map[peer.ID]Telemetry{me: own}
	for p, raw := range raws {
		if t, err := UnmarshalTelemetry(raw); err == nil {
			tel[p] = t
		}
	}
	inGraph := map[peer.ID]bool{me: true}
	for _, p := range topo.Members {
		inGraph[p] = true
	}
	for p := range tel {
		inGraph[p] = true
	}
	ids := make([]peer.ID, 0, len(inGraph))
	for p := range inGraph {
		ids = append(ids, p)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		n := GraphNode{ID: p.String(), Nick: r.nickOf(p), Role: "member", Mixer: p == topo.Mixer, DHTSize: tel[p].DHTSize}
		switch {
		case p == me:
			n.Role, n.Nick = "me", r.nickname()
		case n.Mixer:
			n.Role = "mixer"
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, p := range ids {
		for _, e := range tel[p].Edges {
			if !inGraph[e.Peer] {
				continue
			}
			g.Edges = append(g.Edges, GraphEdge{From: p.String(), To: e.Peer.String(), Kind: e.Kind, Transport: e.Transport,
				Outbound: e.Outbound, RTTMS: float64(e.RTTMicros) / 1000, InBps: e.InBps, OutBps: e.OutBps})
		}
	}
	return g, nil
}

func (noopTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (noopTracer) OnClosedOutboundStream(peer.ID)                       {}
func (noopTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
