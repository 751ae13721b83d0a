package node

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/pion/webrtc/v4"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/overlay"
)

// hopProtocol is circuit relay v2's hop protocol: peers speaking it run
// the relay service.
const hopProtocol = "/libp2p/circuit/relay/0.2.0/hop"

// relayResources bound the relay service a public node runs for its
// rooms' members. Relayed connections carry no data or time limit (the
// relay would otherwise mark them limited, and chat, files and media
// signaling refuse limited connections): what bounds the work is who may
// use it (relayACL: members of this node's rooms only) and how many.
func relayResources() relayv2.Resources {
	r := relayv2.DefaultResources()
	r.Limit = nil
	r.MaxReservations = 64
	r.MaxCircuits = 16
	r.MaxReservationsPerIP = 4
	r.ReservationTTL = time.Hour
	return r
}

// natOptions are the libp2p options of NAT traversal: AutoNAT (client and
// a rate-limited service), the relay service for room members when public,
// AutoRelay with the rooms' public members as candidates when private,
// hole punching (DCUtR) and port mapping.
func (n *Node) natOptions() []libp2p.Option {
	nat := n.cfg.NAT
	var opts []libp2p.Option
	if nat.PortMapping {
		opts = append(opts, libp2p.NATPortMap())
	}
	if nat.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching())
	}
	if nat.RelayClient {
		opts = append(opts, libp2p.EnableRelay(),
			libp2p.EnableAutoRelayWithPeerSource(n.relayCandidates,
				autorelay.WithMinCandidates(1), autorelay.WithBootDelay(0), autorelay.WithNumRelays(2),
				autorelay.WithBackoff(20*time.Second), autorelay.WithMinInterval(5*time.Second)))
	} else {
		opts = append(opts, libp2p.DisableRelay())
	}
	if nat.RelayService {
		opts = append(opts, libp2p.EnableRelayService(relayv2.WithResources(relayResources()), relayv2.WithACL(relayACL{n})))
	}
	if nat.AutoNATService {
		opts = append(opts, libp2p.EnableNATService(), libp2p.AutoNATServiceRateLimit(60, 3, time.Minute))
	}
	switch nat.Reachability {
	case "public":
		opts = append(opts, libp2p.ForceReachabilityPublic())
	case "private":
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	// Loopback addresses reach the dialer itself when another machine
	// dials them: advertise them only when there is nothing else.
	opts = append(opts, libp2p.AddrsFactory(func(addrs []ma.Multiaddr) []ma.Multiaddr {
		out := slices.DeleteFunc(slices.Clone(addrs), manet.IsIPLoopback)
		if len(out) == 0 {
			return addrs
		}
		return append(out, n.observed.confirmed(out, overlay.Reachability(n.reach.Load()))...)
	}))
	return opts
}

// observedAddrs are this node's addresses as its peers see them
// (identify's observed address), with who saw each. go-libp2p advertises
// an observed address once 4 peers agree; a node behind a forwarding NAT
// (a port forward, a full-cone router) in a network of a few public peers
// never gets there, and stays unreachable although AutoNAT found it
// public (AutoNAT dials back exactly the observed address). confirmed
// fills that gap.
type observedAddrs struct {
	mu   sync.Mutex
	seen map[string]map[string]time.Time // address -> observer IP -> last seen
}

// Bounds of the observed addresses kept.
const (
	maxObservedAddrs  = 32
	maxObserversKept  = 16
	observedAddrTTL   = 30 * time.Minute
	observersToAccept = 2
)

// add records that a peer at observer saw this node at addr.
func (o *observedAddrs) add(addr ma.Multiaddr, observer net.IP) {
	if addr == nil || observer == nil || !manet.IsPublicAddr(addr) {
		return
	}
	if _, err := addr.ValueForProtocol(ma.P_CIRCUIT); err == nil {
		return
	}
	key := addr.String()
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]map[string]time.Time{}
	}
	for k, obs := range o.seen {
		for ip, at := range obs {
			if now.Sub(at) > observedAddrTTL {
				delete(obs, ip)
			}
		}
		if len(obs) == 0 {
			delete(o.seen, k)
		}
	}
	obs := o.seen[key]
	if obs == nil {
		if len(o.seen) >= maxObservedAddrs {
			return
		}
		obs = map[string]time.Time{}
		o.seen[key] = obs
	}
	if _, ok := obs[observer.String()]; ok || len(obs) < maxObserversKept {
		obs[observer.String()] = now
	}
}

