package media

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/rtp"
)

// TestRecordingFollowsRestartedStream: a stream that starts over on the
// same path (after a failover the new mixer's composed video comes with
// new sequence numbers and timestamps) goes on in its file. The file's
// reassembly used to wait for the old sequence numbers to come round
// again: at 15 fps about 3 minutes without a frame written.
func TestRecordingFollowsRestartedStream(t *testing.T) {
	s := benchSvc()
	rec, err := newRecording(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	key := trackKey{origin: peer.ID("composer"), kind: kindVideo, id: kindVideo}
	h := &hub{s: s, key: key}
	h.setSink(rec.sink(key))
	pc, _, err := s.newPC("")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	src := &source{from: key.origin, pc: pc, ssrc: 1}
	keyframe := []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0, 0, 0, 0}
	delta := []byte{0x10, 0x01, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44}
	send := func(seq uint16, ts uint32, frames int) {
		for i := range frames {
			payload := delta
			if i%15 == 0 {
				payload = keyframe
			}
			h.push(src, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Marker: true,
				SequenceNumber: seq + uint16(i), Timestamp: ts + uint32(i*6000)}, Payload: payload})
		}
	}
	send(1000, 5000, 30)
	send(40000, 3_000_000_000, 30) // starts over
	if err := rec.close(); err != nil {
		t.Fatal(err)
	}
	files := rec.files()
	if len(files) != 1 {
		t.Fatalf("files %+v, want one", files)
	}
	b, err := os.ReadFile(files[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	_, frames, err := ivfFrames(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 55 {
		t.Fatalf("%d frames written of 60 (30 before the stream started over, 30 after)", len(frames))
	}
	for i := 1; i < len(frames); i++ {
		if d := frames[i].at - frames[i-1].at; d < 60*time.Millisecond || d > 70*time.Millisecond {
			t.Fatalf("frame %d at %v after %v: want the times to go on at the stream's pace (15 fps)", i, frames[i].at, frames[i-1].at)
		}
	}
}
