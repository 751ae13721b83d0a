package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/fluttershy/face2face/api"
)

// waitTimeout bounds every wait; it only keeps a broken test from hanging.
const waitTimeout = 30 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newNode builds a node on repo with a free loopback API port and a silent
// logger (opts come after and may override them); Close runs at cleanup.
func newNode(t *testing.T, repo string, opts ...Option) *Node {
	t.Helper()
	all := append([]Option{WithAPIAddr("127.0.0.1:0"), WithLogger(discardLogger())}, opts...)
	n, err := New(repo, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

// startNode builds and starts a node on a fresh local-profile repo.
func startNode(t *testing.T, opts ...Option) *Node {
	t.Helper()
	n := newNode(t, newRepo(t, ProfileLocal), opts...)
	if err := n.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return n
}

// waitFor polls cond until it holds; it fails the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		<-tick.C
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// occupyPort listens on a free loopback TCP port until the test ends and
// returns its HOST:PORT.
func occupyPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// closedPort returns HOST:PORT of a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newClient(t *testing.T, n *Node) *api.Client {
	t.Helper()
	c, err := api.NewClient(n.RepoPath())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func token(t *testing.T, n *Node) string {
	t.Helper()
	tok, err := api.ReadToken(n.RepoPath())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tcpAddr returns n's full TCP multiaddr.
func tcpAddr(t *testing.T, n *Node) string {
	t.Helper()
	for _, a := range n.Addrs() {
		if strings.Contains(a, "/tcp/") && !strings.Contains(a, "/ws") {
			return a
		}
	}
	t.Fatalf("node has no TCP address: %v", n.Addrs())
	return ""
}

type apiResponse struct {
	code   int
	header http.Header
	body   []byte
}

// apiDo sends one plain net/http request to n's API; edit may set headers.
func apiDo(t *testing.T, n *Node, method, path string, body io.Reader, edit func(r *http.Request)) apiResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, "http://"+n.APIAddr()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	tr := &http.Transport{Proxy: nil}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return apiResponse{code: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(tok string) func(r *http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// apiError decodes an API error body and checks that it says something.
func apiError(t *testing.T, r apiResponse) string {
	t.Helper()
	var ae api.Error
	if err := json.Unmarshal(r.body, &ae); err != nil {
		t.Fatalf("error body %q is not an api.Error: %v", r.body, err)
	}
	if ae.Message == "" {
		t.Fatalf("error body %q has an empty message", r.body)
	}
	return ae.Message
}

func peerIDs(ps []PeerInfo) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func fileExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestNodeRefusesLockedRepo(t *testing.T) {
	t.Run("repo opened", func(t *testing.T) {
		repo := newRepo(t, ProfileLocal)
		openRepo(t, repo)
		n, err := New(repo, WithAPIAddr("127.0.0.1:0"), WithLogger(discardLogger()))
		if !errors.Is(err, ErrRepoLocked) {
			if err == nil {
				n.Close()
			}
			t.Fatalf("New: %v, want ErrRepoLocked", err)
		}
	})
	t.Run("daemon running", func(t *testing.T) {
		a := startNode(t)
		n, err := New(a.RepoPath(), WithAPIAddr("127.0.0.1:0"), WithLogger(discardLogger()))
		if !errors.Is(err, ErrRepoLocked) {
			if err == nil {
				n.Close()
			}
			t.Fatalf("New: %v, want ErrRepoLocked", err)
		}
		// The failed New left the running daemon alone.
		if !fileExists(t, filepath.Join(a.RepoPath(), APIFile)) {
			t.Error("failed New removed the running daemon's api file")
		}
		info, err := newClient(t, a).ID(testContext(t))
		if err != nil || info.ID != a.ID().String() {
			t.Errorf("running daemon after failed New: ID = %v, %v", info.ID, err)
		}
		if r, err := OpenRepo(a.RepoPath()); !errors.Is(err, ErrRepoLocked) {
			if err == nil {
				r.Close()
			}
			t.Errorf("OpenRepo while the daemon runs: %v, want ErrRepoLocked", err)
		}
	})
}

func TestNodeClose(t *testing.T) {
	n := startNode(t)
	repo := n.RepoPath()
	apiFile := filepath.Join(repo, APIFile)
	if !fileExists(t, apiFile) {
		t.Fatal("started node wrote no api file")
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fileExists(t, apiFile) {
		t.Error("Close left the api file behind")
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := n.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if _, err := api.NewClient(repo); !errors.Is(err, api.ErrNoDaemon) {
		t.Errorf("NewClient after Close: %v, want api.ErrNoDaemon", err)
	}
	openRepo(t, repo) // the lock is released
}

func TestNodeCloseWithoutStart(t *testing.T) {
	repo := newRepo(t, ProfileLocal)
	n, err := New(repo, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if n.APIAddr() != "" {
		t.Errorf("APIAddr before Start = %q, want empty", n.APIAddr())
	}
	if fileExists(t, filepath.Join(repo, APIFile)) {
		t.Error("New wrote an api file before Start")
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	openRepo(t, repo)
}

func TestNodeStartTwice(t *testing.T) {
	n := startNode(t)
	if err := n.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	if _, err := newClient(t, n).ID(testContext(t)); err != nil {
		t.Fatalf("API after second Start: %v", err)
	}
}

func TestNodeKeepsIdentityAcrossRestarts(t *testing.T) {
	repo := newRepo(t, ProfileLocal)
	first := newNode(t, repo)
	id := first.ID()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := newNode(t, repo)
	if second.ID() != id {
		t.Fatalf("peer ID changed across restarts: %s then %s", id, second.ID())
	}
	if cfg := readConfig(t, repo); cfg.PeerID != id.String() {
		t.Errorf("config.json peer_id = %s, node ID = %s", cfg.PeerID, id)
	}
}

func TestNodeRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		want error // nil: any error
	}{
		{"listen garbage", WithListenAddrs("not a multiaddr"), ErrBadMultiaddr},
		{"bootstrap without p2p", WithBootstrap("/ip4/127.0.0.1/tcp/4001"), ErrBadMultiaddr},
		{"api on all interfaces", WithAPIAddr("0.0.0.0:0"), nil},
		{"api off loopback", WithAPIAddr("10.0.0.1:5180"), nil},
		{"nil logger", WithLogger(nil), nil},
		{"nil host constructor", WithHostConstructor(nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t, ProfileLocal)
			n, err := New(repo, tc.opt)
			if err == nil {
				n.Close()
				t.Fatal("New accepted the option")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("New: %v, want %v", err, tc.want)
			}
			openRepo(t, repo) // a rejected option leaves the repo unlocked
		})
	}
}

func TestNodeAddrs(t *testing.T) {
	n := startNode(t)
	addrs := n.Addrs()
	if len(addrs) == 0 {
		t.Fatal("node has no addresses")
	}
	suffix := "/p2p/" + n.ID().String()
	for _, a := range addrs {
		if !strings.HasSuffix(a, suffix) {
			t.Errorf("address %s does not end in %s", a, suffix)
		}
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			t.Errorf("address %s: %v", a, err)
			continue
		}
		if !manet.IsIPLoopback(m) {
			t.Errorf("local-profile node listens on non-loopback %s", a)
		}
	}
}

func TestNodeListenAddrInUse(t *testing.T) {
	busy := occupyPort(t)
	_, port, _ := net.SplitHostPort(busy)
	repo := newRepo(t, ProfileLocal)

	n, err := New(repo, WithListenAddrs("/ip4/127.0.0.1/tcp/"+port),
		WithAPIAddr("127.0.0.1:0"), WithLogger(discardLogger()))
	if err == nil {
		n.Close()
		t.Fatalf("New listened on busy port %s", port)
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("New: %q does not say \"address already in use\"", err)
	}
	if !strings.Contains(err.Error(), port) {
		t.Errorf("New: %q does not name the address", err)
	}
	// The failed New released the repo lock and the datastore.
	n = newNode(t, repo)
	if err := n.Start(); err != nil {
		t.Fatalf("Start after a failed New: %v", err)
	}
}

func TestNodeAPIFile(t *testing.T) {
	n := startNode(t)
	addr := n.APIAddr()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("APIAddr %q: %v", addr, err)
	}
	if host != "127.0.0.1" || port == "0" {
		t.Errorf("APIAddr = %q, want 127.0.0.1 and a real port", addr)
	}
	path := filepath.Join(n.RepoPath(), APIFile)
	if got := strings.TrimSpace(string(readFile(t, path))); got != addr {
		t.Errorf("api file holds %q, want %q", got, addr)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("api file mode = %v, want -rw-------", st.Mode().Perm())
	}
}

func TestNodeAPIAddrBusy(t *testing.T) {
	t.Run("configured address falls back to a free port", func(t *testing.T) {
		busy := occupyPort(t)
		repo := newRepo(t, ProfileLocal)
		cfg := readConfig(t, repo)
		cfg.Addresses.API = busy
		writeConfig(t, repo, cfg)

		n, err := New(repo, WithLogger(discardLogger()))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { n.Close() })
		if err := n.Start(); err != nil {
			t.Fatalf("Start with a busy configured API port: %v", err)
		}
		got := n.APIAddr()
		if got == busy {
			t.Fatalf("APIAddr = busy address %s", busy)
		}
		if host, _, _ := net.SplitHostPort(got); host != "127.0.0.1" {
			t.Errorf("fallback API address %s is not on the configured host", got)
		}
		if f := strings.TrimSpace(string(readFile(t, filepath.Join(repo, APIFile)))); f != got {
			t.Errorf("api file holds %q, want %q", f, got)
		}
		info, err := newClient(t, n).ID(testContext(t))
		if err != nil || info.ID != n.ID().String() {
			t.Errorf("client through the api file: ID = %q, %v", info.ID, err)
		}
		if !slices.Equal(readConfig(t, repo).Addresses.Swarm, cfg.Addresses.Swarm) ||
			readConfig(t, repo).Addresses.API != busy {
			t.Error("the daemon rewrote config.json")
		}
	})
	t.Run("explicit address does not", func(t *testing.T) {
		busy := occupyPort(t)
		repo := newRepo(t, ProfileLocal)
		n, err := New(repo, WithAPIAddr(busy), WithLogger(discardLogger()))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		err = n.Start()
		if err == nil {
			n.Close()
			t.Fatalf("Start served the API on busy %s", busy)
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("Start: %q does not say \"address already in use\"", err)
		}
		if fileExists(t, filepath.Join(repo, APIFile)) {
			t.Error("failed Start wrote an api file")
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close after a failed Start: %v", err)
		}
		openRepo(t, repo)
	})
}

func TestAPIGuard(t *testing.T) {
	n := startNode(t)
	tok := token(t, n)
	_, port, _ := net.SplitHostPort(n.APIAddr())
	with := func(fs ...func(r *http.Request)) func(r *http.Request) {
		return func(r *http.Request) {
			for _, f := range fs {
				f(r)
			}
		}
	}
	origin := func(o string) func(r *http.Request) {
		return func(r *http.Request) { r.Header.Set("Origin", o) }
	}
	host := func(h string) func(r *http.Request) {
		return func(r *http.Request) { r.Host = h }
	}
	for _, tc := range []struct {
		name string
		edit func(r *http.Request)
		want int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", bearer("0000"), http.StatusUnauthorized},
		{"token prefix", bearer(tok[:len(tok)-1]), http.StatusUnauthorized},
		{"token without Bearer", func(r *http.Request) { r.Header.Set("Authorization", tok) }, http.StatusUnauthorized},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("f2f", tok) }, http.StatusUnauthorized},
		{"right token", bearer(tok), http.StatusOK},
		{"same origin", with(bearer(tok), origin("http://"+n.APIAddr())), http.StatusOK},
		{"localhost host", with(bearer(tok), host("localhost:"+port)), http.StatusOK},
		{"foreign origin", with(bearer(tok), origin("http://evil.example")), http.StatusForbidden},
		{"https origin", with(bearer(tok), origin("https://"+n.APIAddr())), http.StatusForbidden},
		{"null origin", with(bearer(tok), origin("null")), http.StatusForbidden},
		{"foreign host", with(bearer(tok), host("evil.example:5180")), http.StatusForbidden},
		{"rebinding host", with(bearer(tok), host("127.0.0.1.evil.example")), http.StatusForbidden},
		{"foreign host without token", host("evil.example:5180"), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := apiDo(t, n, http.MethodGet, api.PathID, nil, tc.edit)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d (body %q)", r.code, tc.want, r.body)
			}
			switch r.code {
			case http.StatusOK:
				var info IDInfo
				if err := json.Unmarshal(r.body, &info); err != nil {
					t.Fatalf("decode IDInfo: %v", err)
				}
				if info.ID != n.ID().String() {
					t.Errorf("ID = %s, want %s", info.ID, n.ID())
				}
				if info.AgentVersion != "face2face/"+Version {
					t.Errorf("agent version = %q", info.AgentVersion)
				}
				if !slices.Equal(info.Addresses, n.Addrs()) {
					t.Errorf("addresses = %v, want %v", info.Addresses, n.Addrs())
				}
				if len(info.Protocols) == 0 {
					t.Error("no protocols listed")
				}
			case http.StatusUnauthorized:
				apiError(t, r)
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
				}
			default:
				apiError(t, r)
			}
		})
	}
}

