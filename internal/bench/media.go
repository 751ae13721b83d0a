package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// MediaBenchResult is what RunMediaBench measured.
type MediaBenchResult struct {
	Nodes  int    `json:"nodes"`
	Mode   string `json:"mode"`
	Window string `json:"window"`
	// MixerCores and OtherCores are the CPU (in cores) the mixer's daemon
	// and the median other daemon used while everyone published.
	MixerCores float64 `json:"mixer_cores"`
	OtherCores float64 `json:"other_cores"`
	// MixerCoresPerParticipant is the mixer's CPU per member it serves.
	MixerCoresPerParticipant float64 `json:"mixer_cores_per_participant"`
	// ForwardedPPS is the RTP packets per second the mixer sent, and
	// PacketsPerCoreSecond the same per second of its CPU.
	ForwardedPPS         float64 `json:"forwarded_pps"`
	PacketsPerCoreSecond float64 `json:"packets_per_core_second"`
	// Failover is the time until the survivors agreed on a new mixer after
	// the mixer was killed; Gap the longest pause in video frames a
	// recording member saw afterwards (0: none of 250 ms or more).
	Failover time.Duration `json:"failover"`
	Gap      time.Duration `json:"gap"`
}

// ProcCPU is the CPU time a process has used (utime+stime from
// /proc/PID/stat, in clock ticks of 10 ms).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0, errors.New("bad /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond, nil
}

