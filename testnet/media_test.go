package testnet

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/node"
)

func ffmpegDecodes(t *testing.T, path string) {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed to check recordings (apt-get install ffmpeg): %v", err)
	}
	if out, err := exec.Command(ff, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
	}
}

// runCall forms a room of n nodes, everyone publishes and records, and
// checks that over 10 s every member recorded at least 90% of every other
// publisher's video frames.
func runCall(t *testing.T, ctx context.Context, n int, wantMode string) (*Net, string, string) {
	t.Helper()
	net, err := New(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Close() })
	info, err := FormRoom(ctx, net.Nodes, "call")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := AgreedMixerWait(ctx, net.Nodes, info.Key); err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	ivf, ogg, err := WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hash, err := StartCall(ctx, net.Nodes, info.Key, media.PublishSpec{Video: ivf, Audio: ogg, Loop: true}, dirs)
	if err != nil {
		t.Fatal(err)
	}
	if st := net.Nodes[0].Media().Stats(hash); st.Mode != wantMode {
		t.Fatalf("mode %s, want %s", st.Mode, wantMode)
	}
	if err := WaitRecordingAll(ctx, net.Nodes, hash, 1); err != nil {
		t.Fatalf("not every member records every other: %v", err)
	}
	fc, err := MeasureFrames(ctx, net.Nodes, hash, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.Nodes {
		for j := range net.Nodes {
			if i == j {
				continue
			}
			got, sent := fc.Recorded[i][j], fc.Sent[j]
			if got*10 < sent*9 {
				t.Errorf("node %d recorded %d of node %d's %d video frames in 10 s", i, got, j, sent)
			}
		}
	}
	t.Logf("10 s: sent %v frames; node 0 recorded %v", fc.Sent, fc.Recorded[0])
	return net, hash, info.Key
}

func stopAndDecode(t *testing.T, nodes []*node.Node, hash string, wantFiles int) {
	t.Helper()
	for i, nd := range nodes {
		res, err := nd.Media().Stop(hash)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != wantFiles {
			t.Fatalf("node %d recorded %d files, want %d: %+v", i, len(res.Files), wantFiles, res.Files)
		}
		for _, f := range res.Files {
			if f.Err != "" {
				t.Fatalf("%s: %s", f.Path, f.Err)
			}
			ffmpegDecodes(t, f.Path)
		}
	}
}

func TestMediaMeshOfThree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, hash, _ := runCall(t, ctx, 3, "mesh")
	// A mesh: everyone sends to everyone directly.
	for i, nd := range net.Nodes {
		sends := 0
		for _, e := range nd.Media().Stats(hash).Edges {
			if e.Direction == "send" {
				sends++
			}
		}
		if sends != 2 {
			t.Fatalf("node %d sends on %d edges, want 2", i, sends)
		}
	}
	stopAndDecode(t, net.Nodes, hash, 4)
}

func TestMediaStarOfSixSurvivesMixerKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	net, hash, key := runCall(t, ctx, 6, "star")
	mixer, _, err := AgreedMixer(ctx, net.Nodes, key)
	if err != nil {
		t.Fatal(err)
	}
	mi := -1
	for i, nd := range net.Nodes {
		if nd.ID() == mixer {
			mi = i
		}
	}
	if mi < 0 {
		t.Fatalf("mixer %s is not a node", mixer)
	}
	// Only the mixer sends to more than one member.
	for i, nd := range net.Nodes {
		for _, e := range nd.Media().Stats(hash).Edges {
			if e.Direction == "send" && i != mi && e.Peer != mixer.String() {
				t.Fatalf("node %d sends to %s, not the mixer", i, e.Peer)
			}
		}
	}
	// Kill the mixer mid-call.
	rest := append(append([]*node.Node{}, net.Nodes[:mi]...), net.Nodes[mi+1:]...)
	before := make([][]uint64, len(rest))
	for i, a := range rest {
		for _, b := range rest {
			before[i] = append(before[i], RecordedFrames(a, hash, b, "video"))
		}
	}
	killed := time.Now()
	if err := net.Nodes[mi].Close(); err != nil {
		t.Fatal(err)
	}
	newMixer, _, err := AgreedMixerWait(ctx, rest, key)
	if err != nil {
		t.Fatal(err)
	}
	// Media resumes through the new mixer: every survivor records 30 more
	// frames of every other survivor.
	err = WaitFor(ctx, func() (bool, error) {
		for i, a := range rest {
			for j, b := range rest {
				if a != b && RecordedFrames(a, hash, b, "video") < before[i][j]+30 {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("media did not resume through %s: %v", newMixer, err)
	}
	t.Logf("mixer %s killed; new mixer %s; longest gap in received video after the kill: %v",
		mixer, newMixer, MaxGapSince(rest, hash, killed))
	stopAndDecode(t, rest, hash, 10)
}
