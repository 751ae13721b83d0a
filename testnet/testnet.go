package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fluttershy/face2face/node"
)

// Shape says whom each new node bootstraps to.
type Shape int

const (
	// Star: every node bootstraps to node 0.
	Star Shape = iota
	// Chain: node i bootstraps to node i-1.
	Chain
	// Random: node i bootstraps to a random earlier node.
	Random
)

// String names the shape.
func (s Shape) String() string {
	switch s {
	case Star:
		return "star"
	case Chain:
		return "chain"
	case Random:
		return "random"
	}
	return fmt.Sprintf("shape(%d)", int(s))
}

// ParseShape parses "star", "chain" or "random".
func ParseShape(s string) (Shape, error) {
	for _, sh := range []Shape{Star, Chain, Random} {
		if sh.String() == s {
			return sh, nil
		}
	}
	return 0, fmt.Errorf("unknown shape %q (want star, chain or random)", s)
}

type config struct {
	shape    Shape
	seed     int64
	logger   *slog.Logger
	nodeOpts []node.Option
	perNode  func(i int) []node.Option
}

// Option configures New.
type Option func(*config) error

// WithShape sets how nodes bootstrap (default Star).
func WithShape(s Shape) Option { return func(c *config) error { c.shape = s; return nil } }

// WithSeed seeds the Random shape.
func WithSeed(seed int64) Option { return func(c *config) error { c.seed = seed; return nil } }

// WithLogger sets the logger handed to every node (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.logger = l; return nil }
}

// WithNodeOptions adds options to every node.
func WithNodeOptions(opts ...node.Option) Option {
	return func(c *config) error { c.nodeOpts = append(c.nodeOpts, opts...); return nil }
}

// WithNodeOptionsFor adds the options f returns for node i to that node
// (e.g. a different simulated uplink for each).
func WithNodeOptionsFor(f func(i int) []node.Option) Option {
	return func(c *config) error { c.perNode = f; return nil }
}

// Net is a set of in-process nodes, each with its own repo under Dir.
type Net struct {
	Dir   string
	Nodes []*node.Node
	Shape Shape
	// BootTo[i] is the index of the node node i bootstrapped to (-1: none).
	BootTo []int
}

// New starts n nodes with the local profile in repos dir/node0..node{n-1},
// each listening on loopback TCP and QUIC with a free API port, bootstrapped
// according to the shape. On error it closes what it started.
func New(dir string, n int, opts ...Option) (_ *Net, err error) {
	if n < 1 {
		return nil, errors.New("testnet: need at least one node")
	}
	c := config{shape: Star, seed: 1, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	rng := rand.New(rand.NewSource(c.seed))
	net := &Net{Dir: dir, Shape: c.shape}
	defer func() {
		if err != nil {
			net.Close()
		}
	}()
	for i := 0; i < n; i++ {
		var boot []string
		target := -1
		if i > 0 {
			target = 0
			switch c.shape {
			case Chain:
				target = i - 1
			case Random:
				target = rng.Intn(i)
			}
			boot = net.Nodes[target].Addrs()
		}
		opts := append([]node.Option{node.WithLogger(c.logger.With("node", i))}, c.nodeOpts...)
		if c.perNode != nil {
			opts = append(opts, c.perNode(i)...)
		}
		nd, err := StartNode(filepath.Join(dir, fmt.Sprintf("node%d", i)), boot, opts...)
		if err != nil {
			return nil, fmt.Errorf("testnet: node %d: %w", i, err)
		}
		net.Nodes = append(net.Nodes, nd)
		net.BootTo = append(net.BootTo, target)
	}
	return net, nil
}

// StartNode initialises a local-profile repo at repo (if none is there),
// builds a node bootstrapped to boot, with a free API port, and starts it.
func StartNode(repo string, boot []string, opts ...node.Option) (*node.Node, error) {
	if err := EnsureRepo(repo); err != nil {
		return nil, err
	}
	all := append([]node.Option{node.WithAPIAddr("127.0.0.1:0"), node.WithBootstrap(boot...)}, opts...)
	nd, err := node.New(repo, all...)
	if err != nil {
		return nil, err
	}
	if err := nd.Start(); err != nil {
		nd.Close()
		return nil, err
	}
	return nd, nil
}

// Close closes every node.
func (n *Net) Close() error {
	// All at once: each node's shutdown waits a moment for its leave
	// announcements to go out, which one after the other adds up.
	errs := make([]error, len(n.Nodes))
	var wg sync.WaitGroup
	for i, nd := range n.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nd.Close(); err != nil {
				errs[i] = fmt.Errorf("node %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	n.Nodes = nil
	return errors.Join(errs...)
}

// WaitFor polls cond every 25 ms until it is true, returns an error, or ctx
// ends. It is how tests wait for a condition instead of sleeping.
func WaitFor(ctx context.Context, cond func() (bool, error)) error {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// FullRoutingTables reports whether every node's DHT routing table holds
// every other node.
func (n *Net) FullRoutingTables() bool {
	for i, nd := range n.Nodes {
		if !n.holdsAll(i, nd.RoutingTable()) {
			return false
		}
	}
	return true
}

// FullyConnected reports whether every node is connected to every other.
func (n *Net) FullyConnected() bool {
	for i, nd := range n.Nodes {
		var ids []string
		for _, p := range nd.Peers() {
			ids = append(ids, p.ID)
		}
		if !n.holdsAll(i, ids) {
			return false
		}
	}
	return true
}

func (n *Net) holdsAll(self int, ids []string) bool {
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	for j, other := range n.Nodes {
		if j != self && !have[other.ID().String()] {
			return false
		}
	}
	return true
}

// WaitFullRoutingTables waits until FullRoutingTables holds, refreshing the
// routing tables now and then so that nodes learn of later ones sooner.
func (n *Net) WaitFullRoutingTables(ctx context.Context) error {
	last := time.Now()
	return WaitFor(ctx, func() (bool, error) {
		if n.FullRoutingTables() {
			return true, nil
		}
		if time.Since(last) > time.Second {
			last = time.Now()
			for _, nd := range n.Nodes {
				nd.DHT().TriggerRefresh()
			}
		}
		return false, nil
	})
}

// EnsureRepo initialises a local-profile repo at repo unless one is there.
func EnsureRepo(repo string) error {
	if _, err := os.Stat(filepath.Join(repo, node.ConfigFile)); errors.Is(err, os.ErrNotExist) {
		_, err = node.InitRepo(repo, node.ProfileLocal)
		return err
	}
	return nil
}
