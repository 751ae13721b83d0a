package dht

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/routing"
)

// Mode selects whether the node answers DHT queries.
type Mode string

// Modes, as kad-dht's ModeOpt.
const (
	ModeAuto   Mode = "auto"
	ModeServer Mode = "server"
	ModeClient Mode = "client"
)

// Params are the tunables of the DHT service.
type Params struct {
	// ProtocolPrefix is "/f2f" (private) or "/ipfs" (public Amino DHT).
	ProtocolPrefix string
	// Mode is auto, server or client.
	Mode Mode
	// DialTimeout bounds each bootstrap dial.
	DialTimeout time.Duration
}

// DefaultParams returns the parameters of a private face2face DHT server.
func DefaultParams() Params {
	return Params{ProtocolPrefix: "/f2f", Mode: ModeServer, DialTimeout: 10 * time.Second}
}

type config struct {
	params    Params
	bootstrap []peer.AddrInfo
	logger    *slog.Logger
}

// Option configures New.
type Option func(*config) error

// WithParams replaces the default parameters.
func WithParams(p Params) Option {
	return func(c *config) error { c.params = p; return nil }
}

// WithBootstrapPeers sets the peers Bootstrap connects to.
func WithBootstrapPeers(peers ...peer.AddrInfo) Option {
	return func(c *config) error {
		c.bootstrap = append([]peer.AddrInfo(nil), peers...)
		return nil
	}
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("dht: nil logger")
		}
		c.logger = l
		return nil
	}
}

// Service is a running kad-dht instance.
type Service struct {
	h         host.Host
	kad       *kaddht.IpfsDHT
	bootstrap []peer.AddrInfo
	params    Params
	log       *slog.Logger

	mu         sync.Mutex
	refreshing <-chan error // the refresh TriggerRefresh started last
}

// ErrNoBootstrapPeer is returned by Bootstrap when peers were configured but
// none could be reached.
var ErrNoBootstrapPeer = errors.New("dht: no bootstrap peer reachable")

// New starts a DHT on h.
func New(h host.Host, opts ...Option) (*Service, error) {
	cfg := config{params: DefaultParams(), logger: slog.Default()}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	p := cfg.params
	if p.DialTimeout <= 0 {
		return nil, fmt.Errorf("dht: dial timeout must be > 0")
	}
	var mode kaddht.ModeOpt
	switch p.Mode {
	case ModeAuto:
		mode = kaddht.ModeAuto
	case ModeServer:
		mode = kaddht.ModeServer
	case ModeClient:
		mode = kaddht.ModeClient
	default:
		return nil, fmt.Errorf("dht: unknown mode %q", p.Mode)
	}
	kopts := []kaddht.Option{
		kaddht.Mode(mode),
		kaddht.ProtocolPrefix(protocol.ID(p.ProtocolPrefix)),
		kaddht.BootstrapPeers(cfg.bootstrap...),
	}
	if p.ProtocolPrefix == "/ipfs" {
		// On the public network keep private addresses out of the tables.
		kopts = append(kopts,
			kaddht.QueryFilter(kaddht.PublicQueryFilter),
			kaddht.RoutingTableFilter(kaddht.PublicRoutingTableFilter))
	}
	kad, err := kaddht.New(h, kopts...)
	if err != nil {
		return nil, fmt.Errorf("dht: %w", err)
	}
	return &Service{h: h, kad: kad, bootstrap: cfg.bootstrap, params: p, log: cfg.logger}, nil
}

// Bootstrap connects to the bootstrap peers in parallel (each dial bounded by
// Params.DialTimeout) and starts a routing table refresh, which looks up the
// node's own key and so connects it to its neighbours in the key space. It
// returns how many bootstrap peers it reached; with peers configured and none
// reached it returns ErrNoBootstrapPeer (the DHT keeps retrying by itself).
func (s *Service) Bootstrap(ctx context.Context) (int, error) {
	var (
		mu sync.Mutex
		ok int
		wg sync.WaitGroup
	)
	for _, ai := range s.bootstrap {
		if ai.ID == s.h.ID() {
			continue
		}
		wg.Add(1)
		go func(ai peer.AddrInfo) {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, s.params.DialTimeout)
			defer cancel()
			if err := s.h.Connect(dctx, ai); err != nil {
				s.log.Warn("bootstrap peer unreachable", "peer", ai.ID, "err", err)
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
		}(ai)
	}
	wg.Wait()
	if err := s.kad.Bootstrap(ctx); err != nil {
		return ok, fmt.Errorf("dht: %w", err)
	}
	if len(s.bootstrap) > 0 && ok == 0 {
		return 0, ErrNoBootstrapPeer
	}
	return ok, nil
}

// RefreshRoutingTable runs a routing table refresh and waits for it.
func (s *Service) RefreshRoutingTable(ctx context.Context) error {
	select {
	case err := <-s.kad.RefreshRoutingTable():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TriggerRefresh asks for a routing table refresh without waiting. While one
// asked for this way is still running, further calls do nothing.
func (s *Service) TriggerRefresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshing != nil {
		select {
		case <-s.refreshing:
		default:
			return
		}
	}
	s.refreshing = s.kad.RefreshRoutingTable()
}

// RoutingTable returns the peers in the routing table.
func (s *Service) RoutingTable() []peer.ID {
	return s.kad.RoutingTable().ListPeers()
}

// Routing exposes the DHT as a libp2p content and peer router.
func (s *Service) Routing() routing.Routing { return s.kad }

// FindPeer looks a peer's addresses up in the DHT.
func (s *Service) FindPeer(ctx context.Context, id peer.ID) (peer.AddrInfo, error) {
	return s.kad.FindPeer(ctx, id)
}

// Close stops the DHT.
func (s *Service) Close() error {
	return s.kad.Close()
}
