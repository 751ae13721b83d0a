package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/version"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

// jsonPeer is the part of `f2f --json peers` the tests read.
type jsonPeer struct {
	ID             string `json:"id"`
	Addr           string `json:"addr"`
	InRoutingTable bool   `json:"in_routing_table"`
}

func jsonPeers(ctx context.Context, t *testing.T, repo string) []jsonPeer {
	t.Helper()
	out := cliOK(ctx, t, repo, "--json", "peers")
	var peers []jsonPeer
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		t.Fatalf("f2f --json peers printed %q: %v", out, err)
	}
	return peers
}

// waitPeer waits until `f2f peers` on repo lists the peer id.
func waitPeer(ctx context.Context, t *testing.T, repo, id string) {
	t.Helper()
	var last string
	err := testnet.WaitFor(ctx, func() (bool, error) {
		res, err := testnet.RunCLI(ctx, f2fBin, repo, "peers")
		if err != nil {
			return false, err
		}
		last = res.Stdout
		return res.Code == 0 && strings.Contains(res.Stdout, "/p2p/"+id), nil
	})
	if err != nil {
		t.Fatalf("f2f --repo %s peers never listed %s: %v; last output %q", repo, id, err, last)
	}
}

// Two nodes that only know a third find each other through the DHT.
func TestDiscoveryThroughDHT(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 90*time.Second)
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")

	startDaemon(ctx, t, a)
	aLines := idLines(ctx, t, a)
	boot := tcpAddr(t, aLines)

	startDaemon(ctx, t, b, "--bootstrap", boot)
	bID := idLines(ctx, t, b)[0]
	// C finds B by asking A, so B must be in A's routing table first.
	err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, p := range jsonPeers(ctx, t, a) {
			if p.ID == bID && p.InRoutingTable {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("B never entered A's routing table: %v", err)
	}

	startDaemon(ctx, t, c, "--bootstrap", boot)
	cID := idLines(ctx, t, c)[0]

	waitPeer(ctx, t, b, cID)
	waitPeer(ctx, t, c, bID)

	var found bool
	for _, p := range jsonPeers(ctx, t, b) {
		if p.ID == "" {
			t.Errorf("peer without id in f2f --json peers: %+v", p)
		}
		found = found || p.ID == cID
	}
	if !found {
		t.Errorf("f2f --repo B --json peers does not list C (%s)", cID)
	}
}

// `f2f id`: the peer ID from init, then full loopback multiaddrs of that peer.
func TestIDOutput(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")

	out := cliOK(ctx, t, repo, "init", "--profile", "local")
	var initID string
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "peer ID: "); ok {
			initID = id
		}
	}
	if initID == "" {
		t.Fatalf("f2f init printed no peer ID: %q", out)
	}
	var cfg struct {
		PeerID  string `json:"peer_id"`
		Profile string `json:"profile"`
	}
	if err := json.Unmarshal(readFile(t, repo, node.ConfigFile), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.PeerID != initID || cfg.Profile != node.ProfileLocal {
		t.Fatalf("config.json has peer_id %q profile %q; init printed %q", cfg.PeerID, cfg.Profile, initID)
	}

	startDaemon(ctx, t, repo)
	lines := idLines(ctx, t, repo)
	if lines[0] != initID {
		t.Errorf("f2f id first line %q, want %q", lines[0], initID)
	}
	for _, l := range lines[1:] {
		m, err := ma.NewMultiaddr(l)
		if err != nil {
			t.Errorf("f2f id line %q: %v", l, err)
			continue
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil || ai.ID.String() != initID || !strings.HasSuffix(l, "/p2p/"+initID) {
			t.Errorf("f2f id line %q does not end in /p2p/%s", l, initID)
		}
		if ip, err := m.ValueForProtocol(ma.P_IP4); err != nil || ip != "127.0.0.1" {
			t.Errorf("f2f id line %q is not on 127.0.0.1", l)
		}
	}
}

// A daemon killed with SIGKILL leaves its api and lock files behind; the
// next one starts anyway, with the same identity.
func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")

	p := startDaemon(ctx, t, repo)
	id := idLines(ctx, t, repo)[0]
	p.Kill()
	if !exists(t, repo, api.APIFile) || !exists(t, repo, node.LockFile) {
		t.Fatalf("expected the killed daemon to leave %s and %s behind", api.APIFile, node.LockFile)
	}
	res := cli(ctx, t, repo, "id")
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "no daemon is running") {
		t.Errorf("f2f id with a dead daemon: code %d, stderr %q", res.Code, res.Stderr)
	}

	startDaemon(ctx, t, repo)
	if got := idLines(ctx, t, repo)[0]; got != id {
		t.Errorf("peer ID after restart %q, want %q", got, id)
	}
}

