package node

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/fluttershy/face2face/api"
)

// newRepo initialises a repo of profile in a fresh dir (which InitRepo
// creates) and returns its path.
func newRepo(t *testing.T, profile string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := InitRepo(dir, profile); err != nil {
		t.Fatalf("InitRepo(%q): %v", profile, err)
	}
	return dir
}

// openRepo opens the repo at dir and closes it when the test ends.
func openRepo(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := OpenRepo(dir)
	if err != nil {
		t.Fatalf("OpenRepo: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Repo.Close: %v", err)
		}
	})
	return r
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readConfig decodes the repo's config.json as written on disk.
func readConfig(t *testing.T, dir string) *Config {
	t.Helper()
	var c Config
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, ConfigFile)), &c); err != nil {
		t.Fatalf("decode %s: %v", ConfigFile, err)
	}
	return &c
}

// writeConfig replaces the repo's config.json with c.
func writeConfig(t *testing.T, dir string, c *Config) {
	t.Helper()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestInitRepoWritesPrivateFiles(t *testing.T) {
	for _, profile := range []string{ProfileLocal, ProfileDefault} {
		t.Run(profile, func(t *testing.T) {
			dir := newRepo(t, profile)
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !st.IsDir() || st.Mode().Perm() != 0o700 {
				t.Errorf("repo dir mode = %v, want drwx------", st.Mode())
			}
			for _, name := range []string{KeyFile, TokenFile, ConfigFile} {
				st, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %v, want -rw-------", name, st.Mode().Perm())
				}
			}
			// No temp files are left behind by the atomic writes.
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			slices.Sort(names)
			if want := []string{TokenFile, ConfigFile, KeyFile}; !slices.Equal(names, want) {
				t.Errorf("repo holds %v, want %v", names, want)
			}
		})
	}
}

func TestInitRepoIdentityAndToken(t *testing.T) {
	dir := newRepo(t, ProfileLocal)
	cfg := readConfig(t, dir)
	r := openRepo(t, dir)
	pid, err := peer.IDFromPrivateKey(r.Key)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PeerID != pid.String() {
		t.Errorf("config peer_id = %s, key's peer ID = %s", cfg.PeerID, pid)
	}
	if r.Key.Type() != crypto.Ed25519 {
		t.Errorf("identity key type = %v, want Ed25519", r.Key.Type())
	}
	tok, err := api.ReadToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hex.DecodeString(tok); err != nil || len(b) != 32 {
		t.Errorf("token %q is not 32 hex-encoded bytes (err %v)", tok, err)
	}
	other, err := api.ReadToken(newRepo(t, ProfileLocal))
	if err != nil {
		t.Fatal(err)
	}
	if other == tok {
		t.Error("two repos got the same API token")
	}
}

func TestReadTokenEmpty(t *testing.T) {
	dir := newRepo(t, ProfileLocal)
	if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ReadToken(dir); err == nil {
		t.Fatal("ReadToken accepted an empty token file")
	}
	if err := os.Remove(filepath.Join(dir, TokenFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ReadToken(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadToken without token file: %v, want fs.ErrNotExist", err)
	}
}

func TestInitRepoTwice(t *testing.T) {
	for _, second := range []string{ProfileLocal, ProfileDefault} {
		t.Run("then "+second, func(t *testing.T) {
			dir := newRepo(t, ProfileLocal)
			key := readFile(t, filepath.Join(dir, KeyFile))
			cfg := readFile(t, filepath.Join(dir, ConfigFile))
			tok := readFile(t, filepath.Join(dir, TokenFile))

			_, err := InitRepo(dir, second)
			if !errors.Is(err, ErrRepoExists) {
				t.Fatalf("second InitRepo: %v, want ErrRepoExists", err)
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, KeyFile)), key) {
				t.Error("second InitRepo changed identity.key")
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, ConfigFile)), cfg) {
				t.Error("second InitRepo changed config.json")
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, TokenFile)), tok) {
				t.Error("second InitRepo changed api.token")
			}
		})
	}
}

func TestInitRepoUnknownProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	_, err := InitRepo(dir, "lan")
	if !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("InitRepo(lan): %v, want ErrUnknownProfile", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed InitRepo left %s behind (stat: %v)", dir, err)
	}
	if _, err := DefaultConfig("lan"); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("DefaultConfig(lan): %v, want ErrUnknownProfile", err)
	}
}

