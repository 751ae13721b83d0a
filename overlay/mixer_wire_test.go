package overlay

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

func testPeer(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCapReportRoundTrip(t *testing.T) {
	for _, c := range []CapReport{
		{},
		{UploadBps: 12_500_000, RTTMicros: 1500, Cores: 8, EncodeMicros: 2100, Reach: ReachPublic, UptimeSec: 3600, Probed: 3},
		{UploadBps: 1e6, Cores: 2, EncodeMicros: 900, Probed: 1, MediaOutBps: 120_000, MediaEncodeMicros: 140},
		{Cores: 2, Reach: ReachPrivate},
		{Cores: 2, Reach: ReachPrivate, Relayed: 3},
		{Reach: ReachPublic, TURN: []string{"11.0.0.1:4181", "[2001:db8::1]:4181"}},
		{Cores: 2, ComposeMicros: 6800},
		{Reach: ReachPublic, TURN: []string{"11.0.0.1:4181"}, ComposeMicros: 1},
	} {
		got, err := UnmarshalCapReport(c.Marshal())
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %+v = %+v, %v", c, got, err)
		}
	}
}

func TestCapReportMalformed(t *testing.T) {
	v := func(n protowire.Number, x uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, n, protowire.VarintType), x)
	}
	for name, b := range map[string][]byte{
		"unknown field":       v(13, 1),
		"compose twice":       append(v(12, 1), v(12, 2)...),
		"compose huge":        v(12, 1<<60),
		"compose bytes":       protowire.AppendBytes(protowire.AppendTag(nil, 12, protowire.BytesType), []byte("x")),
		"TURN not an address": protowire.AppendString(protowire.AppendTag(nil, 11, protowire.BytesType), "turn.example:1"),
		"TURN too long":       protowire.AppendString(protowire.AppendTag(nil, 11, protowire.BytesType), strings.Repeat("1", 65)),
		"five TURN":           bytes.Repeat(protowire.AppendString(protowire.AppendTag(nil, 11, protowire.BytesType), "11.0.0.1:1"), 5),
		"out of order":        append(v(2, 1), v(1, 1)...),
		"duplicate":           append(v(1, 1), v(1, 2)...),
		"bytes field":         protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("x")),
		"huge value":          v(1, 1<<60),
		"reachability 3":      v(5, 3),
		"truncated":           v(1, 300)[:2],
		"oversize":            make([]byte, MaxControlBody+1),
	} {
		if _, err := UnmarshalCapReport(b); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestScore(t *testing.T) {
	base := CapReport{UploadBps: 10e6, Cores: 4, EncodeMicros: 2000, RTTMicros: 1000}
	s := Score(base)
	better := base
	better.UploadBps = 20e6
	if Score(better) <= s {
		t.Error("more upload does not score higher")
	}
	slow := base
	slow.EncodeMicros = 40_000
	if Score(slow) >= s {
		t.Error("a slower encoder does not score lower")
	}
	// Composing video costs the mixer: a member that composes slowly
	// scores lower than one that composes fast.
	fast, heavy := base, base
	fast.ComposeMicros, heavy.ComposeMicros = 5_000, 60_000
	if Score(heavy) >= Score(fast) || Score(fast) >= s {
		t.Errorf("compose cost: %d (5 ms), %d (60 ms), %d (none)", Score(fast), Score(heavy), s)
	}
	pub := base
	pub.Reach = ReachPublic
	if Score(pub) <= s {
		t.Error("public reachability does not score higher")
	}
	// A member some members reach only through a relay loses to any
	// member with a measured upload, however strong it is.
	relayed := better
	relayed.Relayed = 1
	weak := CapReport{UploadBps: 100e3, Cores: 1, Reach: ReachPrivate}
	if Score(relayed) >= Score(weak) {
		t.Errorf("a relay-only member scores %d, a weak direct one %d", Score(relayed), Score(weak))
	}
	// The largest values a report may carry do not overflow: the score
	// stays below that of the same upload with ideal CPU and RTT.
	huge := CapReport{UploadBps: maxControlValue, Cores: maxControlValue, EncodeMicros: maxControlValue, RTTMicros: maxControlValue, Reach: ReachPublic,
		ComposeMicros: maxControlValue}
	ideal := CapReport{UploadBps: maxControlValue, Cores: 8, Reach: ReachPublic}
	if Score(huge) > Score(ideal) {
		t.Errorf("Score(huge) = %d > Score(ideal) = %d", Score(huge), Score(ideal))
	}
}

func TestElectRoundTrip(t *testing.T) {
	a, b := testPeer(t), testPeer(t)
	rep := CapReport{UploadBps: 5e6, Cores: 2}
	for _, e := range []Elect{
		{Op: OpCandidate, Term: 7, Peer: a, Score: 1234, Reason: "no mixer yet", Report: &rep, Policy: Policy{Seq: 2, Setter: b, Pin: a}},
		{Op: OpVote, Term: 7, Peer: a},
		{Op: OpHeartbeat, Term: 9, Peer: b, Policy: Policy{Seq: 3, Setter: a, MeshMax: 6, Topology: TopologyStar}, Reason: "pinned by bob"},
		{Op: OpPolicy, Policy: Policy{Seq: 1, Setter: a}},
	} {
		got, err := UnmarshalElect(e.Marshal())
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip of %+v = %+v, %v", e, got, err)
		}
	}
}

