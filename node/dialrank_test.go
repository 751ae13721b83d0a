package node

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestDialRanker(t *testing.T) {
	m := func(s string) ma.Multiaddr { return ma.StringCast(s) }
	delays := func(addrs ...string) map[string]time.Duration {
		var in []ma.Multiaddr
		for _, a := range addrs {
			in = append(in, m(a))
		}
		out := map[string]time.Duration{}
		for _, d := range dialRanker(in) {
			out[d.Addr.String()] = d.Delay
		}
		if len(out) != len(addrs) {
			t.Fatalf("ranked %d of %d addresses: %v", len(out), len(addrs), out)
		}
		return out
	}

	// Loopback and LAN: TCP at once, QUIC as a later fallback.
	for _, ip := range []string{"/ip4/127.0.0.1", "/ip4/192.168.1.7", "/ip6/::1"} {
		d := delays(ip+"/tcp/4001", ip+"/udp/4001/quic-v1")
		if d[ip+"/tcp/4001"] != 0 || d[ip+"/udp/4001/quic-v1"] < lanQUICDelay {
			t.Errorf("%s: %v, want TCP at 0 and QUIC after %v", ip, d, lanQUICDelay)
		}
	}
	// Public: go-libp2p's default, QUIC first.
	d := delays("/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/udp/4001/quic-v1")
	if d["/ip4/1.2.3.4/udp/4001/quic-v1"] != 0 || d["/ip4/1.2.3.4/tcp/4001"] == 0 {
		t.Errorf("public: %v, want QUIC first", d)
	}
	// Mixed: the public group keeps its schedule, the LAN one is TCP first.
	d = delays("/ip4/1.2.3.4/udp/4001/quic-v1", "/ip4/10.0.0.2/tcp/4001", "/ip4/10.0.0.2/udp/4001/quic-v1")
	if d["/ip4/1.2.3.4/udp/4001/quic-v1"] != 0 || d["/ip4/10.0.0.2/tcp/4001"] != 0 || d["/ip4/10.0.0.2/udp/4001/quic-v1"] < lanQUICDelay {
		t.Errorf("mixed: %v", d)
	}
	// A LAN peer with QUIC only is dialed at once; WebSocket is not plain TCP.
	d = delays("/ip4/10.0.0.2/udp/4001/quic-v1")
	if d["/ip4/10.0.0.2/udp/4001/quic-v1"] != 0 {
		t.Errorf("QUIC only: %v", d)
	}
	if isPlainTCP(m("/ip4/10.0.0.2/tcp/4001/ws")) || !isPlainTCP(m("/dns4/localhost/tcp/4001")) {
		t.Error("isPlainTCP")
	}
	if got := dialRanker(nil); len(got) != 0 {
		t.Errorf("no addresses: %v", got)
	}
}

// TestLoopbackPeersConnectOverTCP: two nodes that know each other's TCP and
// QUIC loopback addresses end up on TCP.
func TestLoopbackPeersConnectOverTCP(t *testing.T) {
	a, b := startNode(t), startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	info := peer.AddrInfo{ID: b.ID(), Addrs: b.Host().Addrs()}
	if len(info.Addrs) < 2 {
		t.Fatalf("b listens on %v, want TCP and QUIC", info.Addrs)
	}
	if err := a.Host().Connect(ctx, info); err != nil {
		t.Fatal(err)
	}
	conns := a.Host().Network().ConnsToPeer(b.ID())
	if len(conns) == 0 {
		t.Fatal("no connection")
	}
	for _, c := range conns {
		if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_TCP); err != nil {
			t.Errorf("connection over %s, want TCP", c.RemoteMultiaddr())
		}
	}
}
