package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// mixerOf runs `f2f --json mixer ROOM`.
func mixerOf(ctx context.Context, t *testing.T, repo, room string) api.MixerInfo {
	t.Helper()
	var in api.MixerInfo
	if err := json.Unmarshal([]byte(cliOK(ctx, t, repo, "--json", "mixer", room)), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestMixerTopoEventsCLI: three daemons in a room elect a mixer that
// `f2f mixer` shows the same everywhere; a pin by nickname from any member
// moves it and --auto moves it back; `room probe` measures; `topo` prints
// JSON, DOT and a well-formed SVG of the three; `events` has the timeline;
// /metrics serves the node's gauges.
func TestMixerTopoEventsCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	a, b, c := newRepo(t), newRepo(t), newRepo(t)
	startDaemon(ctx, t, a)
	boot := tcpAddr(t, idLines(ctx, t, a))
	startDaemon(ctx, t, b, "--bootstrap", boot)
	startDaemon(ctx, t, c, "--bootstrap", boot)
	out := cliOK(ctx, t, a, "room", "create", "stage")
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	cliOK(ctx, t, b, "room", "join", key)
	cliOK(ctx, t, c, "room", "join", key)
	cliOK(ctx, t, b, "chat", "send", "stage", "/nick", "bob")
	cliOK(ctx, t, c, "chat", "send", "stage", "/nick", "carol")

	// All three agree on one mixer, and see carol's nickname.
	agreed := func(want string) api.MixerInfo {
		t.Helper()
		var in api.MixerInfo
		if err := testnet.WaitFor(ctx, func() (bool, error) {
			in = mixerOf(ctx, t, a, "stage")
			if in.Mixer == "" || (want != "" && in.Mixer != want) || len(in.Members) != 3 {
				return false, nil
			}
			for _, r := range []string{b, c} {
				if o := mixerOf(ctx, t, r, "stage"); o.Mixer != in.Mixer || o.Term != in.Term {
					return false, nil
				}
			}
			return true, nil
		}); err != nil {
			t.Fatalf("no agreement on mixer %q: %v (a sees %+v)", want, err, in)
		}
		return in
	}
	in := agreed("")
	text := cliOK(ctx, t, b, "mixer", "stage")
	for _, w := range []string{"room stage: mixer", "term", "reason:", "topology: mesh", "SCORE", "UPLOAD"} {
		if !strings.Contains(text, w) {
			t.Errorf("f2f mixer lacks %q:\n%s", w, text)
		}
	}

	// Once every report has its measured upload the election settles; then
	// pin (by nickname, from a) one of bob and carol that is not the mixer
	// (the lower-scoring if both), whom only the pin can make the mixer
	// now (hysteresis keeps a settled mixer); then --auto from b.
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		in = mixerOf(ctx, t, a, "stage")
		for _, m := range in.Members {
			if m.Report == nil || m.Report.Probed == 0 {
				return false, nil
			}
		}
		return len(in.Members) == 3, nil
	}); err != nil {
		t.Fatalf("reports never measured: %+v", in)
	}
	// Settled: no member beats the agreed mixer by the 20 % margin, so
	// only a pin moves it now.
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		in = agreed("")
		var best uint64
		for _, m := range in.Members {
			if m.Mixer {
				best = m.Score
			}
		}
		for _, m := range in.Members {
			if m.Score*100 > best*120 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("election never settled: %+v", in)
	}
	nick, repo := "carol", c
	for _, m := range in.Members { // sorted by score, best first
		if (m.Nick == "bob" || m.Nick == "carol") && !m.Mixer {
			nick = m.Nick
		}
	}
	if nick == "bob" {
		repo = b
	}
	target := strings.TrimSpace(idLines(ctx, t, repo)[0])
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		return strings.Contains(cliOK(ctx, t, a, "room", "peers", "stage"), nick), nil
	}); err != nil {
		t.Fatal(err)
	}
	cliOK(ctx, t, a, "mixer", "stage", "--set", nick)
	pinned := agreed(target)
	if pinned.Policy.Pin != target || !strings.Contains(pinned.Reason, "pinned") {
		t.Errorf("pinned state %+v", pinned)
	}
	if who := cliOK(ctx, t, b, "chat", "send", "stage", "/mixer"); !strings.Contains(who, nick) || !strings.Contains(who, "pinned") {
		t.Errorf("/mixer = %q", who)
	}
	cliOK(ctx, t, b, "mixer", "stage", "--auto")
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		return mixerOf(ctx, t, c, "stage").Policy.Pin == "", nil
	}); err != nil {
		t.Fatal("pin not cleared everywhere")
	}
	// Bad input: a pin to nobody, both --set and --auto, a bad topology.
	for _, args := range [][]string{
		{"mixer", "stage", "--set", "nobody"},
		{"mixer", "stage", "--set", "carol", "--auto"},
		{"mixer", "stage", "--topology", "ring"},
		{"mixer", "nosuchroom"},
	} {
		if res := cli(ctx, t, a, args...); res.Code == 0 {
			t.Errorf("%v succeeded", args)
		} else {
			oneErrLine(t, res.Stderr)
		}
	}

	// A probe to every member, and to one by nickname.
	probe := cliOK(ctx, t, a, "room", "probe", "stage")
	if strings.Count(probe, "MB/s")+strings.Count(probe, "kB/s") < 2 {
		t.Errorf("room probe = %q", probe)
	}
	var res []api.ProbeResult
	if err := json.Unmarshal([]byte(cliOK(ctx, t, a, "--json", "room", "probe", "stage", "carol")), &res); err != nil || len(res) != 1 || res[0].Bps <= 0 || res[0].Bytes < 1<<20 {
		t.Errorf("probe carol: %+v, %v", res, err)
	}

	// topo: JSON with all three and their connections; DOT; SVG.
	var g api.Graph
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		if err := json.Unmarshal([]byte(cliOK(ctx, t, a, "topo", "--room", "stage")), &g); err != nil {
			return false, err
		}
		from := map[string]bool{}
		for _, e := range g.Edges {
			if e.Kind == api.EdgeConn {
				from[e.From] = true
			}
		}
		return len(g.Nodes) == 3 && len(from) == 3, nil
	}); err != nil {
		t.Fatalf("topo never showed all three: %+v", g)
	}
	dot := cliOK(ctx, t, a, "topo", "--room", "stage", "--format", "dot")
	if !strings.HasPrefix(dot, "graph f2f {") || !strings.Contains(dot, "carol (") || !strings.Contains(dot, " -- ") {
		t.Errorf("dot:\n%s", dot)
	}
	svg := cliOK(ctx, t, a, "topo", "--room", "stage", "--format", "svg")
	dec := xml.NewDecoder(strings.NewReader(svg))
	circles := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			circles++
		}
	}
	if circles < 3+3 || !strings.Contains(svg, "carol (") { // 3 members + 3 legend dots
		t.Errorf("svg has %d circles:\n%s", circles, svg)
	}
	if own := cliOK(ctx, t, a, "topo"); !strings.Contains(own, `"role": "me"`) {
		t.Errorf("node topo = %s", own)
	}
	if res := cli(ctx, t, a, "topo", "--format", "png"); res.Code == 0 {
		t.Error("topo --format png succeeded")
	}

	// events: the timeline has connections, joins and an election.
	ev := cliOK(ctx, t, a, "events")
	for _, w := range []string{"peer connected: ", "stage: ", "mixer is now "} {
		if !strings.Contains(ev, w) {
			t.Errorf("events lack %s:\n%s", w, ev)
		}
	}

	// /metrics with the token.
	body := metricsText(ctx, t, a)
	for _, w := range []string{"f2f_room_mixer_term", "f2f_room_members", "f2f_peers_connected", "go_goroutines"} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
