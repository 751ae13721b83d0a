package media

// Fuzz targets for what the network or a file a user opens feeds the media
// service: signaling frames, IVF (VP8) and Ogg (Opus) files.

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/pion/webrtc/v4"
)

func FuzzDecodeSignal(f *testing.F) {
	on := true
	for _, m := range []signalMsg{
		{Type: sigHello, Room: "0123456789abcdef0123456789abcdef"},
		{Type: sigOffer, SDP: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"},
		{Type: sigCand, Cand: &webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}},
		{Type: sigPrefs, Mix: &on},
		{Type: sigError, Reason: "no"},
	} {
		b, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"t":"cand","cand":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeSignal(b)
		if err != nil {
			return
		}
		switch m.Type {
		case sigHello:
			if m.Room == "" || len(m.Room) > 128 {
				t.Fatalf("hello with room %q", m.Room)
			}
		case sigCand:
			if m.Cand == nil || len(m.Cand.Candidate) > 1024 {
				t.Fatal("bad candidate accepted")
			}
		case sigPrefs, sigMixed:
			if m.Mix == nil {
				t.Fatal("prefs without mix accepted")
			}
		case sigError:
			if len(m.Reason) > 512 {
				t.Fatal("long reason kept")
			}
		}
	})
}

// fileSeed adds the test media file at path (when present) and its head.
func fileSeed(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Logf("no seed %s: %v", path, err)
		return
	}
	f.Add(b[:min(len(b), 1024)])
}

func FuzzIVFFrames(f *testing.F) {
	fileSeed(f, "../testnet/testdata/test.ivf")
	f.Add([]byte("DKIF\x00\x00\x20\x00VP80"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, frames, err := ivfFrames(b)
		if err != nil {
			return
		}
		total := 0
		for _, fr := range frames {
			total += len(fr.data)
			_, _, _ = vp8KeyframeDims(fr.data)
		}
		if total > len(b) {
			t.Fatalf("%d frame bytes from a %d-byte file", total, len(b))
		}
	})
}

func FuzzOggPackets(f *testing.F) {
	fileSeed(f, "../testnet/testdata/test.ogg")
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, pkts, err := oggPackets(b)
		if err != nil {
			return
		}
		if ch < 0 {
			t.Fatalf("%d channels", ch)
		}
		total := 0
		for _, p := range pkts {
			total += len(p)
			_, _ = opusDuration(p)
		}
		if total > len(b) {
			t.Fatalf("%d packet bytes from a %d-byte file", total, len(b))
		}
	})
}
