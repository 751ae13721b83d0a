package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/media"
)

// Profile names accepted by InitRepo.
const (
	// ProfileDefault is for real use: all interfaces, the public IPFS
	// bootstrap peers and the public Amino DHT, mDNS and NAT port mapping.
	ProfileDefault = "default"
	// ProfileLocal listens on loopback only and has no bootstrap peers, no
	// mDNS and no NAT port mapping, so a node never sends a packet off the
	// machine. Tests, the demo and the local quickstart use it.
	ProfileLocal = "local"
)

// DefaultAPIAddr is where the local API listens unless configured otherwise;
// when the port is busy the daemon takes a free one and writes it to the
// repo's api file.
const DefaultAPIAddr = "127.0.0.1:5180"

// DHT protocol prefixes (see DESIGN.md, "Wire names").
const (
	// PrivateDHTPrefix is the protocol prefix of face2face's own DHT, used
	// by private and test networks.
	PrivateDHTPrefix = "/f2f"
	// AminoDHTPrefix is the public IPFS (Amino) DHT's prefix.
	AminoDHTPrefix = "/ipfs"
)

// DefaultBootstrapPeers are the public IPFS bootstrap peers (as in Kubo).
var defaultBootstrapPeers = []string{
	"/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
	"/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
	"/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
	"/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
	"/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
	"/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
}

// DefaultBootstrapPeers returns a copy of the public IPFS bootstrap list that
// the default profile uses.
func DefaultBootstrapPeers() []string {
	return append([]string(nil), defaultBootstrapPeers...)
}

// Config is the content of a repo's config.json.
type Config struct {
	// Profile the repo was initialised with (informational).
	Profile string `json:"profile"`
	// PeerID is the identity's peer ID (informational; the key file rules).
	PeerID string `json:"peer_id"`
	// Addresses the daemon listens on.
	Addresses AddressesConfig `json:"addresses"`
	// Bootstrap peers (full multiaddrs with /p2p/).
	Bootstrap []string `json:"bootstrap"`
	// Discovery mechanisms besides the DHT.
	Discovery DiscoveryConfig `json:"discovery"`
	// NAT traversal features.
	NAT NATConfig `json:"nat"`
	// DHT settings.
	DHT DHTConfig `json:"dht"`
	// Resources bounds what the network may make the node use.
	Resources ResourcesConfig `json:"resources"`
	// Media configures WebRTC (optional; the local profile keeps it on
	// loopback whatever this says).
	Media MediaConfig `json:"media"`
}

// MediaConfig configures WebRTC's ICE.
type MediaConfig struct {
	// ICEServers are optional STUN/TURN URLs (stun:host:port, turn:host:port).
	ICEServers    []string `json:"ice_servers,omitempty"`
	ICEUsername   string   `json:"ice_username,omitempty"`
	ICECredential string   `json:"ice_credential,omitempty"`
	// ICEAddresses, when set, are the only local IPs WebRTC uses.
	ICEAddresses []string `json:"ice_addresses,omitempty"`
	// LoopbackOnly keeps WebRTC on loopback addresses.
	LoopbackOnly bool `json:"loopback_only,omitempty"`
	// TURNListen is the UDP address ("0.0.0.0:4181") of the STUN and TURN
	// server this node runs for its rooms' members while it is publicly
	// reachable; empty: none.
	TURNListen string `json:"turn_listen,omitempty"`
	// Composed video (f2f media mix ROOM on --video) this node makes as
	// the mixer: the picture's size, frames a second, kbit/s per member,
	// and the CPU it may spend composing, in cores (0: the defaults,
	// 640x360, 15 fps, 600 kbit/s, 0.75 cores).
	ComposeWidth  int     `json:"compose_width,omitempty"`
	ComposeHeight int     `json:"compose_height,omitempty"`
	ComposeFPS    int     `json:"compose_fps,omitempty"`
	ComposeKbps   int     `json:"compose_kbps,omitempty"`
	ComposeBudget float64 `json:"compose_budget,omitempty"`
}