// RunMediaBench starts n `bin daemon` processes (local profile, repos in
// dir), has them form a room, and every one publish the test media; one
// records. Over window it measures each daemon's CPU and the packets the
// mixer sends; then it kills the mixer and measures the failover and the
// longest pause in the recorded video.
func RunMediaBench(ctx context.Context, bin, dir string, n int, window time.Duration) (res MediaBenchResult, err error) {
	if n < 3 {
		return res, errors.New("bench: the media benchmark needs at least 3 nodes")
	}
	res.Nodes, res.Window = n, window.String()
	var procs []*testnet.Proc
	defer func() {
		for _, p := range procs {
			_ = p.Stop(20 * time.Second)
		}
	}()
	for i := 0; i < n; i++ {
		args := []string{"--no-bootstrap"}
		if i > 0 {
			id, err := procs[0].Client.ID(ctx)
			if err != nil {
				return res, err
			}
			args = []string{"--bootstrap", id.Addresses[0]}
		}
		p, err := testnet.StartDaemon(ctx, bin, filepath.Join(dir, fmt.Sprintf("node%d", i)), args...)
		if err != nil {
			return res, fmt.Errorf("node%d: %w", i, err)
		}
		procs = append(procs, p)
	}
	info, err := procs[0].Client.CreateRoom(ctx, "bench", "")
	if err != nil {
		return res, err
	}
	for _, p := range procs[1:] {
		if _, err := p.Client.JoinRoom(ctx, info.Key, ""); err != nil {
			return res, err
		}
	}
	// agreed waits until every daemon in ps sees them all alive, every
	// report measured (the election has settled) and the same mixer, not
	// the one named by not.
	agreed := func(ps []*testnet.Proc, not string) (string, error) {
		var mixer string
		err := testnet.WaitFor(ctx, func() (bool, error) {
			mixer = ""
			for i, p := range ps {
				in, err := p.Client.Mixer(ctx, info.Key)
				if err != nil {
					return false, err
				}
				alive, measured := 0, 0
				for _, m := range in.Members {
					if m.Alive {
						alive++
						if m.Report != nil && m.Report.Probed > 0 {
							measured++
						}
					}
				}
				if in.Mixer == "" || in.Mixer == not || alive != len(ps) || measured != len(ps) || i > 0 && in.Mixer != mixer {
					return false, nil
				}
				mixer = in.Mixer
			}
			return true, nil
		})
		return mixer, err
	}
	mixer, err := agreed(procs, "")
	if err != nil {
		return res, fmt.Errorf("no mixer: %w", err)
	}
	ivf, ogg, err := testnet.WriteTestMedia(dir)
	if err != nil {
		return res, err
	}
	ids := make([]string, n)
	mi, ri := -1, -1
	for i, p := range procs {
		id, err := p.Client.ID(ctx)
		if err != nil {
			return res, err
		}
		ids[i] = id.ID
		if id.ID == mixer {
			mi = i
		} else if ri < 0 {
			ri = i
		}
	}
	if mi < 0 {
		return res, fmt.Errorf("mixer %s is none of the daemons", mixer)
	}
	rec := procs[ri].Client
	if _, err := rec.MediaRecord(ctx, info.Key, filepath.Join(dir, "rec")); err != nil {
		return res, err
	}
	for i, p := range procs {
		if _, err := p.Client.MediaPublish(ctx, info.Key, api.PublishRequest{Video: ivf, Audio: ogg, Loop: true}); err != nil {
			return res, fmt.Errorf("node%d publish: %w", i, err)
		}
	}
	frames := func(st api.MediaStats, origin string) uint64 {
		for _, f := range st.Files {
			if f.Origin == origin && f.Kind == "video" {
				return f.Frames
			}
		}
		return 0
	}
	waitFrames := func(except int, base map[string]uint64) error {
		return testnet.WaitFor(ctx, func() (bool, error) {
			st, err := rec.MediaStats(ctx, info.Key)
			if err != nil {
				return false, err
			}
			for i, id := range ids {
				if i != ri && i != except && frames(st, id) < base[id]+30 {
					return false, nil
				}
			}
			return true, nil
		})
	}
	if err := waitFrames(-1, map[string]uint64{}); err != nil {
		return res, fmt.Errorf("media did not flow: %w", err)
	}
	sent := func() (uint64, error) {
		st, err := procs[mi].Client.MediaStats(ctx, info.Key)
		if err != nil {
			return 0, err
		}
		res.Mode = st.Mode
		var n uint64
		for _, e := range st.Edges {
			if e.Direction == "send" {
				for _, t := range e.Tracks {
					n += t.Packets
				}
			}
		}
		return n, nil
	}
	cpus := func() ([]time.Duration, error) {
		out := make([]time.Duration, n)
		for i, p := range procs {
			c, err := ProcCPU(p.Cmd.Process.Pid)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	p0, err := sent()
	if err != nil {
		return res, err
	}
	c0, err := cpus()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	timer := time.NewTimer(window)
	select {
	case <-ctx.Done():
		timer.Stop()
		return res, ctx.Err()
	case <-timer.C:
	}
	c1, err := cpus()
	if err != nil {
		return res, err
	}
	p1, err := sent()
	if err != nil {
		return res, err
	}
	wall := time.Since(t0).Seconds()
	var others []time.Duration
	for i := range procs {
		d := c1[i] - c0[i]
		if i == mi {
			res.MixerCores = d.Seconds() / wall
			res.PacketsPerCoreSecond = float64(p1-p0) / d.Seconds()
		} else {
			others = append(others, d)
		}
	}
	res.OtherCores = Median(others).Seconds() / wall
	res.MixerCoresPerParticipant = res.MixerCores / float64(n-1)
	res.ForwardedPPS = float64(p1-p0) / wall

	// Kill the mixer (SIGKILL: no goodbye) and time the failover.
	st, err := rec.MediaStats(ctx, info.Key)
	if err != nil {
		return res, err
	}
	base := map[string]uint64{}
	for _, id := range ids {
		base[id] = frames(st, id)
	}
	killed := time.Now()
	procs[mi].Kill()
	rest := append(append([]*testnet.Proc{}, procs[:mi]...), procs[mi+1:]...)
	if _, err := agreed(rest, mixer); err != nil {
		return res, fmt.Errorf("no failover: %w", err)
	}
	res.Failover = time.Since(killed)
	if err := waitFrames(mi, base); err != nil {
		return res, fmt.Errorf("media did not resume: %w", err)
	}
	st, err = rec.MediaStats(ctx, info.Key)
	if err != nil {
		return res, err
	}
	for _, s := range st.Streams {
		for _, g := range s.Gaps {
			if g.At.After(killed) && s.Origin != ids[mi] {
				res.Gap = max(res.Gap, time.Duration(g.MS*float64(time.Millisecond)))
			}
		}
	}
	return res, nil
}