func TestElectMalformed(t *testing.T) {
	a := testPeer(t)
	good := Elect{Op: OpVote, Term: 1, Peer: a}.Marshal()
	v := func(n protowire.Number, x uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, n, protowire.VarintType), x)
	}
	by := func(n protowire.Number, x []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), x)
	}
	long := make([]byte, MaxReasonBytes+1)
	for i := range long {
		long[i] = 'a'
	}
	for name, b := range map[string][]byte{
		"op 0":          append(v(2, 1), by(3, []byte(a))...),
		"op 5":          append(append(v(1, 5), v(2, 1)...), by(3, []byte(a))...),
		"no term":       append(v(1, 2), by(3, []byte(a))...),
		"no peer":       append(v(1, 2), v(2, 1)...),
		"bad peer":      append(append(v(1, 2), v(2, 1)...), by(3, []byte("junk"))...),
		"topology 3":    append(append(v(1, 4), v(5, 1)...), v(9, 3)...),
		"mesh too big":  append(append(v(1, 4), v(5, 1)...), v(8, MaxMeshMax+1)...),
		"long reason":   append(append(v(1, 4), v(5, 1)...), by(10, long)...),
		"bad utf8":      append(append(v(1, 4), v(5, 1)...), by(10, []byte{0xff})...),
		"unknown field": append(append([]byte{}, good...), v(12, 1)...),
		"out of order":  append(v(2, 1), v(1, 2)...),
		"bad report":    append(append([]byte{}, good...), by(11, v(13, 1))...),
		"oversize":      make([]byte, MaxControlBody+1),
	} {
		if _, err := UnmarshalElect(b); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestTelemetryRoundTripAndLimits(t *testing.T) {
	a, b := testPeer(t), testPeer(t)
	tel := Telemetry{DHTSize: 12, Edges: []TelemetryEdge{
		{Peer: a, Kind: EdgeConn, Transport: "quicv1", Outbound: true, RTTMicros: 900, InBps: 1000, OutBps: 2000},
		{Peer: b, Kind: EdgeGossip},
	}}
	got, err := UnmarshalTelemetry(tel.Marshal())
	if err != nil || !reflect.DeepEqual(got, tel) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	many := Telemetry{}
	for range MaxTelemetryEdges + 1 {
		many.Edges = append(many.Edges, TelemetryEdge{Peer: a, Kind: EdgeGossip})
	}
	if _, err := UnmarshalTelemetry(many.Marshal()); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d edges: %v", len(many.Edges), err)
	}
	bad := Telemetry{Edges: []TelemetryEdge{{Peer: a, Kind: EdgeConn, Transport: "TCP/../x"}}}
	if _, err := UnmarshalTelemetry(bad.Marshal()); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad transport: %v", err)
	}
	if _, err := UnmarshalTelemetry(make([]byte, MaxTelemetryBody+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	noKind := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType),
		protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte(a)))
	if _, err := UnmarshalTelemetry(noKind); !errors.Is(err, ErrMalformed) {
		t.Errorf("edge without kind: %v", err)
	}
}

func TestTopologyPeers(t *testing.T) {
	a, b, c := peer.ID("a"), peer.ID("b"), peer.ID("c")
	star := Topology{Mixer: b, Mode: TopologyStar, Members: []peer.ID{a, b, c}}
	if got := star.Peers(a); !reflect.DeepEqual(got, []peer.ID{b}) {
		t.Errorf("star member peers = %v", got)
	}
	if got := star.Peers(b); !reflect.DeepEqual(got, []peer.ID{a, c}) {
		t.Errorf("star mixer peers = %v", got)
	}
	mesh := Topology{Mixer: b, Mode: TopologyMesh, Members: []peer.ID{a, b, c}}
	if got := mesh.Peers(c); !reflect.DeepEqual(got, []peer.ID{a, b}) {
		t.Errorf("mesh peers = %v", got)
	}
}
