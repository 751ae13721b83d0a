package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"

	"github.com/fluttershy/face2face/internal/testlock"
)

func TestMain(m *testing.M) {
	testlock.Shared()
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/libp2p/go-flow-metrics.(*sweeper).runActive"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"))
}

// staticRooms is a fixed room for media tests without the overlay.
type staticRooms struct {
	mu   sync.Mutex
	hash string
	topo Topology
}

func (r *staticRooms) JoinedHashes() []string { return []string{r.hash} }
func (r *staticRooms) MediaTopology(h string) (Topology, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h != r.hash {
		return Topology{}, false
	}
	t := r.topo
	t.Members = slices.Clone(t.Members)
	return t, true
}
func (r *staticRooms) IsMember(h string, p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return h == r.hash && slices.Contains(r.topo.Members, p)
}
func (r *staticRooms) set(t Topology) {
	r.mu.Lock()
	r.topo = t
	r.mu.Unlock()
}

type testNode struct {
	h   host.Host
	svc *Service
}

func newTestNodes(t *testing.T, n int, rooms func(i int) Rooms, opts ...Option) []testNode {
	t.Helper()
	var out []testNode
	for i := 0; i < n; i++ {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(h, rooms(i), append([]Option{WithICE(ICEConfig{LoopbackOnly: true})}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testNode{h, svc})
		t.Cleanup(func() {
			if err := svc.Close(); err != nil {
				t.Log("close:", err)
			}
			h.Close()
		})
	}
	for i := range out {
		for j := range out {
			if i < j {
				if err := out[i].h.Connect(context.Background(), peer.AddrInfo{ID: out[j].h.ID(), Addrs: out[j].h.Addrs()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two nodes in a mesh: one publishes, the other records; the files decode.
func TestPublishRecordPair(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	nodes := newTestNodes(t, 2, func(int) Rooms { return rooms })
	rooms.set(Topology{Members: []peer.ID{nodes[0].h.ID(), nodes[1].h.ID()}})
	dir := t.TempDir()
	if err := nodes[1].svc.Record("room1", dir); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].svc.Publish("room1", PublishSpec{Video: "../testnet/testdata/test.ivf", Audio: "../testnet/testdata/test.ogg", Loop: true}); err != nil {
		t.Fatal(err)
	}
	sent, got := measureWindow(t, nodes[0].svc, nodes[1].svc, "room1", nodes[0].h.ID(), 4*time.Second)
	if got < sent*9/10 {
		t.Fatalf("video frames recorded %d of %d sent", got, sent)
	}
	res, err := nodes[1].svc.Stop("room1")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 {
		t.Fatalf("files: %+v", res.Files)
	}
	for _, f := range res.Files {
		t.Logf("%s: %d frames %d bytes", filepath.Base(f.Path), f.Frames, f.Bytes)
		if f.Err != "" {
			t.Fatal(f.Err)
		}
		ffmpegDecodes(t, f.Path)
		if strings.HasSuffix(f.Path, ".ivf") {
			_, times, err := IVFFrameTimes(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			real := times[len(times)-1] - times[0] + (times[len(times)-1]-times[0])/time.Duration(len(times)-1)
			probed := ffprobeDuration(t, f.Path)
			t.Logf("%s: %d frames, %s of video; ffprobe says %s", filepath.Base(f.Path), len(times), real, probed)
			if d := probed - real; d > real/20 || d < -real/20 {
				t.Errorf("ffprobe duration %s, the frames span %s", probed, real)
			}
		}
	}
}

// ffprobeDuration is the duration ffprobe reports for a media file.
func ffprobeDuration(t *testing.T, path string) time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s printed %q", path, out)
	}
	return time.Duration(secs * float64(time.Second))
}

// ffmpegDecodes decodes a file with ffmpeg and fails on any error.
func ffmpegDecodes(t *testing.T, path string) {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed to check recordings (apt-get install ffmpeg): %v", err)
	}
	out, err := exec.Command(ff, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("%s empty", path)
	}
}

// recordedFrames is the number of frames (or packets) recorded of origin's
// track kind.
func recordedFrames(st RoomStats, origin peer.ID, kind string) uint64 {
	for _, f := range st.Files {
		if f.Origin == origin.String() && f.Kind == kind {
			return f.Frames
		}
	}
	return 0
}

// measureWindow waits until rec records pub's video, then counts the
// frames pub sends and rec records over d.
func measureWindow(t *testing.T, pub, rec *Service, room string, origin peer.ID, d time.Duration) (sent, got uint64) {
	t.Helper()
	waitFor(t, 30*time.Second, "recording to start", func() bool {
		return recordedFrames(rec.Stats(room), origin, kindVideo) > 0
	})
	s0, r0 := pub.Stats(room).Publishing.VideoFrames, recordedFrames(rec.Stats(room), origin, kindVideo)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s1, r1 := pub.Stats(room).Publishing.VideoFrames, recordedFrames(rec.Stats(room), origin, kindVideo)
	t.Logf("over %v: sent %d frames, recorded %d", d, s1-s0, r1-r0)
	return s1 - s0, r1 - r0
}

// A star of 4: everyone publishes and records, the mixer forwards; then
// the mixer changes and media resumes through the new one.
func TestStarForwardAndSwitch(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	nodes := newTestNodes(t, 4, func(int) Rooms { return rooms })
	var ids []peer.ID
	for _, n := range nodes {
		ids = append(ids, n.h.ID())
	}
	rooms.set(Topology{Star: true, Mixer: ids[0], Members: ids})
	dirs := make([]string, len(nodes))
	for i, n := range nodes {
		dirs[i] = t.TempDir()
		if err := n.svc.Record("room1", dirs[i]); err != nil {
			t.Fatal(err)
		}
		if err := n.svc.Publish("room1", PublishSpec{Video: "../testnet/testdata/test.ivf", Audio: "../testnet/testdata/test.ogg", Loop: true}); err != nil {
			t.Fatal(err)
		}
	}
	allRecording := func() bool {
		for i, n := range nodes {
			st := n.svc.Stats("room1")
			for j := range nodes {
				if i != j && (recordedFrames(st, ids[j], kindVideo) == 0 || recordedFrames(st, ids[j], kindAudio) == 0) {
					return false
				}
			}
		}
		return true
	}
	waitFor(t, 30*time.Second, "every member to record every other", allRecording)
	// Non-mixers send only to the mixer.
	for _, e := range nodes[2].svc.Stats("room1").Edges {
		if e.Direction == "send" && e.Peer != ids[0].String() {
			t.Fatalf("node 2 sends to %s in a star around %s", e.Peer, ids[0])
		}
	}
	// Switch the mixer: 0 stops forwarding, 1 takes over.
	before := recordedFrames(nodes[3].svc.Stats("room1"), ids[2], kindVideo)
	rooms.set(Topology{Star: true, Mixer: ids[1], Members: ids})
	waitFor(t, 30*time.Second, "media through the new mixer", func() bool {
		st := nodes[3].svc.Stats("room1")
		for _, s := range st.Streams {
			if s.Origin == ids[2].String() && s.ID == "video" && s.Via == ids[1].String() {
				return recordedFrames(st, ids[2], kindVideo) > before+30
			}
		}
		return false
	})
	for _, s := range nodes[3].svc.Stats("room1").Streams {
		t.Logf("node 3 got %s/%s via %s: max gap %.0f ms, gaps %d", shortID(peer.ID(s.Origin)), s.ID, shortID(peer.ID(s.Via)), s.MaxGap, len(s.Gaps))
	}
	for i, n := range nodes {
		res, err := n.svc.Stop("room1")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 2*(len(nodes)-1) {
			t.Fatalf("node %d recorded %d files", i, len(res.Files))
		}
		for _, f := range res.Files {
			ffmpegDecodes(t, f.Path)
		}
	}
}

func shortID(p peer.ID) string {
	str := p.String()
	if len(str) > 12 {
		return str[len(str)-12:]
	}
	return str
}

// media stats: every edge has an RTT, and a stream the publisher stops and
// publishes again starts its figures afresh: the pause between the two
// runs is no gap.
func TestStatsRTTAndRestart(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	nodes := newTestNodes(t, 2, func(int) Rooms { return rooms })
	rooms.set(Topology{Members: []peer.ID{nodes[0].h.ID(), nodes[1].h.ID()}})
	origin := nodes[0].h.ID().String()
	stream := func() (StreamStats, bool) {
		for _, s := range nodes[1].svc.Stats("room1").Streams {
			if s.Origin == origin && s.Kind == kindVideo {
				return s, true
			}
		}
		return StreamStats{}, false
	}
	spec := PublishSpec{Video: "../testnet/testdata/test.ivf", Loop: true}
	if err := nodes[0].svc.Publish("room1", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "60 frames", func() bool { s, ok := stream(); return ok && s.Frames >= 60 })
	waitFor(t, 30*time.Second, "an RTT on both ends", func() bool {
		for _, n := range nodes {
			st := n.svc.Stats("room1")
			if len(st.Edges) != 1 || st.Edges[0].RTTMS <= 0 || len(st.Edges[0].Tracks) == 0 || st.Edges[0].Tracks[0].RTTMS <= 0 {
				return false
			}
		}
		return true
	})
	if _, err := nodes[0].svc.Stop("room1"); err != nil {
		t.Fatal(err)
	}
	// Nothing for 1.5 s, then the same file again.
	waitFor(t, 30*time.Second, "a pause", func() bool { s, _ := stream(); return s.LastMS >= 1500 })
	if err := nodes[0].svc.Publish("room1", spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the second run", func() bool { s, _ := stream(); return s.Restarts == 1 && s.Frames >= 30 })
	s, _ := stream()
	t.Logf("after the restart: %d frames, max gap %.0f ms, %d gaps", s.Frames, s.MaxGap, len(s.Gaps))
	if s.MaxGap >= 1000 || s.Frames > 90 {
		t.Errorf("the restarted stream carries the old run's figures: max gap %.0f ms, %d frames", s.MaxGap, s.Frames)
	}
	if _, err := nodes[0].svc.Stop("room1"); err != nil {
		t.Fatal(err)
	}
}

// Receivers present when a publisher starts get every frame of its file:
// the publisher's clock starts once its edges to them carry the tracks.
func TestReceiversGetTheFirstFrame(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	nodes := newTestNodes(t, 3, func(int) Rooms { return rooms })
	rooms.set(Topology{Members: []peer.ID{nodes[0].h.ID(), nodes[1].h.ID(), nodes[2].h.ID()}})
	_, times, err := IVFFrameTimes("../testnet/testdata/test.ivf")
	if err != nil {
		t.Fatal(err)
	}
	total := uint64(len(times))
	for _, n := range nodes[1:] {
		if err := n.svc.Record("room1", t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes[0].svc.Publish("room1", PublishSpec{Video: "../testnet/testdata/test.ivf"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the file to be sent", func() bool {
		p := nodes[0].svc.Stats("room1").Publishing
		return p != nil && p.Done
	})
	// All but the last frame are written as the next one comes; the last
	// one when the recording stops.
	var got [2]uint64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for i, n := range nodes[1:] {
			got[i] = recordedFrames(n.svc.Stats("room1"), nodes[0].h.ID(), kindVideo)
		}
		if got[0] >= total-1 && got[1] >= total-1 {
			break
		}
		if time.Now().After(deadline) {
			st := nodes[0].svc.Stats("room1")
			t.Fatalf("recorded %d and %d of the first %d frames; publisher %+v, edges %+v", got[0], got[1], total-1, st.Publishing, st.Edges)
		}
	}
	if _, err := nodes[0].svc.Stop("room1"); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes[1:] {
		res, err := n.svc.Stop("room1")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 1 || res.Files[0].Frames != total {
			t.Errorf("recorder %d wrote %+v, want %d frames", i+1, res.Files, total)
			continue
		}
		_, got, err := IVFFrameTimes(res.Files[0].Path)
		if err != nil || uint64(len(got)) != total {
			t.Errorf("recorder %d: the file holds %d frames (%v), want %d", i+1, len(got), err, total)
		}
	}
}
