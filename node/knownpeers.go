package node

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The peers a node knew survive a restart: their addresses and when they
// were last connected are kept in the datastore (knownPeersKey), members
// of the node's rooms first, and on start the node dials them next to its
// bootstrap peers. A local-profile node (random ports) also asks for the
// ports it listened on last time (listenPortsKey), so that peers that
// remember it find it again after its restart.
var (
	knownPeersKey  = datastore.NewKey("/f2f/known-peers")
	listenPortsKey = datastore.NewKey("/f2f/listen-ports")
)

const (
	maxKnownPeers     = 64 // kept in the datastore
	maxKnownAddrs     = 8  // addresses kept per peer
	maxRedial         = 32 // dialled on start, most relevant first
	knownPeerMaxAge   = 30 * 24 * time.Hour
	knownPeersSaveGap = 30 * time.Second // saved this often while running, and on close
	redialTimeout     = 10 * time.Second
)

// knownPeer is one remembered peer.
type knownPeer struct {
	ID     string    `json:"id"`
	Addrs  []string  `json:"addrs"`
	Seen   time.Time `json:"seen"`
	Member bool      `json:"member"` // a member of one of this node's rooms when last seen
}

// knownPeers tracks the peers connected during this run, merged with the
// stored ones.
type knownPeers struct {
	mu    sync.Mutex
	peers map[peer.ID]knownPeer
}

func loadKnownPeers(ctx context.Context, ds datastore.Datastore) (*knownPeers, error) {
	k := &knownPeers{peers: map[peer.ID]knownPeer{}}
	b, err := ds.Get(ctx, knownPeersKey)
	if errors.Is(err, datastore.ErrNotFound) {
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	var list []knownPeer
	if err := json.Unmarshal(b, &list); err != nil {
		return k, nil // unreadable: start afresh rather than refuse to start
	}
	for _, kp := range list {
		id, err := peer.Decode(kp.ID)
		if err != nil || time.Since(kp.Seen) > knownPeerMaxAge {
			continue
		}
		k.peers[id] = kp
	}
	return k, nil
}

// list returns the peers ordered by relevance: room members first, then
// the most recently seen.
func (k *knownPeers) list() []knownPeer {
	k.mu.Lock()
	out := make([]knownPeer, 0, len(k.peers))
	for _, kp := range k.peers {
		out = append(out, kp)
	}
	k.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Member != out[j].Member {
			return out[i].Member
		}
		return out[i].Seen.After(out[j].Seen)
	})
	return out
}

// note records the connected peers' current addresses (from the peerstore:
// what identify learnt, else the connection's address).
func (n *Node) noteKnownPeers() {
	now := time.Now()
	hashes := n.rooms.JoinedHashes()
	n.known.mu.Lock()
	defer n.known.mu.Unlock()
	for _, p := range n.host.Network().Peers() {
		if n.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		addrs := n.host.Peerstore().Addrs(p)
		if len(addrs) == 0 {
			for _, c := range n.host.Network().ConnsToPeer(p) {
				addrs = append(addrs, c.RemoteMultiaddr())
			}
		}
		kp := knownPeer{ID: p.String(), Seen: now}
		for _, a := range addrs {
			if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
				continue // relayed: only good while the relay is
			}
			if len(kp.Addrs) < maxKnownAddrs {
				kp.Addrs = append(kp.Addrs, a.String())
			}
		}
		if len(kp.Addrs) == 0 {
			continue
		}
		for _, h := range hashes {
			if n.rooms.IsMember(h, p) {
				kp.Member = true
				break
			}
		}
		if old, ok := n.known.peers[p]; ok && old.Member && !kp.Member {
			kp.Member = true // still a member of our rooms as far as we know
		}
		n.known.peers[p] = kp
	}
}

// saveKnownPeers writes the most relevant known peers to the datastore.
func (n *Node) saveKnownPeers(ctx context.Context) error {
	list := n.known.list()
	if len(list) > maxKnownPeers {
		list = list[:maxKnownPeers]
	}
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return n.ds.Put(ctx, knownPeersKey, b)
}

// redialKnown dials the remembered peers (up to maxRedial, in parallel,
// each bounded in time) and returns how many it tried and reached.
func (n *Node) redialKnown(ctx context.Context) (tried, reached int) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, kp := range n.known.list() {
		if tried == maxRedial {
			break
		}
		id, err := peer.Decode(kp.ID)
		if err != nil || id == n.host.ID() {
			continue
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range kp.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) == 0 {
			continue
		}
		tried++
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, redialTimeout)
			defer cancel()
			if err := n.host.Connect(dctx, ai); err != nil {
				n.log.Debug("known peer unreachable", "peer", ai.ID, "err", err)
				return
			}
			mu.Lock()
			reached++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return tried, reached
}

// keepKnownPeers notes the connected peers every knownPeersSaveGap and
// once more as the node closes (before the host does), saving each time.
func (n *Node) keepKnownPeers() {
	defer n.wg.Done()
	t := time.NewTicker(knownPeersSaveGap)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			n.noteKnownPeers()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := n.saveKnownPeers(ctx); err != nil {
				n.log.Warn("saving known peers", "err", err)
			}
			cancel()
			return
		case <-t.C:
			n.noteKnownPeers()
			if err := n.saveKnownPeers(n.ctx); err != nil && n.ctx.Err() == nil {
				n.log.Warn("saving known peers", "err", err)
			}
		}
	}
}

// lastPorts returns the ports this repo's node listened on last time, by
// configured listen address.
func lastPorts(ctx context.Context, ds datastore.Datastore) map[string]string {
	m := map[string]string{}
	if b, err := ds.Get(ctx, listenPortsKey); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// withPort returns a with its first TCP or UDP port replaced by port, and
// whether that port was 0 (chosen by the system).
func withPort(a ma.Multiaddr, port string) (ma.Multiaddr, bool) {
	out := make(ma.Multiaddr, 0, len(a))
	replaced := false
	for _, c := range a {
		if code := c.Protocol().Code; !replaced && (code == ma.P_TCP || code == ma.P_UDP) {
			replaced = true
			if c.Value() != "0" {
				return a, false
			}
			nc, err := ma.NewComponent(c.Protocol().Name, port)
			if err != nil {
				return a, false
			}
			c = *nc
		}
		out = append(out, c)
	}
	return out, replaced
}