// SIGTERM: exit code 0, "daemon stopped" last, api file removed, repo free.
func TestCleanShutdown(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")

	p := startDaemon(ctx, t, repo)
	if !exists(t, repo, api.APIFile) {
		t.Fatal("running daemon wrote no api file")
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	log, err := os.ReadFile(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if last := lines[len(lines)-1]; last != "daemon stopped" {
		t.Errorf("last stderr line %q, want \"daemon stopped\"; log:\n%s", last, log)
	}
	if exists(t, repo, api.APIFile) {
		t.Error("api file left behind after a clean shutdown")
	}
	res := cli(ctx, t, repo, "peers")
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "no daemon is running") {
		t.Errorf("f2f peers after shutdown: code %d, stderr %q", res.Code, res.Stderr)
	}

	startDaemon(ctx, t, repo)
	idLines(ctx, t, repo)
}

// A second daemon on a repo in use fails with one line saying it is locked.
func TestSecondDaemonLocked(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")

	startDaemon(ctx, t, repo)
	apiBefore := readFile(t, repo, api.APIFile)
	res := cli(ctx, t, repo, "daemon", "--api", "127.0.0.1:0")
	if res.Code == 0 {
		t.Fatal("second daemon exited 0")
	}
	if line := oneErrLine(t, res.Stderr); !strings.Contains(line, "locked") {
		t.Errorf("stderr %q does not mention \"locked\"", line)
	}
	if now := readFile(t, repo, api.APIFile); string(now) != string(apiBefore) {
		t.Errorf("second daemon changed the api file: %q -> %q", apiBefore, now)
	}
	idLines(ctx, t, repo) // the first one still serves
}

// Every bad input fails with one "f2f: " line and damages nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const badMA = "/ip4/1.2.3/tcp/x"
	for _, tc := range []struct {
		name string
		// setup prepares the repo and returns the arguments to run.
		setup func(t *testing.T, repo string) []string
		want  string
	}{
		{"unknown flag", func(t *testing.T, repo string) []string {
			return []string{"daemon", "--bogus"}
		}, "unknown flag: --bogus"},
		{"bad --listen", func(t *testing.T, repo string) []string {
			return []string{"daemon", "--api", "127.0.0.1:0", "--listen", badMA}
		}, "bad multiaddr"},
		{"bad --bootstrap", func(t *testing.T, repo string) []string {
			return []string{"daemon", "--api", "127.0.0.1:0", "--bootstrap", badMA}
		}, "bad multiaddr"},
		{"bad connect multiaddr", func(t *testing.T, repo string) []string {
			return []string{"connect", badMA}
		}, "bad multiaddr"},
		{"connect without /p2p/", func(t *testing.T, repo string) []string {
			return []string{"connect", "/ip4/127.0.0.1/tcp/4001"}
		}, "/p2p/"},
		{"corrupt config.json", func(t *testing.T, repo string) []string {
			writeFile(t, repo, node.ConfigFile, "{ this is not json")
			return []string{"daemon", "--api", "127.0.0.1:0"}
		}, "invalid config"},
		{"corrupt identity.key", func(t *testing.T, repo string) []string {
			writeFile(t, repo, node.KeyFile, "garbage, not a key")
			return []string{"daemon", "--api", "127.0.0.1:0"}
		}, "invalid identity key"},
		{"port in use", func(t *testing.T, repo string) []string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			port := ln.Addr().(*net.TCPAddr).Port
			return []string{"daemon", "--api", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/" + strconv.Itoa(port)}
		}, "address already in use"},
		{"no daemon running", func(t *testing.T, repo string) []string {
			return []string{"peers"}
		}, "no daemon is running"},
		{"init on existing repo", func(t *testing.T, repo string) []string {
			return []string{"init", "--profile", "local"}
		}, "already initialised"},
		{"--bootstrap with --no-bootstrap", func(t *testing.T, repo string) []string {
			var cfg struct {
				PeerID string `json:"peer_id"`
			}
			if err := json.Unmarshal(readFile(t, repo, node.ConfigFile), &cfg); err != nil {
				t.Fatal(err)
			}
			return []string{"daemon", "--api", "127.0.0.1:0",
				"--bootstrap", "/ip4/127.0.0.1/tcp/4001/p2p/" + cfg.PeerID, "--no-bootstrap"}
		}, "conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 60*time.Second)
			repo := newRepo(t)
			args := tc.setup(t, repo)
			before := snapshot(t, repo)
			res := cli(ctx, t, repo, args...)
			if res.Code == 0 {
				t.Errorf("f2f %v exited 0", args)
			}
			if line := oneErrLine(t, res.Stderr); !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q does not mention %q", line, tc.want)
			}
			checkUnchanged(t, repo, before)
			if exists(t, repo, api.APIFile) {
				t.Error("a failed command left an api file")
			}
		})
	}

	// Commands on a dir that holds no repo.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"repo not initialised", []string{"peers"}, "not initialised"},
		{"daemon on uninitialised repo", []string{"daemon", "--api", "127.0.0.1:0"}, "not initialised"},
		{"init with unknown profile", []string{"init", "--profile", "bogus"}, "unknown profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 60*time.Second)
			empty := t.TempDir()
			repo := filepath.Join(empty, "repo")
			if err := os.Mkdir(repo, 0o700); err != nil {
				t.Fatal(err)
			}
			res := cli(ctx, t, repo, tc.args...)
			if res.Code == 0 {
				t.Errorf("f2f %v exited 0", tc.args)
			}
			if line := oneErrLine(t, res.Stderr); !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q does not mention %q", line, tc.want)
			}
			if ents, err := os.ReadDir(repo); err != nil || len(ents) != 0 {
				t.Errorf("f2f %v left %v in the empty repo dir (%v)", tc.args, ents, err)
			}
			missing := filepath.Join(empty, "missing")
			res = cli(ctx, t, missing, tc.args...)
			if res.Code == 0 {
				t.Errorf("f2f %v on a missing dir exited 0", tc.args)
			}
			if line := oneErrLine(t, res.Stderr); !strings.Contains(line, tc.want) {
				t.Errorf("stderr %q does not mention %q", line, tc.want)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Errorf("f2f %v created the missing repo dir (%v)", tc.args, err)
			}
		})
	}
}

