package testnet

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/node"
)

// The small test media (made with ffmpeg): 3 s of testsrc, 160x120 at 30
// fps, VP8 in IVF with a keyframe every 15 frames; 3 s of a 440 Hz tone,
// Opus in Ogg with one 20 ms packet per page.
//
//go:embed testdata/test.ivf
var testIVF []byte

//go:embed testdata/test.ogg
var testOgg []byte

// WriteTestMedia writes the test video and audio into dir.
func WriteTestMedia(dir string) (ivf, ogg string, err error) {
	ivf, ogg = filepath.Join(dir, "test.ivf"), filepath.Join(dir, "test.ogg")
	if err := os.WriteFile(ivf, testIVF, 0o644); err != nil {
		return "", "", err
	}
	return ivf, ogg, os.WriteFile(ogg, testOgg, 0o644)
}

// StartCall makes every node publish the files (looping) in the room and
// record into dirs[i], and returns the room's hash.
func StartCall(ctx context.Context, nodes []*node.Node, ref string, spec media.PublishSpec, dirs []string) (string, error) {
	hash, err := nodes[0].Rooms().RoomHash(ctx, ref)
	if err != nil {
		return "", err
	}
	for i, nd := range nodes {
		if dirs != nil {
			if err := nd.Media().Record(hash, dirs[i]); err != nil {
				return "", fmt.Errorf("node %d record: %w", i, err)
			}
		}
		if err := nd.Media().Publish(hash, spec); err != nil {
			return "", fmt.Errorf("node %d publish: %w", i, err)
		}
	}
	return hash, nil
}

// RecordedFrames is how many of origin's video frames (or audio packets,
// kind "audio") nd has recorded in the room.
func RecordedFrames(nd *node.Node, hash string, origin *node.Node, kind string) uint64 {
	for _, f := range nd.Media().Stats(hash).Files {
		if f.Origin == origin.ID().String() && f.Kind == kind {
			return f.Frames
		}
	}
	return 0
}

// WaitRecordingAll waits until every node records video and audio of
// every other node.
func WaitRecordingAll(ctx context.Context, nodes []*node.Node, hash string, min uint64) error {
	return WaitFor(ctx, func() (bool, error) {
		for _, a := range nodes {
			for _, b := range nodes {
				if a != b && (RecordedFrames(a, hash, b, "video") < min || RecordedFrames(a, hash, b, "audio") < min) {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// FrameCounts are the frames each publisher sent and each receiver
// recorded of it over a window.
type FrameCounts struct {
	Sent     []uint64   // per publisher
	Recorded [][]uint64 // [receiver][publisher]
}

func frameSnapshot(nodes []*node.Node, hash string) FrameCounts {
	fc := FrameCounts{Sent: make([]uint64, len(nodes)), Recorded: make([][]uint64, len(nodes))}
	for i, nd := range nodes {
		if p := nd.Media().Stats(hash).Publishing; p != nil {
			fc.Sent[i] = p.VideoFrames
		}
		fc.Recorded[i] = make([]uint64, len(nodes))
		for j, o := range nodes {
			if i != j {
				fc.Recorded[i][j] = RecordedFrames(nd, hash, o, "video")
			}
		}
	}
	return fc
}

// MeasureFrames counts the video frames sent and recorded over d.
func MeasureFrames(ctx context.Context, nodes []*node.Node, hash string, d time.Duration) (FrameCounts, error) {
	a := frameSnapshot(nodes, hash)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return FrameCounts{}, ctx.Err()
	case <-t.C:
	}
	b := frameSnapshot(nodes, hash)
	for i := range b.Sent {
		b.Sent[i] -= a.Sent[i]
		for j := range b.Recorded[i] {
			b.Recorded[i][j] -= a.Recorded[i][j]
		}
	}
	return b, nil
}

// MaxGapSince is the longest pause in video frames any node saw from any
// publisher after t (0 if none was reported).
func MaxGapSince(nodes []*node.Node, hash string, t time.Time) time.Duration {
	var worst time.Duration
	for _, nd := range nodes {
		for _, s := range nd.Media().Stats(hash).Streams {
			for _, g := range s.Gaps {
				if g.At.After(t) {
					worst = max(worst, time.Duration(g.MS*float64(time.Millisecond)))
				}
			}
		}
	}
	return worst
}

// FFmpegDecode decodes a recording with ffmpeg and returns an error if
// ffmpeg is missing, fails, or prints anything (it prints only errors).
func FFmpegDecode(ctx context.Context, path string) error {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("ffmpeg is needed to check recordings (apt-get install ffmpeg): %w", err)
	}
	out, err := exec.CommandContext(ctx, ff, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		return fmt.Errorf("ffmpeg %s: %v\n%s", path, err, out)
	}
	return nil
}
