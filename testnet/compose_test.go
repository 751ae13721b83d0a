package testnet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

// composeColours are the publishers' test patterns: ffmpeg colour names
// and their BT.601 YUV.
var composeColours = []struct {
	name    string
	y, u, v int
}{{"red", 81, 90, 240}, {"lime", 145, 54, 34}, {"blue", 41, 240, 110}, {"yellow", 210, 16, 146}}

// writeColourIVF makes a 3 s VP8 video of one solid colour (30 fps, a
// keyframe every half second) with ffmpeg.
func writeColourIVF(t *testing.T, dir, colour string) string {
	t.Helper()
	path := filepath.Join(dir, colour+".ivf")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c="+colour+":s=320x240:r=30",
		"-t", "3", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-g", "15",
		"-auto-alt-ref", "0", "-f", "ivf", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// gridFrames decodes a composed recording with ffmpeg, one frame a second
// from the 2nd second to the upto-th, as raw 4:2:0 pictures.
func gridFrames(t *testing.T, path string, w, h, upto int) [][]byte {
	t.Helper()
	raw := path + ".yuv"
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", path, "-vf", fmt.Sprintf("select='between(t,2,%d)',fps=1", upto),
		"-f", "rawvideo", "-pix_fmt", "yuv420p", raw).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	size := w * h * 3 / 2
	var frames [][]byte
	for len(b) >= size {
		frames = append(frames, b[:size])
		b = b[size:]
	}
	return frames
}

// colourRegions finds, in a w×h 4:2:0 picture, the bounding box of every
// colour's pixels (sampled every 4th pixel) and how many there are.
func colourRegions(pic []byte, w, h int) (boxes [][4]int, counts []int) {
	boxes, counts = make([][4]int, len(composeColours)), make([]int, len(composeColours))
	for i := range boxes {
		boxes[i] = [4]int{w, h, -1, -1}
	}
	near := func(a byte, b int) bool { d := int(a) - b; return d > -28 && d < 28 }
	cw := w / 2
	for y := 0; y < h; y += 4 {
		for x := 0; x < w; x += 4 {
			yy, u, v := pic[y*w+x], pic[w*h+(y/2)*cw+x/2], pic[w*h+w*h/4+(y/2)*cw+x/2]
			for i, c := range composeColours {
				if near(yy, c.y) && near(u, c.u) && near(v, c.v) {
					counts[i]++
					b := &boxes[i]
					b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
				}
			}
		}
	}
	return boxes, counts
}

// checkColours: in every sampled frame each wanted colour covers at least
// 2% of the picture, and the colours' regions do not overlap.
func checkColours(t *testing.T, path string, want []int, upto int) {
	t.Helper()
	frames := gridFrames(t, path, 640, 360, upto)
	if len(frames) < 3 {
		t.Fatalf("%s: %d sampled frames", path, len(frames))
	}
	samples := (640 / 4) * (360 / 4)
	for k, f := range frames {
		boxes, counts := colourRegions(f, 640, 360)
		for _, i := range want {
			if counts[i] < samples/50 {
				t.Fatalf("%s frame %d: %s covers %d of %d samples", path, k, composeColours[i].name, counts[i], samples)
			}
			for _, j := range want {
				a, b := boxes[i], boxes[j]
				if i < j && a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3] {
					t.Fatalf("%s frame %d: %s %v and %s %v overlap", path, k, composeColours[i].name, a, composeColours[j].name, b)
				}
			}
		}
	}
}

// gridFile is the recorded composed video from mixer.
func gridFile(files []media.RecordedFile, mixer peer.ID) (media.RecordedFile, bool) {
	for _, f := range files {
		if f.Origin == mixer.String() && strings.HasSuffix(f.Path, "-grid.ivf") {
			return f, true
		}
	}
	return media.RecordedFile{}, false
}