func writeFile(t *testing.T, repo, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The local API answers 401 without the token and 200 with it.
func TestAPINeedsToken(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")
	startDaemon(ctx, t, repo)
	id := idLines(ctx, t, repo)[0]

	addr := strings.TrimSpace(string(readFile(t, repo, api.APIFile)))
	token := strings.TrimSpace(string(readFile(t, repo, api.TokenFile)))
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	get := func(auth string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+api.PathID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}

	if code, body := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: status %d (%s), want 401", code, body)
	}
	if code, body := get("Bearer wrong-" + token); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d (%s), want 401", code, body)
	}
	code, body := get("Bearer " + token)
	if code != http.StatusOK {
		t.Fatalf("with token: status %d (%s), want 200", code, body)
	}
	var info api.ID
	if err := json.Unmarshal(body, &info); err != nil || info.ID != id {
		t.Errorf("with token: body %s (%v), want id %s", body, err, id)
	}
}

// --help on the root and a command, and version.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")
	for _, args := range [][]string{{"--help"}, {"daemon", "--help"}} {
		out := cliOK(ctx, t, repo, args...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("f2f %v printed no usage: %q", args, out)
		}
	}
	if out := cliOK(ctx, t, repo, "--help"); !strings.Contains(out, "daemon") || !strings.Contains(out, "init") {
		t.Errorf("f2f --help does not list the commands: %q", out)
	}
	if out := cliOK(ctx, t, repo, "daemon", "--help"); !strings.Contains(out, "--listen") {
		t.Errorf("f2f daemon --help does not list --listen: %q", out)
	}
	out := cliOK(ctx, t, repo, "version")
	if !strings.HasPrefix(out, "f2f "+version.Version+" ") || strings.Count(out, "\n") != 1 {
		t.Errorf("f2f version printed %q", out)
	}
	if _, err := os.Stat(repo); !os.IsNotExist(err) {
		t.Errorf("help or version touched the repo dir (%v)", err)
	}
}

// `f2f connect` prints the peer it connected to; both sides then list each other.
func TestConnect(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	startDaemon(ctx, t, a, "--no-bootstrap")
	startDaemon(ctx, t, b, "--no-bootstrap")
	aID := idLines(ctx, t, a)[0]
	bLines := idLines(ctx, t, b)

	if peers := jsonPeers(ctx, t, a); len(peers) != 0 {
		t.Fatalf("A has peers before connect: %+v", peers)
	}
	out := cliOK(ctx, t, a, "connect", tcpAddr(t, bLines))
	if want := "connected to " + bLines[0] + "\n"; out != want {
		t.Errorf("f2f connect printed %q, want %q", out, want)
	}
	if out := cliOK(ctx, t, a, "peers"); !strings.Contains(out, "/p2p/"+bLines[0]) {
		t.Errorf("f2f --repo A peers after connect: %q, want B %s", out, bLines[0])
	}
	waitPeer(ctx, t, b, aID)

	res := cli(ctx, t, a, "connect", "/ip4/127.0.0.1/tcp/1/p2p/"+aID)
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "self") {
		t.Errorf("connect to self: code %d, stderr %q", res.Code, res.Stderr)
	}
}