// confirmed returns the observed addresses to advertise besides addrs:
// none unless AutoNAT found the node public and it has no public address
// of its own; then those whose IP peers at observersToAccept different IPs
// saw within observedAddrTTL (over any transport: one peer may see the
// TCP address and another the QUIC one).
func (o *observedAddrs) confirmed(addrs []ma.Multiaddr, reach overlay.Reachability) []ma.Multiaddr {
	if reach != overlay.ReachPublic || slices.ContainsFunc(addrs, func(a ma.Multiaddr) bool {
		_, err := a.ValueForProtocol(ma.P_CIRCUIT)
		return err != nil && manet.IsPublicAddr(a)
	}) {
		return nil
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	parsed := map[string]ma.Multiaddr{}
	byIP := map[string]map[string]bool{} // observed IP -> observers
	for k, obs := range o.seen {
		a, err := ma.NewMultiaddr(k)
		if err != nil {
			continue
		}
		ip, err := manet.ToIP(a)
		if err != nil {
			continue
		}
		parsed[k] = a
		for who, at := range obs {
			if now.Sub(at) <= observedAddrTTL {
				if byIP[ip.String()] == nil {
					byIP[ip.String()] = map[string]bool{}
				}
				byIP[ip.String()][who] = true
			}
		}
	}
	var out []ma.Multiaddr
	for _, a := range parsed {
		if ip, _ := manet.ToIP(a); len(byIP[ip.String()]) >= observersToAccept {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b ma.Multiaddr) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// watchObserved records identify's observed addresses (see observedAddrs).
func (n *Node) watchObserved() error {
	return n.onEvents("identify", []any{new(event.EvtPeerIdentificationCompleted)}, func(e any) {
		ev := e.(event.EvtPeerIdentificationCompleted)
		if ev.Conn == nil || ev.ObservedAddr == nil || isRelayed(ev.Conn) {
			return
		}
		if ip, err := manet.ToIP(ev.Conn.RemoteMultiaddr()); err == nil {
			n.observed.add(ev.ObservedAddr, ip)
		}
	})
}

// relayACL admits reservations of this node's rooms' members only, and
// circuits to them. The source of a circuit need not be known as a member
// yet: a member who has just joined dials the others before this node has
// seen it in the room (its room protocols still check it at the other
// end); MaxCircuits bounds what one source may open.
type relayACL struct{ n *Node }

func (a relayACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool {
	return a.n.sharedRoom(p, "")
}

func (a relayACL) AllowConnect(_ peer.ID, _ ma.Multiaddr, dest peer.ID) bool {
	return a.n.sharedRoom(dest, "")
}

// sharedRoom reports whether p (and q, when set) are members of one room
// this node is in.
func (n *Node) sharedRoom(p, q peer.ID) bool {
	rooms := n.roomsRef.Load()
	if rooms == nil {
		return false
	}
	for _, h := range rooms.JoinedHashes() {
		if rooms.IsMember(h, p) && (q == "" || rooms.IsMember(h, q)) {
			return true
		}
	}
	return false
}

// relayCandidates is AutoRelay's peer source: the connected members of
// this node's rooms that run the relay service first, then other connected
// relays (public bootstrap peers, say).
func (n *Node) relayCandidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	ch := make(chan peer.AddrInfo, num)
	defer close(ch)
	if n.host == nil {
		return ch
	}
	var members, others []peer.ID
	for _, p := range n.host.Network().Peers() {
		if ps, err := n.host.Peerstore().SupportsProtocols(p, hopProtocol); err != nil || len(ps) == 0 {
			continue
		}
		if n.sharedRoom(p, "") {
			members = append(members, p)
		} else {
			others = append(others, p)
		}
	}
	for _, p := range append(members, others...) {
		if len(ch) == num {
			break
		}
		ch <- n.host.Peerstore().PeerInfo(p)
	}
	return ch
}

// watchHolePunch gives hole punching a second chance. DCUtR runs once,
// started by the side that received a relayed connection; a member who
// dials the others through their relays right after it started has no
// observed public address yet, so the first attempt fails ("failed to
// open hole-punch stream") and the two would stay relayed. When such a
// peer, reached only through a relay, starts speaking DCUtR (identify
// push), this node closes the relayed connection and dials it again
// through its relay: the peer receives that connection and punches. At
// most once per peer every 10 minutes.
func (n *Node) watchHolePunch() error {
	retried := map[peer.ID]time.Time{} // only the event goroutine touches it
	return n.onEvents("protocol updates", []any{new(event.EvtPeerProtocolsUpdated)}, func(e any) {
		ev := e.(event.EvtPeerProtocolsUpdated)
		p := ev.Peer
		if !slices.Contains(ev.Added, holepunch.Protocol) || !n.relayedOnly(p) || time.Since(retried[p]) < 10*time.Minute {
			return
		}
		if len(retried) > 1000 {
			for q, at := range retried {
				if time.Since(at) >= 10*time.Minute {
					delete(retried, q)
				}
			}
		}
		retried[p] = time.Now()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			// Give an attempt already under way a moment.
			t := time.NewTimer(2 * time.Second)
			defer t.Stop()
			select {
			case <-n.ctx.Done():
				return
			case <-t.C:
			}
			if !n.relayedOnly(p) {
				return
			}
			n.log.Debug("hole punch again: redialing a peer reached only through a relay", "peer", p)
			_ = n.host.Network().ClosePeer(p)
			ctx, cancel := context.WithTimeout(n.ctx, 20*time.Second)
			defer cancel()
			if err := n.host.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
				n.log.Debug("redial for hole punching", "peer", p, "err", err)
			}
		}()
	})
}

// relayedOnly reports whether the node's connections to p all go through
// relays (and there is one).
func (n *Node) relayedOnly(p peer.ID) bool {
	conns := n.host.Network().ConnsToPeer(p)
	return len(conns) > 0 && !slices.ContainsFunc(conns, func(c network.Conn) bool { return !isRelayed(c) })
}

// isRelayed reports whether a connection goes through a relay.
func isRelayed(c network.Conn) bool {
	_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// reachability describes how this node is reachable, for `f2f id`, `f2f
// peers` and the page.
func (n *Node) reachability() api.NATStatus {
	r := api.NATStatus{Reachability: overlay.Reachability(n.reach.Load()).String()}
	for _, a := range n.host.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			r.RelayAddresses = append(r.RelayAddresses, a.String())
		} else if manet.IsPublicAddr(a) {
			r.PublicAddresses = append(r.PublicAddresses, a.String())
		}
	}
	for _, p := range n.host.Network().Peers() {
		if n.relayedOnly(p) {
			r.Relayed++
		} else if len(n.host.Network().ConnsToPeer(p)) > 0 {
			r.Direct++
		}
	}
	if t := n.turnServer(); t != nil {
		r.TURN = n.turnAddrs()
		st := t.Stats()
		r.TURNAllocations, r.TURNBytes = st.Allocations, st.RelayedBytes
	}
	if n.bwc != nil {
		r.RelayServiceBytes = uint64(n.bwc.GetBandwidthForProtocol(hopProtocol).TotalIn + n.bwc.GetBandwidthForProtocol(hopProtocol).TotalOut)
	}
	r.Summary = reachSummary(r)
	return r
}

