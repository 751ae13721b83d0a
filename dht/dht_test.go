package dht

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func newService(t *testing.T, h host.Host, opts ...Option) *Service {
	t.Helper()
	s, err := New(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func contains(ids []peer.ID, id peer.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		<-tick.C
	}
}

func TestBootstrapFillsRoutingTables(t *testing.T) {
	a, b, c := newHost(t), newHost(t), newHost(t)
	aInfo := peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}
	sa := newService(t, a)
	sb := newService(t, b, WithBootstrapPeers(aInfo))
	sc := newService(t, c, WithBootstrapPeers(aInfo))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := sb.Bootstrap(ctx); err != nil || n != 1 {
		t.Fatalf("b bootstrap = %d, %v", n, err)
	}
	waitFor(t, func() bool { return contains(sa.RoutingTable(), b.ID()) })
	if n, err := sc.Bootstrap(ctx); err != nil || n != 1 {
		t.Fatalf("c bootstrap = %d, %v", n, err)
	}
	// c was told only of a; its self-lookup through a finds b.
	waitFor(t, func() bool {
		sc.TriggerRefresh()
		return contains(sc.RoutingTable(), b.ID()) && contains(sb.RoutingTable(), c.ID())
	})
	if got, err := sb.FindPeer(ctx, c.ID()); err != nil || got.ID != c.ID() {
		t.Fatalf("FindPeer(c) = %v, %v", got, err)
	}
}

func TestBootstrapUnreachable(t *testing.T) {
	h := newHost(t)
	dead := newHost(t)
	info := peer.AddrInfo{ID: dead.ID(), Addrs: dead.Addrs()}
	dead.Close()
	p := DefaultParams()
	p.DialTimeout = 2 * time.Second
	s := newService(t, h, WithParams(p), WithBootstrapPeers(info))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := s.Bootstrap(ctx); !errors.Is(err, ErrNoBootstrapPeer) || n != 0 {
		t.Fatalf("Bootstrap = %d, %v; want ErrNoBootstrapPeer", n, err)
	}
}

func TestBootstrapWithoutPeers(t *testing.T) {
	s := newService(t, newHost(t))
	if n, err := s.Bootstrap(context.Background()); err != nil || n != 0 {
		t.Fatalf("Bootstrap with no peers = %d, %v", n, err)
	}
}

func TestNewRejectsBadParams(t *testing.T) {
	h := newHost(t)
	for name, p := range map[string]Params{
		"mode":         {ProtocolPrefix: "/f2f", Mode: "sometimes", DialTimeout: time.Second},
		"dial timeout": {ProtocolPrefix: "/f2f", Mode: ModeServer},
	} {
		if s, err := New(h, WithParams(p)); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(h, WithLogger(nil)); err == nil {
		t.Error("nil logger accepted")
	}
}

func TestRendezvous(t *testing.T) {
	a, b, c := newHost(t), newHost(t), newHost(t)
	aInfo := peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}
	newService(t, a)
	sb := newService(t, b, WithBootstrapPeers(aInfo))
	sc := newService(t, c, WithBootstrapPeers(aInfo))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range []*Service{sb, sc} {
		if _, err := s.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(s.RoutingTable()) > 0 })
	}
	if ttl, err := sb.Advertise(ctx, "f2f-rendezvous/test"); err != nil || ttl <= 0 {
		t.Fatalf("Advertise = %v, %v", ttl, err)
	}
	found, err := sc.FindPeers(ctx, "f2f-rendezvous/test", 10)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]peer.ID, 0, len(found))
	for _, ai := range found {
		ids = append(ids, ai.ID)
	}
	if !contains(ids, b.ID()) {
		t.Fatalf("FindPeers = %v, want b %s", ids, b.ID())
	}
	// The advertiser does not find itself, and another namespace is empty.
	if self, err := sb.FindPeers(ctx, "f2f-rendezvous/test", 10); err != nil || len(self) != 0 {
		t.Fatalf("advertiser finds %v, %v", self, err)
	}
	if other, err := sc.FindPeers(ctx, "f2f-rendezvous/other", 10); err != nil || len(other) != 0 {
		t.Fatalf("other namespace: %v, %v", other, err)
	}
}
