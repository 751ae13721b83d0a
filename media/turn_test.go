package media

import (
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v4"
)

// turnUnderTest serves TURN on loopback for the room "room1" (secret
// "s3cret"); p bounds it.
func turnUnderTest(t *testing.T, p TURNParams) *TURN {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewTURN(conn, net.ParseIP("127.0.0.1"), func(room string) ([]byte, bool) {
		if room == "room1" {
			return []byte("s3cret"), true
		}
		return nil, false
	}, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// turnClient allocates a relay on srv with the given credentials.
func turnClient(t *testing.T, srv *TURN, user, pass string) (*turn.Client, net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: srv.Addr().String(), TURNServerAddr: srv.Addr().String(),
		Username: user, Password: pass, Realm: TURNRealm, Conn: conn, LoggerFactory: quietLogger{}, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { _ = relay.Close() })
	}
	return c, relay, err
}

// TestTURNOnlyMembers: a member's credentials (made from the room's
// secret) get a relay that carries data and a STUN answer; a stranger's
// guess, an expired credential, one valid too far ahead and one for a room
// the server is not in are refused and counted.
func TestTURNOnlyMembers(t *testing.T) {
	srv := turnUnderTest(t, DefaultTURNParams())
	user, pass := TURNCredentials([]byte("s3cret"), "room1", time.Now().Add(time.Hour))
	c, relay, err := turnClient(t, srv, user, pass)
	if err != nil {
		t.Fatalf("a member's allocation: %v", err)
	}
	if mapped, err := c.SendBindingRequest(); err != nil || mapped == nil {
		t.Fatalf("STUN binding: %v %v", mapped, err)
	}
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := relay.WriteTo([]byte("through the relay"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, from, err := peer.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "through the relay" {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
	if from.String() != relay.LocalAddr().String() {
		t.Errorf("data came from %v, not the relay address %v", from, relay.LocalAddr())
	}
	// The relay counts a packet after its write returns, which may be
	// after the peer has read it: wait for the count.
	waitFor(t, 5*time.Second, "the relayed bytes counted", func() bool { return srv.Stats().RelayedBytes > 0 })
	if st := srv.Stats(); st.Allocations != 1 {
		t.Errorf("stats %+v", st)
	}

	for name, cred := range map[string][2]string{
		"stranger's guess": {user, "bm90IHRoZSBwYXNzd29yZA=="},
		"expired":          pair(TURNCredentials([]byte("s3cret"), "room1", time.Now().Add(-time.Minute))),
		"too far ahead":    pair(TURNCredentials([]byte("s3cret"), "room1", time.Now().Add(7*time.Hour))),
		"other room":       pair(TURNCredentials([]byte("s3cret"), "room2", time.Now().Add(time.Hour))),
		"no expiry":        {"room1", "x"},
	} {
		before := srv.Stats().Refused
		if _, _, err := turnClient(t, srv, cred[0], cred[1]); err == nil {
			t.Errorf("%s: allocated", name)
		}
		// A wrong password under a valid username fails pion's message
		// integrity check, which the counter does not see.
		if name != "stranger's guess" && srv.Stats().Refused == before {
			t.Errorf("%s: not counted as refused", name)
		}
	}
}

func pair(a, b string) [2]string { return [2]string{a, b} }

// TestTURNLimits: allocations beyond the limit are refused; a relay sending
// faster than its rate loses the excess, as a congested link would.
func TestTURNLimits(t *testing.T) {
	p := DefaultTURNParams()
	p.MaxAllocations, p.RelayBps = 2, 20_000
	srv := turnUnderTest(t, p)
	user, pass := TURNCredentials([]byte("s3cret"), "room1", time.Now().Add(time.Hour))
	_, relay, err := turnClient(t, srv, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := turnClient(t, srv, user, pass); err != nil {
		t.Fatal(err)
	}
	if _, _, err := turnClient(t, srv, user, pass); err == nil {
		t.Fatal("a third allocation beyond the limit of 2 was granted")
	}
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// 200 KB at once: the burst (64 KiB) passes, most of the rest not.
	pkt := make([]byte, 1000)
	for range 200 {
		if _, err := relay.WriteTo(pkt, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := peer.ReadFrom(pkt); err != nil {
			break
		}
		got++
		_ = peer.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	}
	if got == 0 || got > 120 {
		t.Errorf("the peer got %d of 200 packets sent at once through a 20 kB/s relay", got)
	}
	if srv.Stats().Dropped == 0 {
		t.Error("no packet counted as dropped")
	}
}
