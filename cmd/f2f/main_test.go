package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"

	"github.com/fluttershy/face2face/internal/testlock"
)

// f2fBin is the f2f binary TestMain builds; only tests read it.
var f2fBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	testlock.Shared()
	dir, err := os.MkdirTemp("", "f2f-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	f2fBin, err = testnet.BuildBinary(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build f2f:", err)
		return 1
	}
	code := m.Run()
	return testnet.CheckLeaks(code)
}

// Quick in-process checks of run() for errors that come from the arguments
// alone: exit code 1 and one "f2f: " line on stderr, nothing on stdout.
func TestRunArgumentErrors(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo") // never created by these commands
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown root flag", []string{"--bogus", "id"}, "unknown flag: --bogus"},
		{"unknown daemon flag", []string{"daemon", "--bogus"}, "unknown flag: --bogus"},
		{"extra argument", []string{"id", "extra"}, `takes no arguments, got "extra"`},
		{"connect without argument", []string{"connect"}, "takes one multiaddr"},
		{"bootstrap conflict", []string{"daemon", "--bootstrap", "/ip4/127.0.0.1/tcp/1", "--no-bootstrap"}, "conflict"},
		{"bad log level", []string{"daemon", "--log-level", "loud"}, "bad --log-level"},
		{"bad profile", []string{"init", "--profile", "bogus"}, "unknown profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"--repo", repo}, tc.args...), &out, &errb)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			line := oneErrLine(t, errb.String())
			if !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q does not mention %q", line, tc.want)
			}
			if _, err := os.Stat(repo); err == nil {
				t.Errorf("%v created the repo dir", tc.args)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"daemon", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "--bootstrap") {
		t.Errorf("daemon --help printed %q", out.String())
	}
	// One default per flag, not "(default from config) (default true)".
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Count(l, "default") > 1 {
			t.Errorf("daemon --help: %q", l)
		}
	}
}

// The progress bar is drawn only on a terminal: /dev/null is a character
// device but not one.
func TestProgressOnlyOnTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null counts as a terminal")
	}
	if b := newBar(&globals{err: null}, "x", 10); b.w != nil {
		t.Error("a progress bar would be drawn on /dev/null")
	}
}

// ---- helpers shared by the process tests ----

// testCtx returns a context that bounds one test, so that nothing hangs.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// cli runs `f2f --repo repo args...`; it fails the test only when the
// command could not run at all.
func cli(ctx context.Context, t *testing.T, repo string, args ...string) testnet.CLIResult {
	t.Helper()
	res, err := testnet.RunCLI(ctx, f2fBin, repo, args...)
	if err != nil {
		t.Fatalf("f2f %v: %v", args, err)
	}
	return res
}

// cliOK runs a command that must succeed.
func cliOK(ctx context.Context, t *testing.T, repo string, args ...string) string {
	t.Helper()
	res := cli(ctx, t, repo, args...)
	if res.Code != 0 {
		t.Fatalf("f2f %v: exit code %d, stderr %q", args, res.Code, res.Stderr)
	}
	return res.Stdout
}

// startDaemon starts `f2f daemon` on repo and stops it when the test ends.
func startDaemon(ctx context.Context, t *testing.T, repo string, args ...string) *testnet.Proc {
	t.Helper()
	p, err := testnet.StartDaemon(ctx, f2fBin, repo, args...)
	if err != nil {
		t.Fatalf("start daemon on %s: %v", repo, err)
	}
	t.Cleanup(func() {
		if err := p.Stop(10 * time.Second); err != nil {
			t.Logf("daemon on %s: %v", repo, err)
		}
	})
	return p
}

// idLines runs `f2f id` and returns its lines: the peer ID, then addresses.
func idLines(ctx context.Context, t *testing.T, repo string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(cliOK(ctx, t, repo, "id")), "\n")
	if len(lines) < 2 {
		t.Fatalf("f2f id printed %q: want a peer ID and at least one address", lines)
	}
	return lines
}

// tcpAddr returns the first address of `f2f id` on TCP.
func tcpAddr(t *testing.T, lines []string) string {
	t.Helper()
	for _, l := range lines[1:] {
		if strings.Contains(l, "/tcp/") {
			return l
		}
	}
	t.Fatalf("no TCP address in %q", lines)
	return ""
}

// oneErrLine checks that stderr is exactly one non-empty line starting with
// "f2f: " and returns it.
func oneErrLine(t *testing.T, stderr string) string {
	t.Helper()
	s := strings.TrimSuffix(stderr, "\n")
	if s == "" || strings.Contains(s, "\n") {
		t.Fatalf("stderr is not exactly one line: %q", stderr)
	}
	if !strings.HasPrefix(s, "f2f: ") {
		t.Errorf("stderr %q does not start with \"f2f: \"", s)
	}
	return s
}

// readFile returns the content of repo/name.
func readFile(t *testing.T, repo, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exists reports whether repo/name exists.
func exists(t *testing.T, repo, name string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(repo, name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// newRepo initialises a local-profile repo in a fresh dir.
func newRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	if err := testnet.EnsureRepo(repo); err != nil {
		t.Fatal(err)
	}
	return repo
}

// snapshot returns the content of the files no failing command may change.
func snapshot(t *testing.T, repo string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, f := range []string{node.ConfigFile, node.KeyFile, api.TokenFile} {
		m[f] = readFile(t, repo, f)
	}
	return m
}

// checkUnchanged fails unless the files in before are byte-identical now.
func checkUnchanged(t *testing.T, repo string, before map[string][]byte) {
	t.Helper()
	for f, b := range before {
		if now := readFile(t, repo, f); !bytes.Equal(now, b) {
			t.Errorf("%s changed: was %q, now %q", f, b, now)
		}
	}
}

// ndjson decodes output that must be one JSON object per line.
func ndjson[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d is not one JSON object: %v: %q", i+1, err, line)
		}
		list = append(list, v)
	}
	return list
}
