package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

// metricsText fetches the daemon's /metrics with the repo's token.
func metricsText(ctx context.Context, t *testing.T, repo string) string {
	t.Helper()
	addr := strings.TrimSpace(string(readFile(t, repo, api.APIFile)))
	token := strings.TrimSpace(string(readFile(t, repo, api.TokenFile)))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+api.PathMetrics, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// metric returns the value of the first line of /metrics starting with
// name, or "".
func metric(ctx context.Context, t *testing.T, repo, name string) string {
	t.Helper()
	for _, l := range strings.Split(metricsText(ctx, t, repo), "\n") {
		if strings.HasPrefix(l, name) {
			return l[strings.LastIndex(l, " ")+1:]
		}
	}
	return ""
}

// What a newcomer saw in rooms: one member count everywhere, mixer
// reasons in plain words, names that resolve among joined rooms, `room
// forget`, readable events and NDJSON, and a "left" line when a daemon
// shuts down.
func TestNewcomerRooms(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	a, b, c := newRepo(t), newRepo(t), newRepo(t)
	startDaemon(ctx, t, a)
	boot := tcpAddr(t, idLines(ctx, t, a))
	key := lastLine(cliOK(ctx, t, a, "room", "create", "lobby"))

	// Alone: the mixer reason says so in words ("the only member", not
	// "best score of 1 members").
	var in api.MixerInfo
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		in = mixerOf(ctx, t, a, "lobby")
		return in.Mixer != "", nil
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Reason, "is the only member") || strings.Contains(in.Reason, "1 members") {
		t.Errorf("lone mixer reason %q", in.Reason)
	}

	startDaemon(ctx, t, b, "--bootstrap", boot)
	pc := startDaemon(ctx, t, c, "--bootstrap", boot)
	cliOK(ctx, t, b, "room", "join", key)
	cliOK(ctx, t, c, "room", "join", key)
	cliOK(ctx, t, c, "chat", "send", "lobby", "/nick", "carol")

	// Three people: room ls, /who, /metrics and the topology all say 3.
	var rooms []api.Room
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		if err := json.Unmarshal([]byte(cliOK(ctx, t, a, "--json", "room", "ls")), &rooms); err != nil {
			return false, err
		}
		return len(rooms) == 1 && rooms[0].Members == 3, nil
	}); err != nil {
		t.Fatalf("room ls never showed 3 members: %+v", rooms)
	}
	if who := cliOK(ctx, t, a, "chat", "send", "lobby", "/who"); !strings.Contains(who, "3 member(s)") {
		t.Errorf("/who = %q, want 3 member(s)", who)
	}
	if m := metric(ctx, t, a, "f2f_room_members{"); m != "3" {
		t.Errorf("f2f_room_members = %q, want 3", m)
	}
	if g := mixerOf(ctx, t, a, "lobby"); len(g.Members) != 3 {
		t.Errorf("mixer lists %d members, want 3", len(g.Members))
	}
	if ls := cliOK(ctx, t, a, "room", "ls"); !regexp.MustCompile(`lobby\s.*\b3\b`).MatchString(ls) {
		t.Errorf("room ls = %q, want lobby with 3 members", ls)
	}

	// A second room of the same name: create warns; the name is
	// ambiguous while both are joined, and means the joined one after
	// a leave; forget needs --yes off a terminal, then drops the room.
	res := cli(ctx, t, a, "room", "create", "lobby")
	if res.Code != 0 || !strings.Contains(res.Stderr, `already have 1 other room(s) named "lobby"`) {
		t.Errorf("second create: code %d, stderr %q", res.Code, res.Stderr)
	}
	key2 := lastLine(res.Stdout)
	if res := cli(ctx, t, a, "chat", "send", "lobby", "hi"); res.Code == 0 || !strings.Contains(res.Stderr, "ambiguous") {
		t.Errorf("send with two joined lobbies: code %d, stderr %q", res.Code, res.Stderr)
	}
	cliOK(ctx, t, a, "room", "leave", key2)
	cliOK(ctx, t, a, "chat", "send", "lobby", "after the leave")
	waitLog(ctx, t, b, "lobby", "after the leave")
	if res := cli(ctx, t, a, "room", "forget", key2); res.Code == 0 || !strings.Contains(res.Stderr, "--yes") {
		t.Errorf("forget without --yes: code %d, stderr %q", res.Code, res.Stderr)
	}
	if out := cliOK(ctx, t, a, "room", "forget", key2, "--yes"); !strings.Contains(out, `forgot room "lobby"`) {
		t.Errorf("forget: %q", out)
	}
	if ls := cliOK(ctx, t, a, "--json", "room", "ls"); strings.Contains(ls, key2) {
		t.Errorf("the forgotten room is still listed: %s", ls)
	}
	if res := cli(ctx, t, a, "chat", "log", key2); res.Code == 0 || !strings.Contains(res.Stderr, "unknown room") {
		t.Errorf("log of a forgotten room: code %d, stderr %q", res.Code, res.Stderr)
	}

	// events: readable lines, no Go maps; --json is NDJSON, also with
	// --follow.
	ev := cliOK(ctx, t, a, "events")
	for _, w := range []string{`joined room "lobby"`, `lobby: (peer-\w+|\S+ \(…\w+\)) joined`, `forgot room "lobby"`, `mixer is now \S+ \(term \d+\): `} {
		if !regexp.MustCompile(w).MatchString(ev) {
			t.Errorf("events lack %q:\n%s", w, ev)
		}
	}
	if regexp.MustCompile(`room [0-9a-f]{12}:`).MatchString(ev) {
		t.Errorf("events name a room by its hash:\n%s", ev)
	}
	if strings.Contains(ev, "map[") {
		t.Errorf("events print Go maps:\n%s", ev)
	}
	if evs := ndjson[api.Event](t, cliOK(ctx, t, a, "--json", "events")); len(evs) < 5 {
		t.Errorf("--json events: %d events", len(evs))
	}
	fctx, cancel := context.WithCancel(ctx)
	follow := exec.CommandContext(fctx, f2fBin, "--repo", a, "--json", "events", "--follow")
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for i := 0; i < 3 && sc.Scan(); i++ {
		var e api.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Type == "" {
			t.Errorf("events --follow --json line %d: %v: %q", i+1, err, sc.Text())
		}
	}
	cancel()
	_ = follow.Wait()

	// carol's daemon shuts down: a's log says she left.
	if err := pc.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitLog(ctx, t, a, "lobby", "<-- carol left")
}

// The daemon's banner comes first; log lines of the start (here at debug
// level, of a repo with a room to rejoin) follow it, also when stdout and
// stderr are one terminal.
func TestDaemonBannerFirst(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	repo := newRepo(t)
	p := startDaemon(ctx, t, repo)
	cliOK(ctx, t, repo, "room", "create", "lobby")
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	// A bootstrap peer nobody listens for: its warning comes at once.
	dead := "/ip4/127.0.0.1/tcp/1/p2p/" + cliOKOffline(t, newRepo(t))
	d := exec.CommandContext(ctx, f2fBin, "--repo", repo, "daemon", "--api", "127.0.0.1:0", "--log-level", "debug", "--bootstrap", dead)
	d.Stdout, d.Stderr = &out, &out
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		return strings.Contains(out.String(), node.ReadyLine), nil
	}); err != nil {
		t.Fatal(err)
	}
	cliOK(ctx, t, repo, "wait")
	_ = d.Process.Signal(syscall.SIGTERM)
	_ = d.Wait()
	if !strings.HasPrefix(out.String(), "face2face ") || !strings.Contains(out.String(), "level=") {
		t.Errorf("the daemon's output does not start with its banner (or has no log lines):\n%s", out.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
