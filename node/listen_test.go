package node

import (
	"fmt"
	"net"
	"testing"
)

// TestListenSamePortEveryFamily: one node may listen on one fixed port for
// TCP and QUIC over IPv4 and IPv6 at once (the default profile's shape);
// only another socket on the same port and family makes it fail.
func TestListenSamePortEveryFamily(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addrs := []string{
		fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), fmt.Sprintf("/ip6/::1/tcp/%d", port),
		fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port), fmt.Sprintf("/ip6/::1/udp/%d/quic-v1", port),
	}
	n := startNode(t, WithListenAddrs(addrs...))
	got := 0
	for _, a := range n.Host().Network().ListenAddresses() {
		if a.String() != "/p2p-circuit" {
			got++
		}
	}
	if got != len(addrs) {
		t.Fatalf("listening on %d addresses, want %d: %v", got, len(addrs), n.Host().Network().ListenAddresses())
	}
}