func TestProfiles(t *testing.T) {
	for _, tc := range []struct {
		profile string
		check   func(t *testing.T, c *Config)
	}{
		{ProfileLocal, func(t *testing.T, c *Config) {
			if len(c.Addresses.Swarm) == 0 {
				t.Error("no swarm address")
			}
			for _, s := range c.Addresses.Swarm {
				m, err := ma.NewMultiaddr(s)
				if err != nil {
					t.Errorf("swarm %q: %v", s, err)
					continue
				}
				if !manet.IsIPLoopback(m) {
					t.Errorf("swarm address %s is not loopback", s)
				}
			}
			if len(c.Bootstrap) != 0 {
				t.Errorf("bootstrap = %v, want none", c.Bootstrap)
			}
			if c.Discovery.MDNS {
				t.Error("mDNS is on")
			}
			if c.NAT.PortMapping {
				t.Error("NAT port mapping is on")
			}
			if c.DHT.ProtocolPrefix != PrivateDHTPrefix || c.DHT.Mode != "server" {
				t.Errorf("dht = %+v, want prefix %s mode server", c.DHT, PrivateDHTPrefix)
			}
		}},
		{ProfileDefault, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Bootstrap, DefaultBootstrapPeers()) {
				t.Errorf("bootstrap = %v, want the public bootstrap peers", c.Bootstrap)
			}
			if !slices.Contains(c.Bootstrap, "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN") {
				t.Errorf("bootstrap lacks bootstrap.libp2p.io: %v", c.Bootstrap)
			}
			if !c.Discovery.MDNS {
				t.Error("mDNS is off")
			}
			if !c.NAT.PortMapping {
				t.Error("NAT port mapping is off")
			}
			if c.DHT.ProtocolPrefix != AminoDHTPrefix {
				t.Errorf("dht prefix = %q, want %q", c.DHT.ProtocolPrefix, AminoDHTPrefix)
			}
			// Its own port, not Kubo's 4001, on TCP and QUIC.
			for _, a := range c.Addresses.Swarm {
				if strings.Contains(a, "/4001") || !strings.Contains(a, "/"+DefaultSwarmPort) {
					t.Errorf("swarm address %s, want port %s", a, DefaultSwarmPort)
				}
			}
		}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			c, err := DefaultConfig(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			if c.Profile != tc.profile {
				t.Errorf("profile = %q, want %q", c.Profile, tc.profile)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if err := ValidateAPIAddr(c.Addresses.API); err != nil {
				t.Errorf("API address: %v", err)
			}
			tc.check(t, c)

			// What InitRepo writes is that profile, and it loads back.
			dir := newRepo(t, tc.profile)
			onDisk := readConfig(t, dir)
			if onDisk.Profile != tc.profile {
				t.Errorf("config.json profile = %q, want %q", onDisk.Profile, tc.profile)
			}
			tc.check(t, onDisk)
			r := openRepo(t, dir)
			tc.check(t, r.Config)
		})
	}
}

func TestDefaultProfileIsEmptyName(t *testing.T) {
	c, err := DefaultConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != ProfileDefault {
		t.Errorf("DefaultConfig(\"\").Profile = %q, want %q", c.Profile, ProfileDefault)
	}
}

func TestDefaultBootstrapPeersIsACopy(t *testing.T) {
	a := DefaultBootstrapPeers()
	a[0] = "changed"
	if b := DefaultBootstrapPeers(); b[0] == "changed" {
		t.Fatal("DefaultBootstrapPeers returns the package's own slice")
	}
}

func TestOpenRepoNotInitialised(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"empty dir", func(t *testing.T) string { return t.TempDir() }},
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
		{"no config", func(t *testing.T) string {
			dir := newRepo(t, ProfileLocal)
			if err := os.Remove(filepath.Join(dir, ConfigFile)); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"no identity", func(t *testing.T) string {
			dir := newRepo(t, ProfileLocal)
			if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			if r, err := OpenRepo(dir); !errors.Is(err, ErrNotInitialised) {
				if err == nil {
					r.Close()
				}
				t.Fatalf("OpenRepo: %v, want ErrNotInitialised", err)
			}
		})
	}
}

