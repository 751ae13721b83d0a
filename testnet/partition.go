package testnet

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/fluttershy/face2face/node"
)

// Partition splits in-process nodes into groups that cannot reach each
// other (a connection gater on every host) and heals them again. Give
// every node Option(); then Split and Heal.
//
// Concurrency: a mutex guards the groups; the gater is called by libp2p
// from any goroutine.
type Partition struct {
	mu     sync.Mutex
	groups map[peer.ID]int // nil: no partition
}

// NewPartition returns a healed partition.
func NewPartition() *Partition { return &Partition{} }

// Option is the node option that installs the partition's gater.
func (p *Partition) Option() node.Option {
	return node.WithHostConstructor(func(opts ...libp2p.Option) (host.Host, error) {
		return libp2p.New(append(opts, libp2p.ConnectionGater(p))...)
	})
}

// Split puts nodes[i] in group groups[i]: connections across groups are
// closed and refused until Heal.
func (p *Partition) Split(nodes []*node.Node, groups []int) {
	g := map[peer.ID]int{}
	for i, nd := range nodes {
		g[nd.ID()] = groups[i]
	}
	p.mu.Lock()
	p.groups = g
	p.mu.Unlock()
	for _, nd := range nodes {
		for _, c := range nd.Host().Network().Conns() {
			if !p.allowed(nd.ID(), c.RemotePeer()) {
				_ = c.Close()
			}
		}
	}
}

// Heal lets every node reach every other again and reconnects them.
func (p *Partition) Heal(ctx context.Context, nodes []*node.Node) {
	p.mu.Lock()
	p.groups = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Dials refused during the split left backoffs behind.
				if sw, ok := a.Host().Network().(*swarm.Swarm); ok {
					sw.Backoff().Clear(b.ID())
				}
				_ = a.Host().Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Host().Addrs()})
			}()
		}
	}
	wg.Wait()
}

func (p *Partition) allowed(a, b peer.ID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups == nil {
		return true
	}
	ga, oka := p.groups[a]
	gb, okb := p.groups[b]
	return !oka || !okb || ga == gb
}

// One gater serves every node, so it knows the local end only once a
// connection is secured: it checks both ends there.

// InterceptPeerDial allows every dial (InterceptSecured decides).
func (p *Partition) InterceptPeerDial(peer.ID) bool { return true }

// InterceptAddrDial allows every address.
func (p *Partition) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

// InterceptAccept allows every inbound connection until it is secured.
func (p *Partition) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a connection across the partition.
func (p *Partition) InterceptSecured(_ network.Direction, remote peer.ID, c network.ConnMultiaddrs) bool {
	if cs, ok := c.(interface{ LocalPeer() peer.ID }); ok {
		return p.allowed(cs.LocalPeer(), remote)
	}
	return true
}

// InterceptUpgraded refuses an upgraded connection across the partition.
func (p *Partition) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return p.allowed(c.LocalPeer(), c.RemotePeer()), 0
}
