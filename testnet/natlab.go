package testnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fluttershy/face2face/node"
)

// NATKind is how a lab router translates its home's addresses.
type NATKind string

// The router kinds of a NAT lab (RFC 4787 terms).
const (
	// NATPortRestricted: endpoint-independent mapping (MASQUERADE keeps
	// the source port), address-and-port-dependent filtering (conntrack
	// lets in only the answers of the hosts the home sent to): the usual
	// home router.
	NATPortRestricted NATKind = "port-restricted"
	// NATFullCone: endpoint-independent mapping and filtering: packets to
	// the router's public address are forwarded to the home whoever sends
	// them (as a router with a port forwarding or UPnP mapping does).
	NATFullCone NATKind = "full-cone"
	// NATSymmetric: a new random public port for every destination
	// (MASQUERADE --random-fully), as carrier-grade and some office NATs
	// do; hole punching cannot predict it.
	NATSymmetric NATKind = "symmetric"
)

// NATLab is a small internet built from network namespaces: one
// "internet" namespace holding a bridge with public addresses
// (11.0.0.0/16: outside manet's private and unroutable ranges, so libp2p
// treats them as public; no packet ever leaves the namespaces), public
// hosts on it, and homes, each behind its own router namespace doing NAT
// with iptables. It needs root, iproute2 and iptables.
type NATLab struct {
	tag  string
	dir  string
	mu   sync.Mutex
	nss  []string
	next atomic.Int32
}

// LabHost is one machine of a lab: a network namespace with an address.
type LabHost struct {
	// NS is the namespace's name.
	NS string
	// IP is the host's own address: public for a public host, the home's
	// LAN address behind a router.
	IP string
	// PublicIP is the address others see: the host's own, or its router's.
	PublicIP string
	lab      *NATLab
}

var labCount atomic.Int32

// NewNATLab builds the internet namespace. dir holds the per-host exec
// scripts. Close removes every namespace.
func NewNATLab(dir string) (*NATLab, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a NAT lab needs root (network namespaces)")
	}
	for _, c := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(c); err != nil {
			return nil, fmt.Errorf("a NAT lab needs %s: %w", c, err)
		}
	}
	l := &NATLab{tag: fmt.Sprintf("nl%d%c", os.Getpid()%100000, 'a'+rune(labCount.Add(1)%26)), dir: dir}
	inet := l.tag + "i"
	if err := l.addNS(inet); err != nil {
		return nil, err
	}
	if err := l.run("ip", "-n", inet, "link", "add", "name", "br0", "type", "bridge"); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.run("ip", "-n", inet, "link", "set", "br0", "up"); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *NATLab) run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (l *NATLab) addNS(ns string) error {
	if err := l.run("ip", "netns", "add", ns); err != nil {
		return err
	}
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	return l.run("ip", "-n", ns, "link", "set", "lo", "up")
}

