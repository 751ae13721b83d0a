package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// writeRandomFile writes n pseudo-random bytes (fixed seed) to path and
// returns their SHA-256.
func writeRandomFile(t *testing.T, path string, n int64, seed uint64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, rng, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileSHA(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestFileShareCLI: A adds a 100 MiB file to a room; B reads the link in
// the chat log and gets it by CID; the bytes are the same.
func TestFileShareCLI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 4*time.Minute)
	a, b := newRepo(t), newRepo(t)
	startDaemon(ctx, t, a)
	startDaemon(ctx, t, b, "--bootstrap", tcpAddr(t, idLines(ctx, t, a)))
	key := lastLine(cliOK(ctx, t, a, "room", "create", "lobby"))
	cliOK(ctx, t, b, "room", "join", key)

	dir := t.TempDir()
	src := filepath.Join(dir, "big video.bin")
	sum := writeRandomFile(t, src, 100<<20, 1)
	out := cliOK(ctx, t, a, "file", "add", src, "--room", "lobby")
	cid := lastLine(out)
	if !strings.HasPrefix(cid, "bafy") {
		t.Fatalf("file add printed %q, want a CIDv1 last", out)
	}

	// B finds the link in its chat log, as a user would.
	var link struct {
		CID  string `json:"cid"`
		Name string `json:"name"`
		Size uint64 `json:"size"`
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		type msg struct {
			Kind string `json:"kind"`
			File *struct {
				CID  map[string]string `json:"cid"`
				Name string            `json:"name"`
				Size uint64            `json:"size"`
			} `json:"file"`
		}
		msgs := ndjson[msg](t, cliOK(ctx, t, b, "--json", "chat", "log", "lobby"))
		for _, m := range msgs {
			if m.Kind == "file" && m.File != nil {
				link.CID, link.Name, link.Size = m.File.CID["/"], m.File.Name, m.File.Size
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatalf("no file link in B's log: %v", err)
	}
	if link.CID != cid || link.Name != "big video.bin" || link.Size != 100<<20 {
		t.Fatalf("link %+v, want %s", link, cid)
	}
	human := chatLog(ctx, t, b, "lobby")
	for _, want := range []string{"shared big video.bin (100.0 MiB, application/octet-stream)",
		"get:  f2f file get " + cid + " -o 'big video.bin'", "/ipfs/" + cid + "?filename=big+video.bin&token="} {
		if !strings.Contains(human, want) {
			t.Errorf("chat log lacks %q:\n%s", want, human)
		}
	}
	if ls := cliOK(ctx, t, b, "file", "ls", "--room", "lobby"); !strings.Contains(ls, "big video.bin") || !strings.Contains(ls, " no") {
		t.Errorf("file ls --room before get:\n%s", ls)
	}

	dst := filepath.Join(t.TempDir(), "got.bin")
	got := cliOK(ctx, t, b, "file", "get", link.CID, "-o", dst)
	if !strings.Contains(got, "saved "+dst) || !strings.Contains(got, "from 1 peer(s)") {
		t.Errorf("file get said %q", got)
	}
	if fileSHA(t, dst) != sum {
		t.Fatal("sha256 of the fetched file differs")
	}
	// The file is there now: -o onto it needs --force, and the get says
	// where the content came from (nowhere: it was here).
	if res := cli(ctx, t, b, "file", "get", link.CID, "-o", dst); res.Code != 1 || !strings.Contains(oneErrLine(t, res.Stderr), dst+" exists: add --force") {
		t.Errorf("get onto an existing file: %d %q", res.Code, res.Stderr)
	}
	if got := cliOK(ctx, t, b, "file", "get", link.CID, "-o", dst, "--force"); !strings.Contains(got, "already on this node") || strings.Contains(got, "0 peer(s)") {
		t.Errorf("local get said %q", got)
	}
	if fileSHA(t, dst) != sum {
		t.Fatal("sha256 after the forced get differs")
	}
	// A failed -o names the path asked for, not a temporary file.
	if res := cli(ctx, t, b, "file", "get", link.CID, "-o", filepath.Join(dir, "missing", "x.bin")); res.Code != 1 ||
		strings.Contains(res.Stderr, ".part-") || !strings.Contains(oneErrLine(t, res.Stderr), "x.bin") {
		t.Errorf("get into a missing dir: %d %q", res.Code, res.Stderr)
	}
	// Ctrl-C during a get says how to go on.
	interruptedGet(ctx, t, b)

	if ls := cliOK(ctx, t, b, "file", "ls", "--room", "lobby"); !strings.Contains(ls, " yes") {
		t.Errorf("file ls --room after get:\n%s", ls)
	}
	if ls := cliOK(ctx, t, b, "file", "ls"); !strings.Contains(ls, cid) || !strings.Contains(ls, "fetched") {
		t.Errorf("file ls after get:\n%s", ls)
	}

	// /share and /files in chat; the gateway serves the link in a browser.
	note := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(note, []byte("hello from the gateway\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noteCID := lastLine(cliOK(ctx, t, a, "chat", "send", "lobby", "/share", note))
	if files := cliOK(ctx, t, a, "chat", "send", "lobby", "/files"); !strings.Contains(files, "notes.txt") || !strings.Contains(files, "big video.bin") {
		t.Errorf("/files:\n%s", files)
	}
	c, err := api.NewClient(b)
	if err != nil {
		t.Fatal(err)
	}
	url := c.GatewayURL(noteCID, "notes.txt")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from the gateway\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("gateway: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	noToken := url[:strings.Index(url, "?")] + "?filename=notes.txt"
	if resp, err := http.Get(noToken); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("gateway without token: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	// Clear errors: a bad CID, and a CID nobody has.
	if res := cli(ctx, t, b, "file", "get", "not-a-cid"); res.Code != 1 || !strings.Contains(oneErrLine(t, res.Stderr), `invalid CID "not-a-cid"`) {
		t.Errorf("bad CID: %d %q", res.Code, res.Stderr)
	}
	nobody := "bafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom"
	if res := cli(ctx, t, b, "file", "get", nobody, "--timeout", "2s", "-o", filepath.Join(dir, "x")); res.Code != 1 ||
		!strings.Contains(oneErrLine(t, res.Stderr), "no provider found for "+nobody+" within 2s") {
		t.Errorf("missing CID: %d %q", res.Code, res.Stderr)
	}
	if res := cli(ctx, t, a, "file", "add", dir); res.Code != 1 || !strings.Contains(res.Stderr, "add it with -r") {
		t.Errorf("dir without -r: %d %q", res.Code, res.Stderr)
	}

	// A directory: -r on A, get on B writes the same tree (hidden files
	// skipped, as ipfs add -r does without --hidden).
	tree := filepath.Join(t.TempDir(), "slides")
	for name, body := range map[string]string{"a.txt": "first", "deck/b.md": "# second", ".secret": "hidden"} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	added := cliOK(ctx, t, a, "file", "add", "-r", tree, "--room", "lobby")
	dirCID := lastLine(added)
	if !strings.Contains(added, "added ") || !strings.Contains(added, " slides/deck/b.md") || strings.Contains(added, ".secret") {
		t.Errorf("add -r printed:\n%s", added)
	}
	outDir := filepath.Join(t.TempDir(), "copy")
	cliOK(ctx, t, b, "file", "get", dirCID, "-o", outDir)
	for name, want := range map[string]string{"a.txt": "first", "deck/b.md": "# second"} {
		if got, err := os.ReadFile(filepath.Join(outDir, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outDir, ".secret")); err == nil {
		t.Error("the hidden file was added")
	}
	if res := cli(ctx, t, b, "file", "get", dirCID, "-o", outDir); res.Code != 1 || !strings.Contains(res.Stderr, "exists") {
		t.Errorf("get over an existing directory: %d %q", res.Code, res.Stderr)
	}
}

// TestFileGetCraftedDirectory: a peer serves a directory whose entries are
// a symbolic link "link" to a directory outside and a directory also named
// "link" holding "evil". f2f file get -o DIR fails with one line and writes
// nothing outside DIR.
func TestFileGetCraftedDirectory(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	a := newRepo(t)
	startDaemon(ctx, t, a)
	rogue, err := testnet.StartNode(filepath.Join(t.TempDir(), "rogue"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := testnet.CraftEscapeDir(ctx, rogue.Blockstore(), "../outside")
	if err != nil {
		t.Fatal(err)
	}
	cliOK(ctx, t, a, "connect", rogue.Addrs()[0])
	res := cli(ctx, t, a, "file", "get", root.String(), "-o", filepath.Join(dir, "out"), "--timeout", "20s")
	if res.Code == 0 {
		t.Fatalf("get of a crafted directory succeeded: %q", res.Stdout)
	}
	line := oneErrLine(t, res.Stderr)
	if !strings.Contains(line, "unsafe entry") {
		t.Errorf("error %q", line)
	}
	if left, _ := os.ReadDir(outside); len(left) > 0 {
		t.Errorf("written outside -o: %v", left)
	}
}

// interruptedGet sends SIGINT to `f2f file get` of a CID nobody has once it
// talks to the daemon, and checks what it says.
func interruptedGet(ctx context.Context, t *testing.T, repo string) {
	t.Helper()
	nobody := "bafkreie7ohywtosou76tasm7j63yigtzxe7d5zqus4zu3j6oltvgtibeom"
	var stderr strings.Builder
	get := exec.CommandContext(ctx, f2fBin, "--repo", repo, "file", "get", nobody, "-o", filepath.Join(t.TempDir(), "x"))
	get.Stderr = &stderr
	if err := get.Start(); err != nil {
		t.Fatal(err)
	}
	// Its signal handler is set before it connects to the API.
	fdDir := fmt.Sprintf("/proc/%d/fd", get.Process.Pid)
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join(fdDir, fd.Name())); strings.HasPrefix(l, "socket:") {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = get.Process.Signal(syscall.SIGINT)
	err := get.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || oneErrLine(t, stderr.String()) != "f2f: interrupted; run the same command to resume (the blocks fetched so far are kept)" {
		t.Errorf("interrupted get: %v, stderr %q", err, stderr.String())
	}
}