func TestAPIRoutes(t *testing.T) {
	n := startNode(t)
	tok := token(t, n)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, api.PathVersion, http.StatusOK},
		{http.MethodGet, api.PathPeers, http.StatusOK},
		{http.MethodGet, api.PathRoutingTable, http.StatusOK},
		{http.MethodGet, api.Prefix + "/nope", http.StatusNotFound},
		{http.MethodPost, api.PathID, http.StatusMethodNotAllowed},
		{http.MethodGet, api.PathConnect, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := apiDo(t, n, tc.method, tc.path, nil, bearer(tok))
			if r.code != tc.want {
				t.Fatalf("status %d, want %d (body %q)", r.code, tc.want, r.body)
			}
		})
	}
}

func TestAPIConnectBadRequest(t *testing.T) {
	n := startNode(t)
	tok := token(t, n)
	for _, tc := range []struct {
		name, body, says string
	}{
		{"bad multiaddr", `{"addr":"not a multiaddr"}`, "bad multiaddr"},
		{"missing p2p", `{"addr":"/ip4/127.0.0.1/tcp/4001"}`, "bad multiaddr"},
		{"empty addr", `{"addr":""}`, "bad multiaddr"},
		{"not json", `addr=/ip4/127.0.0.1`, "bad request body"},
		{"unknown field", `{"address":"/ip4/127.0.0.1/tcp/1"}`, "bad request body"},
		{"empty body", ``, "bad request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := apiDo(t, n, http.MethodPost, api.PathConnect, strings.NewReader(tc.body), bearer(tok))
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %q)", r.code, r.body)
			}
			if msg := apiError(t, r); !strings.Contains(msg, tc.says) {
				t.Errorf("error %q does not say %q", msg, tc.says)
			}
		})
	}
	if peers := n.Peers(); len(peers) != 0 {
		t.Errorf("bad requests connected the node to %v", peerIDs(peers))
	}
}