// wan plugs namespace ns into the internet bridge with address ip/16 on
// a veth named dev.
func (l *NATLab) wan(ns, dev, ip string) error {
	peer := dev + "b"
	steps := [][]string{
		{"ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", peer, "netns", l.tag + "i"},
		{"ip", "-n", l.tag + "i", "link", "set", peer, "master", "br0"},
		{"ip", "-n", l.tag + "i", "link", "set", peer, "up"},
		{"ip", "-n", ns, "addr", "add", ip + "/16", "dev", dev},
		{"ip", "-n", ns, "link", "set", dev, "up"},
	}
	for _, s := range steps {
		if err := l.run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func (l *NATLab) host(ns, ip, public string) *LabHost {
	return &LabHost{NS: ns, IP: ip, PublicIP: public, lab: l}
}

// AddPublic adds a host with a public address on the internet bridge.
func (l *NATLab) AddPublic() (*LabHost, error) {
	n := l.next.Add(1)
	ns := fmt.Sprintf("%sp%d", l.tag, n)
	if err := l.addNS(ns); err != nil {
		return nil, err
	}
	ip := fmt.Sprintf("11.0.0.%d", n)
	if err := l.wan(ns, fmt.Sprintf("%sw%d", l.tag, n), ip); err != nil {
		return nil, err
	}
	return l.host(ns, ip, ip), nil
}

// AddHome adds a home (192.168.N.2) behind a router (public address
// 11.0.1.N) of the given kind. uplinkKbit > 0 caps the router's uplink
// with tc tbf.
func (l *NATLab) AddHome(kind NATKind, uplinkKbit int) (*LabHost, error) {
	n := l.next.Add(1)
	router, home := fmt.Sprintf("%sr%d", l.tag, n), fmt.Sprintf("%sh%d", l.tag, n)
	for _, ns := range []string{router, home} {
		if err := l.addNS(ns); err != nil {
			return nil, err
		}
	}
	wanDev, lan, lanHome := fmt.Sprintf("%sw%d", l.tag, n), fmt.Sprintf("%sl%d", l.tag, n), fmt.Sprintf("%sh%d", l.tag, n)
	public := fmt.Sprintf("11.0.1.%d", n)
	if err := l.wan(router, wanDev, public); err != nil {
		return nil, err
	}
	gw, ip := fmt.Sprintf("192.168.%d.1", n), fmt.Sprintf("192.168.%d.2", n)
	steps := [][]string{
		{"ip", "link", "add", lan, "netns", router, "type", "veth", "peer", "name", lanHome, "netns", home},
		{"ip", "-n", router, "addr", "add", gw + "/24", "dev", lan},
		{"ip", "-n", router, "link", "set", lan, "up"},
		{"ip", "-n", home, "addr", "add", ip + "/24", "dev", lanHome},
		{"ip", "-n", home, "link", "set", lanHome, "up"},
		{"ip", "-n", home, "route", "add", "default", "via", gw},
		{"ip", "netns", "exec", router, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"},
	}
	ipt := []string{"ip", "netns", "exec", router, "iptables"}
	rule := func(args ...string) []string { return append(slices.Clone(ipt), args...) }
	masq := rule("-t", "nat", "-A", "POSTROUTING", "-o", wanDev, "-j", "MASQUERADE")
	// Like a home router's firewall, unsolicited packets from the internet
	// are dropped silently (no RST, no ICMP unreachable, which would end
	// a hole punch whose first packet arrives before the router's own
	// packet has opened the mapping).
	firewall := [][]string{
		rule("-A", "INPUT", "-i", wanDev, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		rule("-A", "INPUT", "-i", wanDev, "-j", "DROP"),
		rule("-A", "FORWARD", "-i", wanDev, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"),
	}
	switch kind {
	case NATPortRestricted:
		steps = append(append(steps, masq), firewall...)
	case NATSymmetric:
		steps = append(append(steps, append(masq, "--random-fully")), firewall...)
	case NATFullCone:
		steps = append(steps, masq, rule("-t", "nat", "-A", "PREROUTING", "-i", wanDev, "-j", "DNAT", "--to-destination", ip))
	default:
		return nil, fmt.Errorf("unknown NAT kind %q", kind)
	}
	// Short UDP mappings, as strict home routers keep them: what crosses
	// the NAT must send keepalives (QUIC every 15 s, ICE consent checks,
	// TURN refreshes) or lose its mapping.
	// (Written to /proc/sys, the namespace's own, so that procps's sysctl
	// is not needed.)
	steps = append(steps, []string{"ip", "netns", "exec", router, "sh", "-c",
		"echo 10 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout && echo 30 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream"})
	if uplinkKbit > 0 {
		steps = append(steps, []string{"ip", "netns", "exec", router, "tc", "qdisc", "add", "dev", wanDev, "root", "tbf",
			"rate", fmt.Sprintf("%dkbit", uplinkKbit), "burst", "32kbit", "latency", "400ms"})
	}
	for _, s := range steps {
		if err := l.run(s[0], s[1:]...); err != nil {
			return nil, err
		}
	}
	return l.host(home, ip, public), nil
}

// Wrap returns a script that runs bin in the host's namespace (for
// StartDaemon and RunCLI, whose bin it replaces).
func (h *LabHost) Wrap(bin string) (string, error) {
	p := filepath.Join(h.lab.dir, h.NS+"-"+filepath.Base(bin)+".sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexec ip netns exec "+h.NS+" "+bin+" \"$@\"\n"), 0o755); err != nil {
		return "", err
	}
	return p, nil
}

// LabPort is the swarm port of lab daemons (TCP and QUIC); LabTURNPort the
// UDP port of their STUN and TURN server.
const (
	LabPort     = "4180"
	LabTURNPort = "4181"
)

// InitLabRepo makes a repo for a lab daemon: the default profile (every
// interface, port mapping off: the lab's routers have no UPnP), face2face's
// own DHT, no mDNS, bootstrap peers as given, WebRTC on the host's
// addresses and a TURN server while publicly reachable.
func InitLabRepo(repo string, bootstrap []string) error {
	if _, err := node.InitRepo(repo, node.ProfileDefault); err != nil {
		return err
	}
	path := filepath.Join(repo, node.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg node.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	cfg.Addresses.Swarm = []string{"/ip4/0.0.0.0/tcp/" + LabPort, "/ip4/0.0.0.0/udp/" + LabPort + "/quic-v1"}
	cfg.Bootstrap = append([]string{}, bootstrap...)
	cfg.Discovery.MDNS = false
	cfg.NAT.PortMapping = false
	cfg.DHT.ProtocolPrefix = node.PrivateDHTPrefix
	cfg.Media.TURNListen = "0.0.0.0:" + LabTURNPort
	if b, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Close deletes the lab's namespaces (and with them every veth and rule).
func (l *NATLab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.nss) - 1; i >= 0; i-- {
		_ = exec.Command("ip", "netns", "del", l.nss[i]).Run()
	}
	l.nss = nil
}
