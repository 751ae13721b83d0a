package overlay

import (
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

// Limits of the control bodies.
const (
	// MaxReasonBytes is the longest reason in an election message.
	MaxReasonBytes = 200
	// MaxMeshMax bounds a room's mesh size override.
	MaxMeshMax = 64
	// maxControlValue bounds every numeric field of a control body.
	maxControlValue = 1 << 53
)

// Reachability is a member's reachability as AutoNAT sees it.
type Reachability uint8

// Reachability values.
const (
	ReachUnknown Reachability = iota
	ReachPublic
	ReachPrivate
)

// String names the reachability.
func (r Reachability) String() string {
	switch r {
	case ReachPublic:
		return "public"
	case ReachPrivate:
		return "private"
	}
	return "unknown"
}

// CapReport is a member's capability report (the body of a KindCaps
// envelope on the control topic): what the mixer election scores.
//
// Wire format (protobuf, by hand): 1 upload bytes/s, 2 RTT µs, 3 CPU cores,
// 4 encode µs per frame, 5 reachability, 6 uptime s, 7 peers probed, 8
// media out bytes/s, 9 media encode µs, 10 members reached only through a
// relay (all varints), 11 a TURN server "ip:port" (string, repeated up to
// MaxTURNAddrs times), 12 compose µs per frame (varint); in field order,
// zero fields omitted.
type CapReport struct {
	// UploadBps is the measured upload throughput to room members, bytes/s
	// (the median over the members probed; 0: not measured yet).
	UploadBps uint64 `json:"upload_bps"`
	// RTTMicros is the median round-trip time to connected members.
	RTTMicros uint64 `json:"rtt_us"`
	// Cores is the number of CPU cores.
	Cores uint64 `json:"cores"`
	// EncodeMicros is the codec benchmark: time to encode one frame.
	EncodeMicros uint64 `json:"encode_us"`
	// Reach is the member's reachability (AutoNAT).
	Reach Reachability `json:"reach"`
	// UptimeSec is how long the member's node has run.
	UptimeSec uint64 `json:"uptime_s"`
	// Probed is how many members the upload figure is measured against.
	Probed uint64 `json:"probed"`
	// MediaOutBps is the media the member sends now, bytes/s over all its
	// media connections (from media stats; the upload it has left is
	// UploadBps minus this).
	MediaOutBps uint64 `json:"media_out_bps,omitempty"`
	// MediaEncodeMicros is the measured time to encode one 20 ms audio
	// frame where the member encodes (mixing), 0 where it encodes nothing.
	MediaEncodeMicros uint64 `json:"media_encode_us,omitempty"`
	// Relayed is how many of the room's members the member reaches only
	// through a relay: a member behind a NAT hole punching did not open.
	Relayed uint64 `json:"relayed,omitempty"`
	// TURN are the UDP addresses ("ip:port") of the STUN and TURN server
	// the member runs for the room (publicly reachable members only).
	TURN []string `json:"turn,omitempty"`
	// ComposeMicros is the member's measured CPU time to compose and
	// encode one frame of composed video (640x360 by default): while it
	// composes, the running figure; else a calibration at start.
	ComposeMicros uint64 `json:"compose_us,omitempty"`
}

// Limits of a report's TURN addresses.
const (
	MaxTURNAddrs     = 4
	maxTURNAddrBytes = 64
)

// capFields is the number of varint fields of a capability report; the
// TURN addresses follow as field capFields+1.
const capFields = 10

func (c CapReport) fields() []uint64 {
	return []uint64{c.UploadBps, c.RTTMicros, c.Cores, c.EncodeMicros, uint64(c.Reach), c.UptimeSec, c.Probed,
		c.MediaOutBps, c.MediaEncodeMicros, c.Relayed}
}

// Marshal encodes the report.
func (c CapReport) Marshal() []byte {
	var b []byte
	for i, v := range c.fields() {
		if v != 0 {
			b = protowire.AppendTag(b, protowire.Number(i+1), protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	for _, a := range c.TURN {
		b = protowire.AppendTag(b, capFields+1, protowire.BytesType)
		b = protowire.AppendString(b, a)
	}
	if c.ComposeMicros != 0 {
		b = protowire.AppendTag(b, capFieldCompose, protowire.VarintType)
		b = protowire.AppendVarint(b, c.ComposeMicros)
	}
	return b
}

// capFieldCompose is the field of the composition cost, after the TURN
// addresses.
const capFieldCompose = capFields + 2

// UnmarshalCapReport decodes and validates a report; errors wrap
// ErrMalformed or ErrTooLarge.
func UnmarshalCapReport(b []byte) (CapReport, error) {
	if len(b) > MaxControlBody {
		return CapReport{}, fmt.Errorf("%w: capability report of %d bytes", ErrTooLarge, len(b))
	}
	var v [capFields]uint64
	var turn []string
	var compose uint64
	last := protowire.Number(0)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n > 0 && num == capFieldCompose && typ == protowire.VarintType && num > last {
			x, m := protowire.ConsumeVarint(b[n:])
			if m < 0 || x > maxControlValue {
				return CapReport{}, fmt.Errorf("%w: capability report: bad compose time", ErrMalformed)
			}
			compose, last, b = x, num, b[n+m:]
			continue
		}
		if n > 0 && num == capFields+1 && typ == protowire.BytesType && num >= last {
			a, m := protowire.ConsumeString(b[n:])
			if m < 0 || len(a) > maxTURNAddrBytes || len(turn) >= MaxTURNAddrs {
				return CapReport{}, fmt.Errorf("%w: capability report: bad TURN address", ErrMalformed)
			}
			if _, err := netip.ParseAddrPort(a); err != nil {
				return CapReport{}, fmt.Errorf("%w: capability report: TURN address %q", ErrMalformed, a)
			}
			turn, last, b = append(turn, a), num, b[n+m:]
			continue
		}
		if n < 0 || typ != protowire.VarintType || num <= last || num > capFields {
			return CapReport{}, fmt.Errorf("%w: capability report: bad field", ErrMalformed)
		}
		b = b[n:]
		x, m := protowire.ConsumeVarint(b)
		if m < 0 || x > maxControlValue {
			return CapReport{}, fmt.Errorf("%w: capability report: bad value", ErrMalformed)
		}
		b = b[m:]
		v[num-1], last = x, num
	}
	if v[4] > uint64(ReachPrivate) {
		return CapReport{}, fmt.Errorf("%w: capability report: reachability %d", ErrMalformed, v[4])
	}
	return CapReport{UploadBps: v[0], RTTMicros: v[1], Cores: v[2], EncodeMicros: v[3],
		Reach: Reachability(v[4]), UptimeSec: v[5], Probed: v[6], MediaOutBps: v[7], MediaEncodeMicros: v[8],
		Relayed: v[9], TURN: turn, ComposeMicros: compose}, nil
}

// Score is the election's one deterministic score of a report: upload
// throughput first, weighed by CPU (cores, codec benchmark, the cost of
// composing video: a member that takes 20 ms a composed frame scores half
// of one that takes next to nothing), reachability and RTT. A member that reaches some members only through a relay scores
// at most 1: it is elected only when every member is in that state (a
// mixer's media would take the relay's detour). Integer arithmetic, so
// every member computes the same number.
func Score(c CapReport) uint64 {
	s := min(c.UploadBps, 10_000_000_000) / 1000 // kB/s
	s = s * (8 + min(c.Cores, 8)) / 16
	s = s * 40_000 / (40_000 + min(c.EncodeMicros, 10_000_000))
	s = s * 20_000 / (20_000 + min(c.ComposeMicros, 10_000_000))
	s = s * 1_000 / (1_000 + min(c.RTTMicros/1000, 10_000))
	if c.Reach == ReachPublic {
		s = s * 5 / 4
	}
	if c.Relayed > 0 {
		s = min(s, 1)
	}
	return s
}

// Elect is the body of a KindElect envelope on the control topic.
//
// Wire format (protobuf, by hand, fields in order, empty ones omitted):
// 1 op, 2 term, 3 peer (bytes), 4 score, 5 policy seq, 6 policy setter
// (bytes), 7 pin (bytes), 8 mesh max, 9 topology (0 auto, 1 mesh, 2
// star), 10 reason (string), 11 the author's capability report (an
// encoded CapReport; in candidacies and heartbeats, so that every voter
// scores the candidate from its latest report).
type Elect struct {
	Op     ElectOp
	Term   uint64
	Peer   peer.ID
	Score  uint64
	Policy Policy
	Reason string
	Report *CapReport
}

// Marshal encodes the message.
func (e Elect) Marshal() []byte {
	var b []byte
	varint := func(n protowire.Number, v uint64) {
		if v != 0 {
			b = protowire.AppendTag(b, n, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	bytesF := func(n protowire.Number, v string) {
		if v != "" {
			b = protowire.AppendTag(b, n, protowire.BytesType)
			b = protowire.AppendString(b, v)
		}
	}
	topo := uint64(0)
	for i, t := range topologies {
		if t == e.Policy.Topology {
			topo = uint64(i)
		}
	}
	varint(1, uint64(e.Op))
	varint(2, e.Term)
	bytesF(3, string(e.Peer))
	varint(4, e.Score)
	varint(5, e.Policy.Seq)
	bytesF(6, string(e.Policy.Setter))
	bytesF(7, string(e.Policy.Pin))
	varint(8, e.Policy.MeshMax)
	varint(9, topo)
	bytesF(10, e.Reason)
	if e.Report != nil {
		b = protowire.AppendTag(b, 11, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Report.Marshal())
	}
	return b
}

// UnmarshalElect decodes and validates an election message; errors wrap
// ErrMalformed or ErrTooLarge.
func UnmarshalElect(b []byte) (Elect, error) {
	if len(b) > MaxControlBody {
		return Elect{}, fmt.Errorf("%w: election message of %d bytes", ErrTooLarge, len(b))
	}
	e, err := unmarshalElect(b)
	if err != nil {
		return Elect{}, fmt.Errorf("%w: election message: %w", ErrMalformed, err)
	}
	return e, nil
}

func unmarshalElect(b []byte) (Elect, error) {
	var e Elect
	last := protowire.Number(0)
	topo := uint64(0)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num <= last || num > 11 {
			return e, errors.New("bad field")
		}
		b, last = b[n:], num
		switch num {
		case 11:
			if typ != protowire.BytesType {
				return e, errors.New("field 11: wrong type")
			}
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return e, errors.New("field 11: bad bytes")
			}
			b = b[m:]
			c, err := UnmarshalCapReport(v)
			if err != nil {
				return e, err
			}
			e.Report = &c
		case 3, 6, 7, 10:
			if typ != protowire.BytesType {
				return e, fmt.Errorf("field %d: wrong type", num)
			}
			v, m := protowire.ConsumeBytes(b)
			if m < 0 || len(v) > MaxAuthorSize {
				return e, fmt.Errorf("field %d: bad bytes", num)
			}
			b = b[m:]
			switch num {
			case 10:
				if len(v) > MaxReasonBytes || !utf8.Valid(v) {
					return e, errors.New("bad reason")
				}
				e.Reason = string(v)
			default:
				id, err := peer.IDFromBytes(v)
				if err != nil {
					return e, fmt.Errorf("field %d: %w", num, err)
				}
				switch num {
				case 3:
					e.Peer = id
				case 6:
					e.Policy.Setter = id
				case 7:
					e.Policy.Pin = id
				}
			}
		default:
			if typ != protowire.VarintType {
				return e, fmt.Errorf("field %d: wrong type", num)
			}
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v > maxControlValue {
				return e, fmt.Errorf("field %d: bad value", num)
			}
			b = b[m:]
			switch num {
			case 1:
				e.Op = ElectOp(v)
			case 2:
				e.Term = v
			case 4:
				e.Score = v
			case 5:
				e.Policy.Seq = v
			case 8:
				e.Policy.MeshMax = v
			case 9:
				topo = v
			}
		}
	}
	if e.Op < OpCandidate || e.Op > OpPolicy {
		return e, fmt.Errorf("unknown op %d", e.Op)
	}
	if e.Op != OpPolicy && (e.Term == 0 || e.Peer == "") {
		return e, errors.New("missing term or peer")
	}
	if topo >= uint64(len(topologies)) || e.Policy.MeshMax > MaxMeshMax {
		return e, errors.New("bad topology")
	}
	e.Policy.Topology = topologies[topo]
	if e.Policy.Topology == TopologyAuto {
		e.Policy.Topology = ""
	}
	return e, nil
}