func TestAPIBodyTooLarge(t *testing.T) {
	n := startNode(t)
	tok := token(t, n)
	body := `{"addr":"` + strings.Repeat("a", 2<<20) + `"}`
	r := apiDo(t, n, http.MethodPost, api.PathConnect, strings.NewReader(body), bearer(tok))
	if r.code < 400 || r.code > 499 {
		t.Fatalf("status %d for a 2 MiB body, want 4xx (body %q)", r.code, r.body)
	}
	apiError(t, r)
	// The daemon is still serving.
	if r := apiDo(t, n, http.MethodGet, api.PathID, nil, bearer(tok)); r.code != http.StatusOK {
		t.Fatalf("GET %s after the large body: status %d", api.PathID, r.code)
	}
}

func TestClientNoDaemon(t *testing.T) {
	t.Run("no api file", func(t *testing.T) {
		repo := newRepo(t, ProfileLocal)
		if _, err := api.NewClient(repo); !errors.Is(err, api.ErrNoDaemon) {
			t.Fatalf("NewClient: %v, want api.ErrNoDaemon", err)
		}
	})
	t.Run("no repo", func(t *testing.T) {
		if _, err := api.NewClient(t.TempDir()); !errors.Is(err, ErrNotInitialised) {
			t.Fatalf("NewClient: %v, want ErrNotInitialised", err)
		}
	})
	t.Run("stale api file", func(t *testing.T) {
		repo := newRepo(t, ProfileLocal)
		if err := os.WriteFile(filepath.Join(repo, APIFile), []byte(closedPort(t)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := api.NewClient(repo)
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		if _, err := c.ID(testContext(t)); !errors.Is(err, api.ErrNoDaemon) {
			t.Errorf("ID: %v, want api.ErrNoDaemon", err)
		}
		if err := c.Events(testContext(t), func(api.Event) error { return nil }); !errors.Is(err, api.ErrNoDaemon) {
			t.Errorf("Events: %v, want api.ErrNoDaemon", err)
		}
	})
	t.Run("api file off loopback", func(t *testing.T) {
		repo := newRepo(t, ProfileLocal)
		if err := os.WriteFile(filepath.Join(repo, APIFile), []byte("10.0.0.1:5180\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := api.NewClient(repo); err == nil {
			t.Fatal("NewClient accepted a non-loopback api file")
		}
	})
}

func TestClientWrongToken(t *testing.T) {
	n := startNode(t)
	c := api.NewClientAddr(n.RepoPath(), n.APIAddr(), "not-the-token")
	ctx := testContext(t)
	if _, err := c.ID(ctx); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("ID: %v, want api.ErrUnauthorized", err)
	}
	if _, err := c.Peers(ctx); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("Peers: %v, want api.ErrUnauthorized", err)
	}
	if err := c.Events(ctx, func(api.Event) error { return nil }); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("Events: %v, want api.ErrUnauthorized", err)
	}
}

