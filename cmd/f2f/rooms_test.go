package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/testnet"
)

// chatLog runs `f2f chat log ROOM` and returns its stdout.
func chatLog(ctx context.Context, t *testing.T, repo, room string) string {
	t.Helper()
	return cliOK(ctx, t, repo, "chat", "log", room)
}

func waitLog(ctx context.Context, t *testing.T, repo, room, want string) {
	t.Helper()
	var last string
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		last = chatLog(ctx, t, repo, room)
		return strings.Contains(last, want), nil
	}); err != nil {
		t.Fatalf("chat log of %s never showed %q: %v\nlast:\n%s", repo, want, err, last)
	}
}

func TestRoomChatCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	a, b := newRepo(t), newRepo(t)
	startDaemon(ctx, t, a)
	startDaemon(ctx, t, b, "--bootstrap", tcpAddr(t, idLines(ctx, t, a)))

	out := cliOK(ctx, t, a, "room", "create", "lobby")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "f2f1") {
		t.Fatalf("room create's last line %q is not a room key", key)
	}
	cliOK(ctx, t, b, "room", "join", key)
	cliOK(ctx, t, b, "chat", "send", "lobby", "/nick", "bob")
	cliOK(ctx, t, b, "chat", "send", "lobby", "hello", "from", "b")
	waitLog(ctx, t, a, "lobby", "<bob> hello from b")
	cliOK(ctx, t, a, "chat", "send", key, "/me", "waves")
	waitLog(ctx, t, b, "lobby", "waves")

	// Both logs become the same (a's join reaches b by history sync,
	// which may come after a's later message by gossip), and --json parses.
	var la, lb string
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		la, lb = chatLog(ctx, t, a, "lobby"), chatLog(ctx, t, b, "lobby")
		return la == lb, nil
	}); err != nil {
		t.Errorf("logs differ:\n%s\n---\n%s", la, lb)
	}
	if msgs := ndjson[map[string]any](t, cliOK(ctx, t, a, "--json", "chat", "log", "lobby")); len(msgs) < 3 {
		t.Fatalf("--json chat log: %d entries", len(msgs))
	}

	// /who and /help print without sending; an unknown command is not sent.
	if who := cliOK(ctx, t, a, "chat", "send", "lobby", "/who"); !strings.Contains(who, "bob") {
		t.Errorf("/who = %q, want bob in it", who)
	}
	res := cli(ctx, t, a, "chat", "send", "lobby", "/dance")
	if res.Code == 0 || !strings.Contains(res.Stdout, "/nick NAME") || !strings.Contains(oneErrLine(t, res.Stderr), "unknown chat command /dance") {
		t.Errorf("unknown command: code %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if strings.Contains(chatLog(ctx, t, a, "lobby"), "/dance") {
		t.Error("the unknown command was sent")
	}

	// room ls and room peers.
	if ls := cliOK(ctx, t, a, "room", "ls"); !strings.Contains(ls, "lobby") || !strings.Contains(ls, key) {
		t.Errorf("room ls = %q", ls)
	}
	if peers := cliOK(ctx, t, a, "room", "peers", "lobby"); !strings.Contains(peers, "bob") {
		t.Errorf("room peers = %q", peers)
	}

	// Password rooms: wrong and missing passwords fail clearly and fast.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = cliOK(ctx, t, a, "room", "create", "secret", "--password-file", pwFile)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	pkey := lines[len(lines)-1]
	res = cli(ctx, t, b, "room", "join", pkey, "--password", "wrong")
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), `wrong password for room "secret"`) {
		t.Errorf("wrong password: code %d, stderr %q", res.Code, res.Stderr)
	}
	res = cli(ctx, t, b, "room", "join", pkey)
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "password") {
		t.Errorf("missing password: code %d, stderr %q", res.Code, res.Stderr)
	}
	cliOK(ctx, t, b, "room", "join", pkey, "--password", "s3cret")
	cliOK(ctx, t, b, "chat", "send", "secret", "psst")
	waitLog(ctx, t, a, "secret", "psst")

	// Leave: the room is no longer joined, its log stays.
	cliOK(ctx, t, b, "room", "leave", "lobby")
	res = cli(ctx, t, b, "chat", "send", "lobby", "anyone?")
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "not joined") {
		t.Errorf("send after leave: code %d, stderr %q", res.Code, res.Stderr)
	}
	waitLog(ctx, t, a, "lobby", "<-- bob left")
}

func TestChatSurvivesKill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	a := newRepo(t)
	p := startDaemon(ctx, t, a)
	cliOK(ctx, t, a, "room", "create", "diary")
	for _, text := range []string{"one", "two", "three"} {
		cliOK(ctx, t, a, "chat", "send", "diary", text)
	}
	p.Kill()
	startDaemon(ctx, t, a)
	log := chatLog(ctx, t, a, "diary")
	for _, text := range []string{"one", "two", "three"} {
		if !strings.Contains(log, "> "+text) {
			t.Errorf("after kill -9 the log lacks %q:\n%s", text, log)
		}
	}
	// The room was rejoined: sending works without joining again.
	cliOK(ctx, t, a, "chat", "send", "diary", "four")
}

func TestRoomBadInput(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	a := newRepo(t)
	startDaemon(ctx, t, a)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"room", "join", "not-a-key"}, "room key"},
		{[]string{"room", "join", "f2f1zzzz"}, "room key"},
		{[]string{"room", "peers", "nowhere"}, "unknown room"},
		{[]string{"chat", "send", "nowhere", "hi"}, "unknown room"},
		{[]string{"chat", "log", "nowhere"}, "unknown room"},
		{[]string{"chat", "log", "x", "--since", "yesterday-ish"}, "--since"},
		{[]string{"room", "create", "x", "--password", "a", "--password-file", "b"}, "conflict"},
		{[]string{"room", "create", strings.Repeat("n", 65)}, "name"},
		{[]string{"chat", "send", "lobby"}, "takes a room and the text"},
	} {
		res := cli(ctx, t, a, tc.args...)
		if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), tc.want) {
			t.Errorf("f2f %v: code %d, stderr %q; want an error containing %q", tc.args, res.Code, res.Stderr, tc.want)
		}
	}
}