// reachSummary is the one line users see.
func reachSummary(r api.NATStatus) string {
	switch r.Reachability {
	case "public":
		s := "public: reachable directly"
		if len(r.TURN) > 0 {
			s += "; relay and TURN (" + strings.Join(r.TURN, ", ") + ") for room members"
		}
		return s
	case "private":
		if len(r.RelayAddresses) == 0 {
			return "behind NAT: no relay reservation yet (direct only to peers that can be reached)"
		}
		return fmt.Sprintf("behind NAT: reachable through %d relay address(es); direct after hole punching (%d direct, %d relayed connections)",
			len(r.RelayAddresses), r.Direct, r.Relayed)
	}
	return "unknown: AutoNAT has not decided yet"
}

// turnServer returns the running TURN server, if any.
func (n *Node) turnServer() *media.TURN {
	n.turnMu.Lock()
	defer n.turnMu.Unlock()
	return n.turn
}

// turnAddrs are the addresses ("ip:port") the TURN server is announced
// at: the node's public IPv4 addresses with the server's port.
func (n *Node) turnAddrs() []string {
	t := n.turnServer()
	if t == nil {
		return nil
	}
	port := t.Addr().(*net.UDPAddr).Port
	var out []string
	for _, ip := range n.publicIPs() {
		out = append(out, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	}
	return out
}

// publicIPs are the public IPv4 addresses among the node's addresses.
func (n *Node) publicIPs() []net.IP {
	var out []net.IP
	for _, a := range n.host.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil || !manet.IsPublicAddr(a) {
			continue
		}
		ip, err := manet.ToIP(a)
		if err != nil || ip.To4() == nil || slices.ContainsFunc(out, ip.Equal) {
			continue
		}
		out = append(out, ip)
	}
	return out
}