func TestClientQueries(t *testing.T) {
	n := startNode(t)
	c := newClient(t, n)
	ctx := testContext(t)
	v, err := c.Version(ctx)
	if err != nil || v.Version != Version {
		t.Errorf("Version = %q, %v; want %q", v.Version, err, Version)
	}
	info, err := c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != n.ID().String() || !slices.Equal(info.Addresses, n.Addrs()) {
		t.Errorf("ID = %+v, want ID %s addresses %v", info, n.ID(), n.Addrs())
	}
	peers, err := c.Peers(ctx)
	if err != nil || len(peers) != 0 {
		t.Errorf("Peers of a lone node = %v, %v; want none", peers, err)
	}
	rt, err := c.RoutingTable(ctx)
	if err != nil || len(rt) != 0 {
		t.Errorf("RoutingTable of a lone node = %v, %v; want empty", rt, err)
	}
}

func TestClientConnect(t *testing.T) {
	a, b := startNode(t), startNode(t)
	ca, cb := newClient(t, a), newClient(t, b)
	ctx := testContext(t)

	id, err := ca.Connect(ctx, tcpAddr(t, b))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if id != b.ID().String() {
		t.Errorf("Connect returned %s, want %s", id, b.ID())
	}
	for _, tc := range []struct {
		name  string
		c     *api.Client
		other *Node
	}{{"a lists b", ca, b}, {"b lists a", cb, a}} {
		waitFor(t, tc.name, func() bool {
			peers, err := tc.c.Peers(ctx)
			if err != nil {
				t.Fatalf("Peers: %v", err)
			}
			return slices.Contains(peerIDs(peers), tc.other.ID().String())
		})
	}
	peers, err := ca.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if p.ID == b.ID().String() {
			if !strings.HasPrefix(p.Addr, "/ip4/127.0.0.1/tcp/") {
				t.Errorf("a reaches b over %s, want the dialled TCP address", p.Addr)
			}
			if p.Direction != "Outbound" {
				t.Errorf("a's connection to b is %s, want Outbound", p.Direction)
			}
		}
	}
	// Both DHT servers take each other into their routing tables.
	for _, tc := range []struct {
		name  string
		c     *api.Client
		other *Node
	}{{"b in a's routing table", ca, b}, {"a in b's routing table", cb, a}} {
		waitFor(t, tc.name, func() bool {
			rt, err := tc.c.RoutingTable(ctx)
			if err != nil {
				t.Fatalf("RoutingTable: %v", err)
			}
			return slices.Contains(rt, tc.other.ID().String())
		})
	}
}