func TestOpenRepoBadConfig(t *testing.T) {
	edit := func(f func(c *Config)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			c := readConfig(t, dir)
			f(c)
			writeConfig(t, dir, c)
		}
	}
	raw := func(s string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, dir string)
	}{
		{"garbage", raw("this is not json {")},
		{"empty file", raw("")},
		{"null", raw("null")},
		{"unknown field", func(t *testing.T, dir string) {
			var m map[string]any
			if err := json.Unmarshal(readFile(t, filepath.Join(dir, ConfigFile)), &m); err != nil {
				t.Fatal(err)
			}
			m["colour"] = "blue"
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			raw(string(b))(t, dir)
		}},
		{"trailing data", func(t *testing.T, dir string) {
			raw(string(readFile(t, filepath.Join(dir, ConfigFile)))+"}")(t, dir)
		}},
		{"wrong type", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, ConfigFile))
			bad := bytes.Replace(b, []byte(`"mdns": false`), []byte(`"mdns": "no"`), 1)
			if bytes.Equal(bad, b) {
				t.Fatalf("config.json has no \"mdns\": false to replace:\n%s", b)
			}
			raw(string(bad))(t, dir)
		}},
		{"bad swarm multiaddr", edit(func(c *Config) { c.Addresses.Swarm = []string{"/ip4/127.0.0.1/tcp/notaport"} })},
		{"no swarm address", edit(func(c *Config) { c.Addresses.Swarm = nil })},
		{"non-loopback api", edit(func(c *Config) { c.Addresses.API = "0.0.0.0:5180" })},
		{"api without port", edit(func(c *Config) { c.Addresses.API = "127.0.0.1" })},
		{"bootstrap without p2p", edit(func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"} })},
		{"dht prefix without slash", edit(func(c *Config) { c.DHT.ProtocolPrefix = "f2f" })},
		{"dht mode", edit(func(c *Config) { c.DHT.Mode = "sometimes" })},
		{"zero max streams", edit(func(c *Config) { c.Resources.MaxStreams = 0 })},
		{"negative memory", edit(func(c *Config) { c.Resources.MaxMemoryMB = -1 })},
		{"low water above high water", edit(func(c *Config) {
			c.Resources.ConnsLowWater, c.Resources.ConnsHighWater = 200, 100
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t, ProfileLocal)
			tc.corrupt(t, dir)
			before := readFile(t, filepath.Join(dir, ConfigFile))
			// Twice: a failed open must not leave the repo locked.
			for i := 0; i < 2; i++ {
				r, err := OpenRepo(dir)
				if !errors.Is(err, ErrBadConfig) {
					if err == nil {
						r.Close()
					}
					t.Fatalf("OpenRepo #%d: %v, want ErrBadConfig", i+1, err)
				}
				if !strings.Contains(err.Error(), ConfigFile) {
					t.Errorf("error %q does not name %s", err, ConfigFile)
				}
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, ConfigFile)), before) {
				t.Error("OpenRepo changed the bad config.json on disk")
			}
		})
	}
}

func TestOpenRepoBadKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(key []byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("not a key at all") }},
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(key []byte) []byte { return key[:len(key)/2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t, ProfileLocal)
			path := filepath.Join(dir, KeyFile)
			key := tc.corrupt(readFile(t, path))
			if err := os.WriteFile(path, key, 0o600); err != nil {
				t.Fatal(err)
			}
			// Twice: a failed open must not leave the repo locked.
			for i := 0; i < 2; i++ {
				r, err := OpenRepo(dir)
				if !errors.Is(err, ErrBadKey) {
					if err == nil {
						r.Close()
					}
					t.Fatalf("OpenRepo #%d: %v, want ErrBadKey", i+1, err)
				}
			}
			if !bytes.Equal(readFile(t, path), key) {
				t.Error("OpenRepo changed identity.key")
			}
		})
	}
}

func TestOpenRepoLock(t *testing.T) {
	dir := newRepo(t, ProfileLocal)
	first, err := OpenRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := OpenRepo(dir); !errors.Is(err, ErrRepoLocked) {
		if err == nil {
			r.Close()
		}
		first.Close()
		t.Fatalf("second OpenRepo: %v, want ErrRepoLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	again := openRepo(t, dir)
	if again.Config == nil || again.Key == nil {
		t.Fatal("reopened repo has no config or key")
	}
	if again.Path != dir {
		t.Errorf("Path = %q, want %q", again.Path, dir)
	}
}

func TestParsePeerAddr(t *testing.T) {
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("valid", func(t *testing.T) {
		ai, err := ParsePeerAddr(" /ip4/127.0.0.1/tcp/4001/p2p/" + pid.String() + "\n")
		if err != nil {
			t.Fatal(err)
		}
		if ai.ID != pid {
			t.Errorf("ID = %s, want %s", ai.ID, pid)
		}
		if len(ai.Addrs) != 1 || ai.Addrs[0].String() != "/ip4/127.0.0.1/tcp/4001" {
			t.Errorf("Addrs = %v, want [/ip4/127.0.0.1/tcp/4001]", ai.Addrs)
		}
	})
	for _, tc := range []struct{ name, addr string }{
		{"missing p2p", "/ip4/127.0.0.1/tcp/4001"},
		{"garbage", "not a multiaddr"},
		{"empty", ""},
		{"bad peer id", "/ip4/127.0.0.1/tcp/4001/p2p/notapeerid"},
		{"p2p not last", "/p2p/" + pid.String() + "/ip4/127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParsePeerAddr(tc.addr); !errors.Is(err, ErrBadMultiaddr) {
				t.Fatalf("ParsePeerAddr(%q): %v, want ErrBadMultiaddr", tc.addr, err)
			}
		})
	}
}