// composeParams are the composed video's settings: config.json's where
// set, else the defaults.
func (m MediaConfig) composeParams() media.ComposeParams {
	p := media.DefaultParams().Compose
	if m.ComposeWidth != 0 {
		p.Width = m.ComposeWidth
	}
	if m.ComposeHeight != 0 {
		p.Height = m.ComposeHeight
	}
	if m.ComposeFPS != 0 {
		p.FPS = m.ComposeFPS
	}
	if m.ComposeKbps != 0 {
		p.Kbps = m.ComposeKbps
	}
	if m.ComposeBudget != 0 {
		p.Budget = m.ComposeBudget
	}
	return p
}

// AddressesConfig lists the swarm (libp2p) and local API addresses.
type AddressesConfig struct {
	Swarm []string `json:"swarm"`
	API   string   `json:"api"`
}

// DiscoveryConfig switches local-network discovery.
type DiscoveryConfig struct {
	MDNS bool `json:"mdns"`
}

// NATConfig switches NAT traversal features.
type NATConfig struct {
	PortMapping  bool `json:"port_mapping"`
	HolePunching bool `json:"hole_punching"`
	// RelayClient reserves a slot on relays (the rooms' public members
	// first) while AutoNAT says this node is behind NAT, and advertises
	// the relay addresses.
	RelayClient    bool `json:"relay_client"`
	AutoNATService bool `json:"autonat_service"`
	// RelayService runs the circuit relay v2 service for the members of
	// this node's rooms while AutoNAT says the node is publicly reachable.
	RelayService bool `json:"relay_service"`
	// Reachability forces what AutoNAT would find: "" or "auto" (AutoNAT
	// decides), "public" or "private".
	Reachability string `json:"reachability,omitempty"`
}

// DHTConfig configures kad-dht.
type DHTConfig struct {
	// ProtocolPrefix is "/f2f" for a private network or "/ipfs" for Amino.
	ProtocolPrefix string `json:"protocol_prefix"`
	// Mode is "auto", "server" or "client".
	Mode string `json:"mode"`
}

// ResourcesConfig holds the explicit limits of the libp2p resource manager
// and the connection manager's water marks.
type ResourcesConfig struct {
	MaxMemoryMB        int `json:"max_memory_mb"`
	MaxFileDescriptors int `json:"max_file_descriptors"`
	MaxConnections     int `json:"max_connections"`
	MaxStreams         int `json:"max_streams"`
	ConnsLowWater      int `json:"conns_low_water"`
	ConnsHighWater     int `json:"conns_high_water"`
}

// DefaultSwarmPort is the default profile's TCP and UDP (QUIC) port: face2face's
// own, so that a node runs next to Kubo (4001) on one machine.
const DefaultSwarmPort = "4180"

// DefaultTURNPort is the default profile's UDP port of the STUN and TURN
// server a publicly reachable node runs for its rooms.
const DefaultTURNPort = "4181"

// DefaultConfig returns the config of a profile ("default" or "local").
func DefaultConfig(profile string) (*Config, error) {
	res := ResourcesConfig{
		MaxMemoryMB:        256,
		MaxFileDescriptors: 512,
		MaxConnections:     256,
		MaxStreams:         2048,
		ConnsLowWater:      64,
		ConnsHighWater:     192,
	}
	switch profile {
	case "", ProfileDefault:
		return &Config{
			Profile: ProfileDefault,
			Addresses: AddressesConfig{
				Swarm: []string{
					"/ip4/0.0.0.0/tcp/" + DefaultSwarmPort,
					"/ip6/::/tcp/" + DefaultSwarmPort,
					"/ip4/0.0.0.0/udp/" + DefaultSwarmPort + "/quic-v1",
					"/ip6/::/udp/" + DefaultSwarmPort + "/quic-v1",
				},
				API: DefaultAPIAddr,
			},
			Bootstrap: DefaultBootstrapPeers(),
			Discovery: DiscoveryConfig{MDNS: true},
			NAT:       NATConfig{PortMapping: true, HolePunching: true, RelayClient: true, AutoNATService: true, RelayService: true},
			DHT:       DHTConfig{ProtocolPrefix: AminoDHTPrefix, Mode: "auto"},
			Resources: res,
			Media:     MediaConfig{TURNListen: "0.0.0.0:" + DefaultTURNPort},
		}, nil
	case ProfileLocal:
		return &Config{
			Profile: ProfileLocal,
			Addresses: AddressesConfig{
				Swarm: []string{
					"/ip4/127.0.0.1/tcp/0",
					"/ip4/127.0.0.1/udp/0/quic-v1",
				},
				API: DefaultAPIAddr,
			},
			Bootstrap: []string{},
			Discovery: DiscoveryConfig{MDNS: false},
			NAT:       NATConfig{PortMapping: false, HolePunching: true, RelayClient: true, AutoNATService: true},
			DHT:       DHTConfig{ProtocolPrefix: PrivateDHTPrefix, Mode: "server"},
			Resources: res,
			Media:     MediaConfig{LoopbackOnly: true},
		}, nil
	default:
		return nil, fmt.Errorf("%w %q (want %q or %q)", ErrUnknownProfile, profile, ProfileDefault, ProfileLocal)
	}
}