func TestClientConnectFails(t *testing.T) {
	n := startNode(t)
	c := newClient(t, n)
	ctx := testContext(t)
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/4001"); !errors.Is(err, ErrBadMultiaddr) {
		t.Errorf("Connect without /p2p/: %v, want ErrBadMultiaddr", err)
	}
	if _, err := c.Connect(ctx, tcpAddr(t, n)); err == nil {
		t.Error("Connect to the node itself succeeded")
	} else if se := (*api.Error)(nil); !errors.As(err, &se) || se.Status != http.StatusBadRequest || !errors.Is(err, api.ErrSelfDial) {
		t.Errorf("Connect to self: %v, want a 400 api.Error with code self_dial", err)
	}
	_, port, _ := net.SplitHostPort(closedPort(t))
	_, err = c.Connect(ctx, "/ip4/127.0.0.1/tcp/"+port+"/p2p/"+nobody.String())
	var se *api.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway || se.Code != api.CodeFailed {
		t.Errorf("Connect to a closed port: %v, want a 502 api.Error with code failed", err)
	} else if !strings.Contains(se.Message, nobody.String()) {
		t.Errorf("error %q does not name the peer", se.Message)
	}
	if peers, err := c.Peers(ctx); err != nil || len(peers) != 0 {
		t.Errorf("Peers after failed connects = %v, %v; want none", peers, err)
	}
}