func TestParseBootstrapMergesPeers(t *testing.T) {
	peers, err := ParseBootstrap(DefaultBootstrapPeers())
	if err != nil {
		t.Fatal(err)
	}
	// Six addresses of five peers: 104.131.131.82 is listed over TCP and QUIC.
	if len(peers) != 5 {
		t.Fatalf("got %d peers, want 5: %v", len(peers), peers)
	}
	for _, p := range peers {
		want := 1
		if p.ID.String() == "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ" {
			want = 2
		}
		if len(p.Addrs) != want {
			t.Errorf("peer %s has %d addresses, want %d", p.ID, len(p.Addrs), want)
		}
	}
	if _, err := ParseBootstrap([]string{"/ip4/127.0.0.1/tcp/1"}); !errors.Is(err, ErrBadMultiaddr) {
		t.Errorf("ParseBootstrap without /p2p/: %v, want ErrBadMultiaddr", err)
	}
	if peers, err := ParseBootstrap(nil); err != nil || len(peers) != 0 {
		t.Errorf("ParseBootstrap(nil) = %v, %v; want none", peers, err)
	}
}

func TestValidateAPIAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.1:5180", true},
		{"127.1.2.3:5180", true},
		{"[::1]:5", true},
		{"localhost:5180", true},
		{"0.0.0.0:5180", false},
		{"10.0.0.1:1", false},
		{"[::]:5180", false},
		{"192.168.1.2:5180", false},
		{"example.com:5180", false},
		{":5180", false},
		{"127.0.0.1", false},
		{"127.0.0.1:", false},
		{"", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := ValidateAPIAddr(tc.addr)
			if tc.ok && err != nil {
				t.Errorf("ValidateAPIAddr(%q) = %v, want ok", tc.addr, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("ValidateAPIAddr(%q) accepted a non-loopback or malformed address", tc.addr)
			}
		})
	}
}

func TestRepoPath(t *testing.T) {
	home := t.TempDir()
	env := filepath.Join(t.TempDir(), "from-env")
	flag := filepath.Join(t.TempDir(), "from-flag")
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag, env, want string
	}{
		{"flag beats env", flag, env, flag},
		{"flag alone", flag, "", flag},
		{"env", "", env, env},
		{"home", "", "", filepath.Join(home, ".face2face")},
		{"relative flag", "rel/repo", env, filepath.Join(cwd, "rel/repo")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv(EnvRepo, tc.env)
			got, err := RepoPath(tc.flag)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("RepoPath(%q) with $%s=%q = %q, want %q", tc.flag, EnvRepo, tc.env, got, tc.want)
			}
		})
	}
}

// The composed video's settings in config.json: unset means the
// defaults; out of range is refused with the key's name.
func TestComposeConfig(t *testing.T) {
	c, err := DefaultConfig(ProfileLocal)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Media.composeParams(); p.Width != 640 || p.Height != 360 || p.FPS != 15 {
		t.Fatalf("defaults %+v", p)
	}
	c.Media.ComposeWidth, c.Media.ComposeHeight, c.Media.ComposeFPS = 1280, 720, 10
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := c.Media.composeParams(); p.Width != 1280 || p.Height != 720 || p.FPS != 10 || p.Kbps != 600 {
		t.Fatalf("set %+v", p)
	}
	for _, bad := range []func(m *MediaConfig){
		func(m *MediaConfig) { m.ComposeFPS = 60 },
		func(m *MediaConfig) { m.ComposeWidth = 641 },
		func(m *MediaConfig) { m.ComposeBudget = -1 },
		func(m *MediaConfig) { m.ComposeKbps = 50 },
	} {
		c2 := c
		bad(&c2.Media)
		if err := c2.Validate(); err == nil || !strings.Contains(err.Error(), "media.compose_") {
			t.Errorf("%+v: %v", c2.Media, err)
		}
	}
}