// Five members in a star, four (the mixer among them) publishing a solid
// colour each; the fifth asks for composed video and records it: one
// video stream from the mixer, at least 90% of the frames of 10 s,
// decoded by ffmpeg without errors, every publisher's colour in its own
// region. Then the mixer is killed: composition resumes from the new
// mixer, and the pause is measured.
func TestComposedVideoStarOfFive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// Simulated uplinks: node 0 is the mixer, node 1 the next best, and
	// the viewer (node 4) the weakest, never elected.
	net, err := New(t.TempDir(), 5, WithNodeOptionsFor(uplinks([]float64{0.4, 0.3, 0.25, 0.2, 0.05})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Close() })
	info, err := FormRoom(ctx, net.Nodes, "composed")
	if err != nil {
		t.Fatal(err)
	}
	waitReports(t, ctx, net.Nodes, info.Key)
	waitMixer(t, ctx, net.Nodes, info.Key, net.Nodes[0].ID())
	mixer := net.Nodes[0].ID()
	hash, err := net.Nodes[0].Rooms().RoomHash(ctx, info.Key)
	if err != nil {
		t.Fatal(err)
	}
	// A star for good: after the kill four members stay, a mesh by default.
	if _, err := net.Nodes[0].Rooms().SetMixer(ctx, info.Key, overlay.MixerChangeRequest{Topology: "star"}); err != nil {
		t.Fatal(err)
	}
	if err := WaitFor(ctx, func() (bool, error) {
		for _, nd := range net.Nodes {
			if in, err := nd.Rooms().Mixer(ctx, info.Key); err != nil || in.Policy.Topology != "star" {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	viewer, pubs := net.Nodes[4], net.Nodes[:4]
	media0 := t.TempDir()
	_, ogg, err := WriteTestMedia(media0)
	if err != nil {
		t.Fatal(err)
	}
	colourOf := map[peer.ID]int{}
	for i, nd := range pubs {
		colourOf[nd.ID()] = i
		spec := media.PublishSpec{Video: writeColourIVF(t, media0, composeColours[i].name), Audio: ogg, Loop: true}
		if err := nd.Media().Publish(hash, spec); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := viewer.Media().Record(hash, dir); err != nil {
		t.Fatal(err)
	}
	if err := viewer.Media().SetMix(hash, true, true); err != nil {
		t.Fatal(err)
	}
	gridFrom := func(m peer.ID) uint64 {
		for _, s := range viewer.Media().Stats(hash).Streams {
			if s.Origin == m.String() && s.ID == "grid" {
				return s.Frames
			}
		}
		return 0
	}
	if err := WaitFor(ctx, func() (bool, error) {
		st := viewer.Media().Stats(hash)
		if st.VideoRefused != "" {
			return false, fmt.Errorf("refused: %s", st.VideoRefused)
		}
		return st.ComposedBy == mixer.String() && gridFrom(mixer) > 30, nil
	}); err != nil {
		t.Fatalf("no composed video from the mixer: %v", err)
	}
	// One video stream arrives: the composed one.
	if err := WaitFor(ctx, func() (bool, error) {
		for _, e := range viewer.Media().Stats(hash).Edges {
			if e.Direction != "recv" {
				continue
			}
			video := 0
			for _, tr := range e.Tracks {
				if tr.Kind == "video" && (tr.ID != "grid" || e.Peer != mixer.String()) {
					return false, nil
				}
				if tr.Kind == "video" {
					video++
				}
			}
			if e.Peer == mixer.String() && video != 1 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("video other than the composed stream still arrives: %v", err)
	}
	// At least 90% of 10 s of frames at 15 fps.
	before := gridFrom(mixer)
	timer := time.NewTimer(10 * time.Second)
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-timer.C:
	}
	got := gridFrom(mixer) - before
	ms := net.Nodes[0].Media() // any node: the mixer's own stats
	for _, nd := range net.Nodes {
		if nd.ID() == mixer {
			ms = nd.Media()
		}
	}
	cs := ms.Stats(hash).Compose
	if cs == nil {
		t.Fatal("the mixer shows no composition")
	}
	t.Logf("composed frames in 10 s: %d; mixer: %+v", got, *cs)
	if got < 135 {
		t.Fatalf("%d composed frames in 10 s, want at least 135 of 150", got)
	}
	if cs.Inputs != 4 || cs.Receivers != 1 {
		t.Fatalf("mixer composes %d inputs for %d receivers", cs.Inputs, cs.Receivers)
	}
	// A publisher leaves and comes back: the composed stream goes on, never
	// started over.
	if _, err := pubs[3].Media().Stop(hash); err != nil {
		t.Fatal(err)
	}
	waitGrid := func(what string, n uint64) {
		t.Helper()
		from := gridFrom(mixer)
		if err := WaitFor(ctx, func() (bool, error) { return gridFrom(mixer) >= from+n, nil }); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitGrid("composed frames while a publisher is away", 45)
	if err := pubs[3].Media().Publish(hash, media.PublishSpec{Video: writeColourIVF(t, media0, composeColours[3].name), Audio: ogg, Loop: true}); err != nil {
		t.Fatal(err)
	}
	waitGrid("composed frames after it came back", 45)
	for _, s := range viewer.Media().Stats(hash).Streams {
		if s.Origin == mixer.String() && s.ID == "grid" && (s.Restarts != 0 || s.MaxGap >= 1000) {
			t.Fatalf("the composed stream started over (%d) or paused %.0f ms when a publisher left and came back", s.Restarts, s.MaxGap)
		}
	}
	// Kill the mixer: the next one composes.
	killed := time.Now()
	var rest []*node.Node
	for _, nd := range net.Nodes {
		if nd.ID() != mixer {
			rest = append(rest, nd)
		} else if err := nd.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var next peer.ID
	if err := WaitFor(ctx, func() (bool, error) {
		m, _, err := AgreedMixer(ctx, rest, info.Key)
		next = m
		return m != "" && m != mixer, err
	}); err != nil {
		t.Fatal(err)
	}
	if err := WaitFor(ctx, func() (bool, error) {
		st := viewer.Media().Stats(hash)
		// The recording starts at the new stream's first keyframe, which
		// on a loaded machine may come seconds after its first frames:
		// wait for 6 s of it in the file (the colours are sampled from
		// its third second on).
		f, _ := gridFile(st.Files, next)
		return st.ComposedBy == next.String() && gridFrom(next) > 90 && len(st.GridGaps) > 0 && f.Frames >= 90, nil
	}); err != nil {
		t.Fatalf("composition did not resume from %s: %v (%+v)", next, err, viewer.Media().Stats(hash))
	}
	gap := viewer.Media().Stats(hash).GridGaps[0]
	t.Logf("mixer killed; %s composes %.0f ms after the last frame of the old one (%.0f ms after the kill)",
		next, gap.MS, float64(gap.At.Sub(killed).Milliseconds()))
	res, err := viewer.Media().Stop(hash)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if f.Err != "" {
			t.Fatalf("%s: %s", f.Path, f.Err)
		}
		ffmpegDecodes(t, f.Path)
	}
	first, ok := gridFile(res.Files, mixer)
	second, ok2 := gridFile(res.Files, next)
	if !ok || !ok2 {
		t.Fatalf("recorded %+v", res.Files)
	}
	var all, survivors []int
	for _, nd := range pubs {
		all = append(all, colourOf[nd.ID()])
		if nd.ID() != mixer {
			survivors = append(survivors, colourOf[nd.ID()])
		}
	}
	checkColours(t, first.Path, all, 10)
	checkColours(t, second.Path, survivors, 1000)
}
