package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

func mediaStatsOf(t *testing.T, out string) api.MediaStats {
	t.Helper()
	var st api.MediaStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return st
}

// TestMediaCLI: three daemons in a room (a mesh); two publish the test
// media with `f2f media publish`, the third records with `f2f media
// record`; `f2f media stats` shows the edges and streams; `f2f media stop`
// finishes files that ffmpeg decodes; bad input gets one error line.
func TestMediaCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	a, b, c := newRepo(t), newRepo(t), newRepo(t)
	startDaemon(ctx, t, a)
	boot := tcpAddr(t, idLines(ctx, t, a))
	startDaemon(ctx, t, b, "--bootstrap", boot)
	startDaemon(ctx, t, c, "--bootstrap", boot)
	out := cliOK(ctx, t, a, "room", "create", "call")
	key := lastLine(out)
	cliOK(ctx, t, b, "room", "join", key)
	cliOK(ctx, t, c, "room", "join", key)
	ivf, ogg, err := testnet.WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "rec")

	// Bad input: one clear line each, nothing started.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"media", "publish", "call"}, "give --video"},
		{[]string{"media", "publish", "call", "--video", ogg}, "unsupported media file"},
		{[]string{"media", "publish", "call", "--audio", ivf}, "not an Ogg"},
		{[]string{"media", "publish", "call", "--video", filepath.Join(rec, "missing.ivf")}, "no such file"},
		{[]string{"media", "publish", "nosuchroom", "--video", ivf}, "room"},
		{[]string{"media", "record", "call"}, "give --dir"},
		{[]string{"media", "stop", "call"}, "nothing is published or recorded"},
		{[]string{"media", "mix", "call", "maybe"}, "want on or off"},
		{[]string{"media", "mix", "call", "off", "--video"}, "--video goes with on"},
	} {
		r := cli(ctx, t, c, tc.args...)
		if r.Code == 0 {
			t.Fatalf("%v succeeded", tc.args)
		}
		if line := oneErrLine(t, r.Stderr); !strings.Contains(line, tc.want) {
			t.Errorf("%v: %q lacks %q", tc.args, line, tc.want)
		}
	}

	cliOK(ctx, t, c, "media", "record", "call", "--dir", rec)
	cliOK(ctx, t, a, "media", "publish", "call", "--video", ivf, "--audio", ogg, "--loop")
	cliOK(ctx, t, b, "media", "publish", "call", "--video", ivf, "--loop")
	if r := cli(ctx, t, a, "media", "publish", "call", "--video", ivf); r.Code == 0 || !strings.Contains(r.Stderr, "already publishing") {
		t.Fatalf("second publish: %d %s", r.Code, r.Stderr)
	}
	ids := map[string]string{}
	for _, r := range []string{a, b} {
		ids[r] = idLines(ctx, t, r)[0]
	}
	frames := func(st api.MediaStats, origin, kind string) uint64 {
		for _, f := range st.Files {
			if f.Origin == origin && f.Kind == kind {
				return f.Frames
			}
		}
		return 0
	}
	var st api.MediaStats
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		st = mediaStatsOf(t, cliOK(ctx, t, c, "--json", "media", "stats", "call"))
		return frames(st, ids[a], "video") >= 60 && frames(st, ids[a], "audio") >= 60 && frames(st, ids[b], "video") >= 60, nil
	}); err != nil {
		t.Fatalf("recording: %v (%+v)", err, st.Files)
	}
	if st.Mode != "mesh" || st.Recording != rec {
		t.Fatalf("stats: mode %s recording %s", st.Mode, st.Recording)
	}
	text := cliOK(ctx, t, c, "media", "stats", "call")
	for _, w := range []string{"mesh, 3 members", "recording into " + rec, "recv", "KBPS", "JITTER MS", "MAX GAP MS", "/video", "/audio"} {
		if !strings.Contains(text, w) {
			t.Errorf("media stats lacks %q:\n%s", w, text)
		}
	}
	// a's sending edges carry its two tracks to b and c.
	ast := mediaStatsOf(t, cliOK(ctx, t, a, "--json", "media", "stats", "call"))
	sends := 0
	for _, e := range ast.Edges {
		if e.Direction == "send" {
			sends++
			if len(e.Tracks) != 2 {
				t.Errorf("a sends %d tracks to %s", len(e.Tracks), e.Peer)
			}
		}
	}
	if sends != 2 || ast.Publishing == nil || ast.Publishing.VideoFrames == 0 {
		t.Fatalf("a: %d send edges, publishing %+v", sends, ast.Publishing)
	}

	// Mixed audio: refused in a mesh room and at the mixer itself.
	if r := cli(ctx, t, c, "media", "mix", "call", "on"); r.Code != 1 || !strings.Contains(oneErrLine(t, r.Stderr), "mixed audio needs a star room") {
		t.Errorf("mix on in a mesh: %d %q", r.Code, r.Stderr)
	}
	cliOK(ctx, t, a, "mixer", "call", "--topology", "star")
	var mx string
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		mx = ""
		for _, r := range []string{a, b, c} {
			m := mixerOf(ctx, t, r, "call")
			if m.Topology != "star" || m.Mixer == "" || (mx != "" && m.Mixer != mx) {
				return false, nil
			}
			mx = m.Mixer
			if mediaStatsOf(t, cliOK(ctx, t, r, "--json", "media", "stats", "call")).Mode != "star" {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	asker := c
	if idLines(ctx, t, c)[0] == mx {
		asker = b
	}
	// The one build mixes: a member's ask is taken, and taken back.
	if out := cliOK(ctx, t, asker, "media", "mix", "call", "on"); !strings.Contains(out, "mixed audio on for call") {
		t.Errorf("mix on: %q", out)
	}
	cliOK(ctx, t, asker, "media", "mix", "call", "off")
	// Composed video: the mixer answers, stats say who composes, and off
	// goes back to a stream per publisher.
	if out := cliOK(ctx, t, asker, "media", "mix", "call", "on", "--video"); !strings.Contains(out, "mixed audio and composed video on for call") {
		t.Errorf("mix on --video: %q", out)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		return strings.Contains(cliOK(ctx, t, asker, "media", "stats", "call"), "composed video from"), nil
	}); err != nil {
		t.Errorf("stats never say who composes: %v", err)
	}
	cliOK(ctx, t, asker, "media", "mix", "call", "off")
	var mixerRepo string
	for _, r := range []string{a, b, c} {
		if idLines(ctx, t, r)[0] == mx {
			mixerRepo = r
		}
	}
	if r := cli(ctx, t, mixerRepo, "media", "mix", "call", "on"); r.Code != 1 || !strings.Contains(oneErrLine(t, r.Stderr), "room's mixer") {
		t.Errorf("mix on at the mixer: %d %q", r.Code, r.Stderr)
	}

	out = cliOK(ctx, t, c, "media", "stop", "call")
	if !strings.Contains(out, "stopped recording") {
		t.Fatalf("stop: %s", out)
	}
	want := []string{ids[a] + "-video.ivf", ids[a] + "-audio.ogg", ids[b] + "-video.ivf"}
	for _, name := range want {
		path := filepath.Join(rec, name)
		if !strings.Contains(out, path) {
			t.Errorf("stop output lacks %s:\n%s", path, out)
		}
		if err := testnet.FFmpegDecode(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(rec, ids[b]+"-audio.ogg")); err == nil {
		t.Errorf("b published no audio, yet there is a file of it")
	}
	cliOK(ctx, t, a, "media", "stop", "call")
	cliOK(ctx, t, b, "media", "stop", "call")
}

// A mixer whose CPU budget (config.json media.compose_budget) cannot take
// a composed stream refuses it: `media mix ROOM on --video` fails with the
// mixer's reason in one line and takes the ask back; mixed audio stays on.
func TestComposeRefusedCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	a, b, c := newRepo(t), newRepo(t), newRepo(t)
	for _, r := range []string{a, b, c} {
		var cfg map[string]any
		if err := json.Unmarshal(readFile(t, r, node.ConfigFile), &cfg); err != nil {
			t.Fatal(err)
		}
		m, _ := cfg["media"].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m["compose_budget"] = 0.0001 // 0.1 ms of CPU a second
		cfg["media"] = m
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, r, node.ConfigFile, string(out))
	}
	startDaemon(ctx, t, a)
	boot := tcpAddr(t, idLines(ctx, t, a))
	startDaemon(ctx, t, b, "--bootstrap", boot)
	startDaemon(ctx, t, c, "--bootstrap", boot)
	key := lastLine(cliOK(ctx, t, a, "room", "create", "call"))
	cliOK(ctx, t, b, "room", "join", key)
	cliOK(ctx, t, c, "room", "join", key)
	cliOK(ctx, t, a, "mixer", "call", "--topology", "star")
	// The mixer once every report is measured: the election's last word.
	var mx string
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		mx = ""
		for _, r := range []string{a, b, c} {
			m := mixerOf(ctx, t, r, "call")
			if m.Topology != "star" || m.Mixer == "" || (mx != "" && m.Mixer != mx) || len(m.Members) != 3 {
				return false, nil
			}
			for _, mem := range m.Members {
				if mem.Report == nil || mem.Report.Probed == 0 {
					return false, nil
				}
			}
			mx = m.Mixer
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	var asker, other string
	for _, r := range []string{a, b, c} {
		if idLines(ctx, t, r)[0] == mx {
			continue
		}
		if asker == "" {
			asker = r
		} else {
			other = r
		}
	}
	ivf, _, err := testnet.WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cliOK(ctx, t, other, "media", "publish", "call", "--video", ivf, "--loop")
	r := cli(ctx, t, asker, "media", "mix", "call", "on", "--video")
	if r.Code != 1 {
		t.Fatalf("on --video over budget: exit %d, %q", r.Code, r.Stderr)
	}
	if line := oneErrLine(t, r.Stderr); !strings.Contains(line, "the mixer refused composed video (mixed audio stays on)") || !strings.Contains(line, "over this node's budget") {
		t.Fatalf("refusal: %q", line)
	}
	// The refused ask is taken back; mixed audio stays.
	out := cliOK(ctx, t, asker, "media", "stats", "call")
	if strings.Contains(out, "composed video") || !strings.Contains(out, "mixed audio from") {
		t.Fatalf("stats after the refusal:\n%s", out)
	}
}
