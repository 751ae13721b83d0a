package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/node"
)

// readmeBlock returns the first ```sh block after the README heading that
// starts with heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no heading %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	if start < 0 {
		t.Fatalf("no ```sh block after %q", heading)
	}
	s = s[start+len("```sh\n"):]
	end := strings.Index(s, "```")
	if end < 0 {
		t.Fatalf("unterminated block after %q", heading)
	}
	return s[:end]
}

// The README's quickstart, pasted into a shell as one block, starts two
// daemons and the second lists the first as its peer. It runs as written;
// the only changes: /tmp/a and /tmp/b become this test's dirs, and `make`
// is a stand-in that puts the binary TestMain built where `make build`
// puts it (bin/f2f under the working dir).
func TestReadmeQuickstartAsOneBlock(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	block := readmeBlock(t, "## Quickstart")
	if !strings.Contains(block, "f2f --repo /tmp/b peers") {
		t.Fatalf("the quickstart block changed; this test expects it to end in `f2f --repo /tmp/b peers`:\n%s", block)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	script := strings.NewReplacer("/tmp/a", a, "/tmp/b", b).Replace(block)
	// Stop the daemons the block started in the background, cleanly.
	script = "set -e\n" + script + "\nkill %1 %2\nwait\n"

	shim := filepath.Join(dir, "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	makeShim := "#!/bin/sh\n[ \"$1\" = build ] || { echo \"make shim: only build\" >&2; exit 2; }\nmkdir -p bin && cp " + f2fBin + " bin/f2f\n"
	if err := os.WriteFile(filepath.Join(shim, "make"), []byte(makeShim), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+shim+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the quickstart block failed (%v):\n%s", err, out)
	}
	aID := strings.TrimSpace(strings.SplitN(cliOKOffline(t, a), "\n", 2)[0])
	if !strings.Contains(string(out), "/p2p/"+aID+"\n") {
		t.Fatalf("`f2f --repo /tmp/b peers` did not list a (%s):\n%s", aID, out)
	}
	if strings.Contains(string(out), "bad multiaddr") {
		t.Errorf("output mentions a bad multiaddr:\n%s", out)
	}
}

// cliOKOffline reads a stopped repo's peer ID from its config.
func cliOKOffline(t *testing.T, repo string) string {
	t.Helper()
	var cfg struct {
		PeerID string `json:"peer_id"`
	}
	if err := json.Unmarshal(readFile(t, repo, node.ConfigFile), &cfg); err != nil || cfg.PeerID == "" {
		t.Fatalf("no peer ID in %s: %v", node.ConfigFile, err)
	}
	return cfg.PeerID
}

// A restarted daemon reconnects with no flags to the peers it knew, and a
// daemon that reaches nobody says so in its log and in `f2f peers`.
func TestRestartReconnectsWithoutFlags(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	a, b := newRepo(t), newRepo(t)
	pa := startDaemon(ctx, t, a)
	aID := idLines(ctx, t, a)[0]
	pb := startDaemon(ctx, t, b, "--bootstrap", tcpAddr(t, idLines(ctx, t, a)))
	bID := idLines(ctx, t, b)[0]
	waitPeer(ctx, t, b, aID)
	if err := pb.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// b again, no flags: it dials a, which it remembers.
	pb = startDaemon(ctx, t, b)
	cliOK(ctx, t, b, "wait")
	if out := cliOK(ctx, t, b, "peers"); !strings.Contains(out, "/p2p/"+aID) {
		t.Fatalf("restarted b lists %q, want a (%s)", out, aID)
	}

	// a restarts too: it gets its old ports back and dials b.
	aAddr := tcpAddr(t, idLines(ctx, t, a))
	if err := pa.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	pa = startDaemon(ctx, t, a)
	cliOK(ctx, t, a, "wait")
	if now := tcpAddr(t, idLines(ctx, t, a)); now != aAddr {
		t.Errorf("a listens on %s after its restart, was %s", now, aAddr)
	}
	waitPeer(ctx, t, a, bID)
	waitPeer(ctx, t, b, aID)

	// Both stop; b alone: it tries a, reaches nobody and says so.
	if err := pa.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := pb.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	pb = startDaemon(ctx, t, b)
	cliOK(ctx, t, b, "wait")
	res := cli(ctx, t, b, "peers")
	if res.Code != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "no peers connected") {
		t.Errorf("f2f peers of a lone daemon: code %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if log := string(readFileAbs(t, pb.LogPath)); !strings.Contains(log, "reached no peer") {
		t.Errorf("the lone daemon's log does not say it reached no peer:\n%s", log)
	}
}

func readFileAbs(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
