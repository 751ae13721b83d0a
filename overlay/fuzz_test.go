package overlay

// Fuzz targets for every decoder the network feeds (besides
// FuzzUnmarshalEnvelope and FuzzParseRoomKey): control, election and
// telemetry bodies, file links, the history request, the room-auth frames
// and the probe header. `make test` runs their seed corpora; `make fuzz`
// fuzzes each for FUZZTIME.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

func fuzzPeer(f *testing.F) peer.ID {
	seed := sha256.Sum256([]byte("f2f fuzz peer"))
	_, pk, err := crypto.GenerateEd25519Key(bytes.NewReader(seed[:]))
	if err != nil {
		f.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		f.Fatal(err)
	}
	return id
}

func FuzzUnmarshalCapReport(f *testing.F) {
	f.Add(CapReport{UploadBps: 400000, RTTMicros: 1200, Cores: 8, EncodeMicros: 900, Reach: ReachPublic, UptimeSec: 60, Probed: 3}.Marshal())
	f.Add([]byte{})
	f.Add([]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalCapReport(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if _, err := UnmarshalCapReport(c.Marshal()); err != nil {
			t.Fatalf("re-encoded report does not decode: %v", err)
		}
		_ = Score(c)
	})
}

func FuzzUnmarshalElect(f *testing.F) {
	id := fuzzPeer(f)
	rep := CapReport{UploadBps: 1000, Cores: 2}
	for _, e := range []Elect{
		{Op: OpCandidate, Term: 3, Peer: id, Score: 99, Reason: "best score", Report: &rep},
		{Op: OpVote, Term: 3, Peer: id},
		{Op: OpHeartbeat, Term: 1 << 52, Peer: id, Policy: Policy{Seq: 2, Pin: id, Setter: id, MeshMax: 5}},
		{Op: OpPolicy, Policy: Policy{Seq: 1, Setter: id}},
	} {
		f.Add(e.Marshal())
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalElect(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if _, err := UnmarshalElect(e.Marshal()); err != nil {
			t.Fatalf("re-encoded election message does not decode: %v", err)
		}
	})
}

func FuzzUnmarshalTelemetry(f *testing.F) {
	id := fuzzPeer(f)
	f.Add(Telemetry{DHTSize: 12, Edges: []TelemetryEdge{{Peer: id, Kind: "conn", Transport: "tcp", Outbound: true, RTTMicros: 300, InBps: 10, OutBps: 20},
		{Peer: id, Kind: "mesh"}}}.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tel, err := UnmarshalTelemetry(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if _, err := UnmarshalTelemetry(tel.Marshal()); err != nil {
			t.Fatalf("re-encoded telemetry does not decode: %v", err)
		}
	})
}

func FuzzDecodeFileLink(f *testing.F) {
	h, _ := mh.Sum([]byte("file"), mh.SHA2_256, -1)
	l := FileLink{CID: cid.NewCidV1(cid.Raw, h), Name: "talk.mp4", Size: 60 << 20, MIME: "video/mp4"}
	b, err := l.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeFileLink(b)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("decoded link fails Validate: %v", err)
		}
		if _, err := l.Marshal(); err != nil {
			t.Fatalf("decoded link does not encode: %v", err)
		}
	})
}

func FuzzDecodeHistoryRequest(f *testing.F) {
	id := fuzzPeer(f)
	b, _ := json.Marshal(historyRequest{Room: "0123456789abcdef0123456789abcdef", Have: map[string]uint64{id.String(): 7}})
	f.Add(b)
	f.Add([]byte(`{"room":"0123456789abcdef0123456789abcdef","have":{}}`))
	f.Add([]byte(`{"room":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		room, have, err := decodeHistoryRequest(b)
		if err != nil {
			return
		}
		if !validRoomHash(room) {
			t.Fatalf("accepted room %q", room)
		}
		for p := range have {
			if p.Validate() != nil {
				t.Fatalf("accepted author %q", p)
			}
		}
	})
}

func FuzzAuthFrames(f *testing.F) {
	f.Add(append([]byte("0123456789abcdef0123456789abcdef"), make([]byte, authNonceSize)...))
	f.Add(make([]byte, 2*authNonceSize))
	f.Add([]byte("ok"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if hash, nonce, err := parseAuthHello(b); err == nil && (!validRoomHash(hash) || len(nonce) != authNonceSize) {
			t.Fatalf("hello parsed as %q, %d-byte nonce", hash, len(nonce))
		}
		if nonce, mac, err := parseAuthAnswer(b); err == nil && (len(nonce) != authNonceSize || len(mac) != authNonceSize) {
			t.Fatalf("answer parsed as %d + %d bytes", len(nonce), len(mac))
		}
	})
}

func FuzzProbeHeader(f *testing.F) {
	var hdr [36]byte
	copy(hdr[:], "0123456789abcdef0123456789abcdef")
	binary.BigEndian.PutUint32(hdr[32:], 2<<20)
	f.Add(hdr[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var h [36]byte
		copy(h[:], b)
		room, size := parseProbeHeader(h)
		if len(room) != 32 || size < 0 {
			t.Fatalf("header parsed as %q, %d", room, size)
		}
	})
}
