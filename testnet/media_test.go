package testnet

import (
	"context"

	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

func ffmpegDecodes(t *testing.T, path string) {
	t.Helper()
	if err := FFmpegDecode(context.Background(), path); err != nil {
		t.Fatal(err)
	}
}

// runCall forms a room of n nodes in which everyone publishes and records,
// checks the topology's mode and that every member records every other,
// and lets the call run 12 s; stopAndDecode then checks the recordings
// (90% of 10 s of frames, ffmpeg).
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
	// Let the election settle (every report measured) so that the mixer
	// stays put during the call unless the test kills it.
	waitReports(t, ctx, net.Nodes, info.Key)
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
	// 12 s, so that every recording holds the 10 s checked at the end
	// (stopAndDecode) before anything else happens.
	fc, err := MeasureFrames(ctx, net.Nodes, hash, 12*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live, over 12 s: sent %v video frames; node 0 recorded %v (on a loaded machine the recordings lag)", fc.Sent, fc.Recorded[0])
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
			if f.Kind == "video" {
				checkTenSeconds(t, f.Path)
			}
		}
	}
}

func TestMediaMeshOfThree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, hash, key := runCall(t, ctx, 3, "mesh")
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
	// Switch the room to a star at runtime: everyone but the mixer now
	// sends to the mixer only, and the recordings go on.
	if _, err := net.Nodes[1].Rooms().SetMixer(ctx, key, overlay.MixerChangeRequest{Topology: overlay.TopologyStar}); err != nil {
		t.Fatal(err)
	}
	before := frameSnapshot(net.Nodes, hash)
	switched := time.Now()
	err := WaitFor(ctx, func() (bool, error) {
		mixer, _, err := AgreedMixer(ctx, net.Nodes, key)
		if err != nil || mixer == "" {
			return false, err
		}
		for i, nd := range net.Nodes {
			st := nd.Media().Stats(hash)
			if st.Mode != "star" {
				return false, nil
			}
			for _, e := range st.Edges {
				if e.Direction == "send" && nd.ID() != mixer && e.Peer != mixer.String() {
					return false, nil
				}
			}
			for j, o := range net.Nodes {
				if i != j && RecordedFrames(nd, hash, o, "video") < before.Recorded[i][j]+60 {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("no star after the switch: %v", err)
	}
	t.Logf("mesh -> star: longest pause in received video %v", MaxGapSince(net.Nodes, hash, switched))
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
	// The media figures reach the capability reports and the topology
	// graph: the mixer reports what it sends, and media edges appear.
	err = WaitFor(ctx, func() (bool, error) {
		in, err := net.Nodes[0].Rooms().Mixer(ctx, key)
		if err != nil {
			return false, err
		}
		reported := false
		for _, m := range in.Members {
			if m.ID == mixer.String() && m.Report != nil && m.Report.MediaOutBps > 0 {
				reported = true
			}
		}
		g, err := net.Nodes[0].Rooms().Graph(ctx, key)
		if err != nil {
			return false, err
		}
		media := 0
		for _, e := range g.Edges {
			if e.Kind == overlay.EdgeMedia && e.From == mixer.String() && e.OutBps > 0 {
				media++
			}
		}
		return reported && media == len(net.Nodes)-1, nil
	})
	if err != nil {
		t.Fatalf("media figures not in the reports and the graph: %v", err)
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
	var newMixer peer.ID
	if err := WaitFor(ctx, func() (bool, error) {
		m, _, err := AgreedMixer(ctx, rest, key)
		newMixer = m
		return m != "" && m != mixer, err
	}); err != nil {
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
	for i, nd := range rest {
		for _, s := range nd.Media().Stats(hash).Streams {
			for _, g := range s.Gaps {
				if g.At.After(killed) {
					t.Logf("  survivor %d: %s/%s paused %.0f ms, then via %s, %.0f ms after the kill", i, s.Origin[len(s.Origin)-6:], s.ID, g.MS, g.Via[len(g.Via)-6:], float64(g.At.Sub(killed).Milliseconds()))
				}
			}
		}
	}
	stopAndDecode(t, rest, hash, 10)
}

// checkTenSeconds checks that a recording holds at least 90% of the video
// frames the publisher sent in 10 s of its media time: the test video runs
// at 30 fps, so 270 of the 300 frames from 1 s to 11 s after the first
// recorded frame. Media time (the publisher's RTP timestamps, kept end to
// end) makes the count independent of how far behind a loaded machine's
// pipeline runs.
func checkTenSeconds(t *testing.T, path string) {
	t.Helper()
	fourcc, times, err := media.IVFFrameTimes(path)
	if err != nil || fourcc != "VP80" || len(times) == 0 {
		t.Fatalf("%s: %q %d frames: %v", path, fourcc, len(times), err)
	}
	from, to := times[0]+time.Second, times[0]+11*time.Second
	if last := times[len(times)-1]; last < to {
		t.Fatalf("%s: only %v of media recorded", path, last-times[0])
	}
	n := 0
	for _, at := range times {
		if at >= from && at < to {
			n++
		}
	}
	if n < 270 {
		t.Errorf("%s: %d of the 300 frames sent from 1 s to 11 s", path, n)
	}
}
