package node

import (
	"fmt"
	"net"
	"testing"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/fluttershy/face2face/overlay"
)

// A member's announced TURN address is used only when it is a public IP
// of that member's own addresses.
func TestTURNAddrAllowed(t *testing.T) {
	known := []ma.Multiaddr{
		ma.StringCast("/ip4/11.0.0.1/tcp/4180"),
		ma.StringCast("/ip4/192.168.1.5/udp/4180/quic-v1"),
		ma.StringCast("/ip4/11.0.0.9/tcp/4180/p2p/12D3KooWDrP9NYXX6hPdNT7nt9LaV16YV2qbZDrnLoAJgwcohhRa/p2p-circuit"),
	}
	for addr, want := range map[string]bool{
		"11.0.0.1:4181":    true,
		"11.0.0.2:4181":    false, // not the member's
		"192.168.1.5:4181": false, // the member's, but private
		"127.0.0.1:4181":   false,
		"11.0.0.9:4181":    false, // only its relay's address
		"not an address":   false,
	} {
		if got := turnAddrAllowed(addr, known); got != want {
			t.Errorf("turnAddrAllowed(%q) = %v, want %v", addr, got, want)
		}
	}
}

// The default profile fits a home: its own port, port mapping, AutoNAT,
// hole punching, relay reservations, and while public the relay service
// and a TURN server; bad NAT settings are one-line errors.
func TestDefaultProfileNAT(t *testing.T) {
	c, err := DefaultConfig(ProfileDefault)
	if err != nil {
		t.Fatal(err)
	}
	nat := c.NAT
	if !nat.PortMapping || !nat.HolePunching || !nat.RelayClient || !nat.AutoNATService || !nat.RelayService {
		t.Errorf("default NAT config %+v", nat)
	}
	if c.Media.TURNListen != "0.0.0.0:"+DefaultTURNPort || DefaultSwarmPort == "4001" {
		t.Errorf("TURN %q, swarm port %s", c.Media.TURNListen, DefaultSwarmPort)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := *c
	bad.NAT.Reachability = "sometimes"
	if err := bad.Validate(); err == nil || err.Error() != `nat.reachability: "sometimes" (want auto, public or private)` {
		t.Errorf("bad reachability: %v", err)
	}
	bad = *c
	bad.Media.TURNListen = "nowhere"
	if err := bad.Validate(); err == nil {
		t.Error("a bad turn_listen was accepted")
	}
	local, err := DefaultConfig(ProfileLocal)
	if err != nil {
		t.Fatal(err)
	}
	if local.NAT.RelayService || local.Media.TURNListen != "" {
		t.Errorf("the local profile serves relays or TURN: %+v %q", local.NAT, local.Media.TURNListen)
	}
}

// A public node without a public address of its own (behind a port
// forward) advertises the addresses whose IP two peers at different IPs
// observed (over any transport), and only then.
func TestObservedAddrs(t *testing.T) {
	var o observedAddrs
	obs := ma.StringCast("/ip4/11.0.1.3/tcp/4180")
	own := []ma.Multiaddr{ma.StringCast("/ip4/192.168.3.2/tcp/4180")}
	o.add(obs, net.ParseIP("11.0.0.1"))
	o.add(obs, net.ParseIP("11.0.0.1")) // the same observer again
	if got := o.confirmed(own, overlay.ReachPublic); len(got) != 0 {
		t.Fatalf("one observer: %v", got)
	}
	quic := ma.StringCast("/ip4/11.0.1.3/udp/4180/quic-v1")
	o.add(quic, net.ParseIP("11.0.0.2"))                                    // a second observer, over QUIC
	o.add(ma.StringCast("/ip4/192.168.3.2/tcp/9"), net.ParseIP("11.0.0.2")) // private: ignored
	if got := o.confirmed(own, overlay.ReachPublic); len(got) != 2 || !got[0].Equal(obs) || !got[1].Equal(quic) {
		t.Fatalf("two observers: %v", got)
	}
	if got := o.confirmed(own, overlay.ReachPrivate); len(got) != 0 {
		t.Errorf("advertised while private: %v", got)
	}
	if got := o.confirmed(append(own, ma.StringCast("/ip4/11.0.0.7/tcp/4180")), overlay.ReachPublic); len(got) != 0 {
		t.Errorf("advertised beside a public address of its own: %v", got)
	}
	for i := range 100 {
		o.add(ma.StringCast(fmt.Sprintf("/ip4/11.0.2.%d/tcp/1", i)), net.ParseIP("11.0.0.1"))
	}
	if len(o.seen) > maxObservedAddrs {
		t.Errorf("%d observed addresses kept", len(o.seen))
	}
}