// Validate checks every field and returns the first problem found.
func (c *Config) Validate() error {
	if len(c.Addresses.Swarm) == 0 {
		return errors.New("addresses.swarm: no listen address")
	}
	for _, s := range c.Addresses.Swarm {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return fmt.Errorf("addresses.swarm: bad multiaddr %q: %v", s, err)
		}
	}
	if err := ValidateAPIAddr(c.Addresses.API); err != nil {
		return fmt.Errorf("addresses.api: %w", err)
	}
	if _, err := ParseBootstrap(c.Bootstrap); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	switch c.DHT.ProtocolPrefix {
	case PrivateDHTPrefix, AminoDHTPrefix:
	default:
		if !strings.HasPrefix(c.DHT.ProtocolPrefix, "/") {
			return fmt.Errorf("dht.protocol_prefix: %q must start with /", c.DHT.ProtocolPrefix)
		}
	}
	switch c.DHT.Mode {
	case "auto", "server", "client":
	default:
		return fmt.Errorf("dht.mode: %q (want auto, server or client)", c.DHT.Mode)
	}
	switch c.NAT.Reachability {
	case "", "auto", "public", "private":
	default:
		return fmt.Errorf("nat.reachability: %q (want auto, public or private)", c.NAT.Reachability)
	}
	if c.Media.TURNListen != "" {
		if _, err := net.ResolveUDPAddr("udp", c.Media.TURNListen); err != nil {
			return fmt.Errorf("media.turn_listen: %q: %v", c.Media.TURNListen, err)
		}
	}
	if err := c.Media.composeParams().Validate(); err != nil {
		return fmt.Errorf("media.compose_*: %s", strings.TrimPrefix(err.Error(), "media: "))
	}
	r := c.Resources
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max_memory_mb", r.MaxMemoryMB}, {"max_file_descriptors", r.MaxFileDescriptors},
		{"max_connections", r.MaxConnections}, {"max_streams", r.MaxStreams},
		{"conns_low_water", r.ConnsLowWater}, {"conns_high_water", r.ConnsHighWater},
	} {
		if f.v <= 0 {
			return fmt.Errorf("resources.%s: must be > 0, got %d", f.name, f.v)
		}
	}
	if r.ConnsLowWater > r.ConnsHighWater {
		return fmt.Errorf("resources: conns_low_water (%d) > conns_high_water (%d)", r.ConnsLowWater, r.ConnsHighWater)
	}
	return nil
}

// ValidateAPIAddr checks that addr is HOST:PORT on a loopback IP or localhost.
func ValidateAPIAddr(addr string) error { return api.CheckAddr(addr) }

// loadConfig reads and validates path.
func loadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadConfig, path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: trailing data after the JSON object", ErrBadConfig, path)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadConfig, path, err)
	}
	return &c, nil
}

// writeFileAtomic writes data to path through a synced temp file and a rename,
// so a crash leaves either the old or the new content, never a torn file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileVia(path, data, perm, os.Rename)
}

// writeFileExclusive is writeFileAtomic that fails with fs.ErrExist when
// path exists: the synced temp file is hard-linked into place, which, unlike
// a rename, never replaces an existing file.
func writeFileExclusive(path string, data []byte, perm os.FileMode) error {
	return writeFileVia(path, data, perm, os.Link)
}

func writeFileVia(path string, data []byte, perm os.FileMode, place func(oldpath, newpath string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := place(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
