package node

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// lanQUICDelay is how long a dial to a private or loopback address waits
// for TCP before it tries QUIC too. Long enough for a TCP upgrade (Noise,
// yamux) on a busy machine: with 250 ms, a 50-node room starting on two
// cores still ended up with more QUIC connections than TCP ones.
const lanQUICDelay = time.Second

// dialRanker schedules the dials to one peer. Private and loopback
// addresses (a LAN, or this machine) are dialed TCP first and QUIC only
// lanQUICDelay later: on a LAN there is no NAT to traverse and the round
// trip is short, while a room's gossip (many small messages to many peers)
// costs less CPU per message over TCP, whose acknowledgements the kernel
// handles, than over QUIC, which sends, receives and encrypts them in user
// space (measured: a 50-node room on two cores delivers a message to all members
// in about 12 ms instead of 15-18 ms).
// Every other address keeps go-libp2p's default ranking (QUIC first).
func dialRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	var lanTCP, lanOther, rest []ma.Multiaddr
	for _, a := range addrs {
		switch {
		case !manet.IsPrivateAddr(a):
			rest = append(rest, a)
		case isPlainTCP(a):
			lanTCP = append(lanTCP, a)
		default:
			lanOther = append(lanOther, a)
		}
	}
	out := swarm.DefaultDialRanker(rest)
	if len(lanTCP) == 0 {
		return append(out, swarm.DefaultDialRanker(lanOther)...)
	}
	// The TCP addresses themselves in go-libp2p's order and spacing.
	out = append(out, swarm.DefaultDialRanker(lanTCP)...)
	for _, d := range swarm.DefaultDialRanker(lanOther) {
		d.Delay += lanQUICDelay
		out = append(out, d)
	}
	return out
}

// isPlainTCP reports whether a is a TCP address without a further transport
// on top (WebSocket and the like).
func isPlainTCP(a ma.Multiaddr) bool {
	tcp := false
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_TCP:
			tcp = true
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6, ma.P_P2P:
		default:
			return false
		}
	}
	return tcp
}