// subscribers counts the open event subscriptions of n. Tests use it only to
// know that an events stream is being served before they make events.
func subscribers(n *Node) int {
	n.events.mu.Lock()
	defer n.events.mu.Unlock()
	return len(n.events.subs)
}

// streamEvents runs Client.Events against n in a goroutine until the test
// ends and returns the events it receives and its result.
func streamEvents(t *testing.T, n *Node) (<-chan api.Event, <-chan error) {
	t.Helper()
	c := newClient(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan api.Event, 64)
	done := make(chan error, 1)
	finished := make(chan struct{})
	before := subscribers(n)
	go func() {
		defer close(finished)
		done <- c.Events(ctx, func(ev api.Event) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(waitTimeout):
			t.Error("Events did not return after its context ended")
		}
	})
	waitFor(t, "the events stream to subscribe", func() bool { return subscribers(n) > before })
	return events, done
}

// waitEvent reads events until one of type typ about peer p arrives.
func waitEvent[E Event | api.Event](t *testing.T, events <-chan E, typ string, p peer.ID) E {
	t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case e := <-events:
			// In process Data is the publisher's value; through the API
			// it is JSON. Compare the JSON both ways.
			var ev struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if b, err := json.Marshal(e); err != nil || json.Unmarshal(b, &ev) != nil {
				t.Fatalf("event %#v does not encode", e)
			}
			if ev.Type != typ {
				continue
			}
			b := []byte(ev.Data)
			var data struct {
				Peer string `json:"peer"`
			}
			if err := json.Unmarshal(b, &data); err != nil {
				t.Fatalf("%s event data = %s, want an object with a peer: %v", typ, b, err)
			}
			if data.Peer == p.String() {
				return e
			}
		case <-timeout.C:
			t.Fatalf("no %s event for %s within %v", typ, p, waitTimeout)
		}
	}
}

func TestEventsPeerConnected(t *testing.T) {
	a, b := startNode(t), startNode(t)
	events, _ := streamEvents(t, a)
	start := time.Now()
	if _, err := b.Connect(testContext(t), tcpAddr(t, a)); err != nil {
		t.Fatalf("b connects to a: %v", err)
	}
	ev := waitEvent(t, events, EventPeerConnected, b.ID())
	if ev.Time.IsZero() || ev.Time.Before(start.Add(-time.Minute)) {
		t.Errorf("event time %v is not the time of the connection", ev.Time)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, EventPeerDisconnected, b.ID())
}

func TestEventsEndWhenDaemonStops(t *testing.T) {
	n := startNode(t)
	_, done := streamEvents(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if errors.Is(err, context.Canceled) {
			t.Errorf("Events ended by its own context, not by the daemon: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Events still running after the daemon closed")
	}
}

func TestEventsOfInProcessSubscriber(t *testing.T) {
	a, b := startNode(t), startNode(t)
	ch, cancel := a.Subscribe(16)
	if _, err := b.Connect(testContext(t), tcpAddr(t, a)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, EventPeerConnected, b.ID())
	cancel()
	cancel() // idempotent
	for range ch {
		// drain until the cancelled subscription's channel closes
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	late, cancelLate := a.Subscribe(1)
	defer cancelLate()
	if _, ok := <-late; ok {
		t.Error("subscription to a closed node delivered an event")
	}
}