// syncTURN starts the TURN server when the node is publicly reachable
// (and one is configured) and stops it when it no longer is.
func (n *Node) syncTURN() {
	want := n.cfg.Media.TURNListen != "" && overlay.Reachability(n.reach.Load()) == overlay.ReachPublic
	n.turnMu.Lock()
	defer n.turnMu.Unlock()
	if !want {
		if n.turn != nil {
			_ = n.turn.Close()
			n.turn = nil
			n.log.Info("TURN server stopped: not publicly reachable")
		}
		return
	}
	if n.turn != nil || n.ctx.Err() != nil {
		return
	}
	ips := n.publicIPs()
	if len(ips) == 0 {
		n.log.Info("TURN server not started: no public IPv4 address among this node's addresses")
		return
	}
	conn, err := net.ListenPacket("udp4", n.cfg.Media.TURNListen)
	if err != nil {
		n.log.Warn("TURN server not started", "listen", n.cfg.Media.TURNListen, "err", err)
		return
	}
	t, err := media.NewTURN(conn, ips[0], func(room string) ([]byte, bool) { return n.rooms.TURNSecret(room) },
		media.DefaultTURNParams(), n.log.With("subsystem", "turn"))
	if err != nil {
		_ = conn.Close()
		n.log.Warn("TURN server not started", "err", err)
		return
	}
	n.turn = t
	n.log.Info("TURN server started", "addr", conn.LocalAddr(), "relay_ip", ips[0])
}

// closeTURN stops the TURN server at shutdown.
func (n *Node) closeTURN() error {
	n.turnMu.Lock()
	defer n.turnMu.Unlock()
	if n.turn == nil {
		return nil
	}
	err := n.turn.Close()
	n.turn = nil
	return err
}

// peerAddrs are the addresses known of p: the peerstore's and those of
// the connections to it.
func (n *Node) peerAddrs(p peer.ID) []ma.Multiaddr {
	addrs := n.host.Peerstore().Addrs(p)
	for _, c := range n.host.Network().ConnsToPeer(p) {
		addrs = append(addrs, c.RemoteMultiaddr())
	}
	return addrs
}

// turnAddrAllowed reports whether a TURN address a member announced may be
// used: a public IP that is one of the member's own addresses, so that a
// hostile member cannot point the room's ICE checks at a third party or
// into the members' LANs.
func turnAddrAllowed(addr string, known []ma.Multiaddr) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	ip := net.IP(ap.Addr().AsSlice())
	if a, err := manet.FromIP(ip); err != nil || !manet.IsPublicAddr(a) {
		return false
	}
	for _, k := range known {
		if _, err := k.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			continue
		}
		if kip, err := manet.ToIP(k); err == nil && kip.Equal(ip) {
			return true
		}
	}
	return false
}

// roomICE returns a room's ICE servers: the STUN and TURN servers its
// public members announced, with credentials from the room's secret
// (valid TURNCredentialTTL), at most 3 servers.
func (n *Node) roomICE(hash string) []webrtc.ICEServer {
	secret, ok := n.rooms.TURNSecret(hash)
	if !ok {
		return nil
	}
	var out []webrtc.ICEServer
	user, pass := media.TURNCredentials(secret, hash, time.Now().Add(media.TURNCredentialTTL))
	for _, s := range n.rooms.TURNServers(hash) {
		if len(out) == 3 {
			break
		}
		if !turnAddrAllowed(s.Addr, n.peerAddrs(s.Peer)) {
			continue
		}
		out = append(out, webrtc.ICEServer{URLs: []string{"stun:" + s.Addr, "turn:" + s.Addr + "?transport=udp"},
			Username: user, Credential: pass, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return out
}
