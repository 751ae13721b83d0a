package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/boxo/bitswap"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	tls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/collab"
	"github.com/fluttershy/face2face/dht"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/overlay"
)

// MDNSServiceName is the mDNS service face2face nodes announce.
const MDNSServiceName = "face2face"

// HostConstructor builds the libp2p host from the options node computed. Tests
// pass one to run nodes on a simulated network; the default is libp2p.New.
type HostConstructor func(opts ...libp2p.Option) (host.Host, error)

type config struct {
	listen       []string
	bootstrap    []string
	setBootstrap bool
	mdns         *bool
	apiAddr      string
	apiStrict    bool
	logger       *slog.Logger
	newHost      HostConstructor
	overlayOpts  []overlay.Option
	mediaOpts    []media.Option
	libp2pMet    bool
}

// WithLibp2pMetrics registers go-libp2p's own Prometheus metrics (swarm,
// identify, resource manager, ...) with the node's /metrics. They are off by
// default: they cost about 1.5 MiB of memory, which an idle daemon under the
// 64 MB goal would rather not spend.
func WithLibp2pMetrics() Option {
	return func(c *config) error { c.libp2pMet = true; return nil }
}

// WithOverlayOptions adds options to the room service (tests: loss,
// simulated uplinks, faster timers).
func WithOverlayOptions(opts ...overlay.Option) Option {
	return func(c *config) error { c.overlayOpts = append(c.overlayOpts, opts...); return nil }
}

// WithMediaOptions adds options to the media service (tests: shorter
// timeouts).
func WithMediaOptions(opts ...media.Option) Option {
	return func(c *config) error { c.mediaOpts = append(c.mediaOpts, opts...); return nil }
}

// Option configures New. Options override the repo's config.json for this
// run only; the file is never rewritten.
type Option func(*config) error

// WithListenAddrs replaces the configured swarm listen addresses.
func WithListenAddrs(addrs ...string) Option {
	return func(c *config) error {
		for _, a := range addrs {
			if _, err := ma.NewMultiaddr(a); err != nil {
				return fmt.Errorf("%w %q: %v", ErrBadMultiaddr, a, err)
			}
		}
		c.listen = append([]string(nil), addrs...)
		return nil
	}
}

// WithBootstrap replaces the configured bootstrap list (empty: no bootstrap).
func WithBootstrap(addrs ...string) Option {
	return func(c *config) error {
		if _, err := ParseBootstrap(addrs); err != nil {
			return err
		}
		c.bootstrap = append([]string{}, addrs...)
		c.setBootstrap = true
		return nil
	}
}

// WithMDNS switches mDNS discovery on or off.
func WithMDNS(on bool) Option {
	return func(c *config) error { c.mdns = &on; return nil }
}

// WithAPIAddr makes the local API listen on addr (HOST:PORT on loopback; port
// 0 picks a free port). Unlike the configured address, an address given
// here is not replaced by a free port when it is busy.
func WithAPIAddr(addr string) Option {
	return func(c *config) error {
		if err := ValidateAPIAddr(addr); err != nil {
			return err
		}
		c.apiAddr, c.apiStrict = addr, true
		return nil
	}
}

// WithLogger sets the node's logger (subsystems log through children of it).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithHostConstructor replaces libp2p.New, e.g. with a simulated network.
func WithHostConstructor(f HostConstructor) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("nil host constructor")
		}
		c.newHost = f
		return nil
	}
}

// Node is one face2face node: the repo, datastore, libp2p host, DHT,
// GossipSub, blockstore and bitswap, and the local API.
//
// Concurrency: fields set in New are read-only afterwards; mu guards the
// lifecycle state (started, closed). Every goroutine the node starts runs
// under ctx and is tracked by wg; Close cancels ctx and waits.
type Node struct {
	repo        *Repo
	cfg         *Config
	log         *slog.Logger
	ds          *pebbleds.Datastore
	host        host.Host
	dht         *dht.Service
	ps          *pubsub.PubSub
	bstore      blockstore.Blockstore
	bswap       *bitswap.Bitswap
	rooms       *overlay.Service
	files       *files.Service
	media       *media.Service
	docs        *collab.Service
	mdns        mdns.Service
	events      *eventHub
	api         *apiServer
	bwc         *metrics.BandwidthCounter
	metricsOnce sync.Once
	metrics     *prometheus.Registry // built on first use unless go-libp2p's metrics are on
	mesh        *overlay.MeshTracer
	reach       atomic.Int32  // overlay.Reachability
	observed    observedAddrs // identify's observed addresses (nat.go)
	// roomsRef is n.rooms for the libp2p callbacks (relay ACL, AutoRelay's
	// peer source) that may run before New has set n.rooms.
	roomsRef   atomic.Pointer[overlay.Service]
	turnMu     sync.Mutex
	turn       *media.TURN // the STUN/TURN server while public (syncTURN)
	known      *knownPeers
	connecting atomic.Bool // dialling bootstrap and known peers after Start
	bootPeers  int

	mdnsOn    bool
	apiAddr   string
	apiStrict bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	closed  bool
	closers []func() error // in construction order; Close runs them reversed
}

// New opens (and locks) the repo at repoPath and builds the node: datastore,
// libp2p host listening on the configured addresses, DHT, GossipSub,
// blockstore and bitswap. Call Start to serve the API and bootstrap, and
// Close to tear down. On error everything already built is closed again.
func New(repoPath string, opts ...Option) (_ *Node, err error) {
	c := config{logger: slog.Default(), newHost: libp2p.New}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	repo, err := OpenRepo(repoPath)
	if err != nil {
		return nil, err
	}
	n := &Node{repo: repo, cfg: repo.Config, log: c.logger, events: newEventHub(),
		bwc: metrics.NewBandwidthCounter(), mesh: overlay.NewMeshTracer()}
	if c.libp2pMet {
		n.metrics = n.newMetrics() // go-libp2p registers into it as the host is built
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.closers = append(n.closers, repo.Close) // released last
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()

	listen := n.cfg.Addresses.Swarm
	if c.listen != nil {
		listen = c.listen
	}
	bootstrap := n.cfg.Bootstrap
	if c.setBootstrap {
		bootstrap = c.bootstrap
	}
	bootPeers, err := ParseBootstrap(bootstrap)
	if err != nil {
		return nil, err
	}
	n.bootPeers = len(bootPeers)
	n.mdnsOn = n.cfg.Discovery.MDNS
	if c.mdns != nil {
		n.mdnsOn = *c.mdns
	}
	n.apiAddr, n.apiStrict = n.cfg.Addresses.API, false
	if c.apiAddr != "" {
		n.apiAddr, n.apiStrict = c.apiAddr, c.apiStrict
	}

	// Datastore: pebble on disk, every write synced so that nothing that
	// was acknowledged is lost in a crash.
	n.ds, err = pebbleds.NewDatastore(filepath.Join(repoPath, DatastoreDir),
		pebbleds.WithCacheSize(8<<20),
		pebbleds.WithPebbleOpts(&pebble.Options{MemTableSize: 4 << 20}),
		pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, fmt.Errorf("open datastore: %w", err)
	}
	n.closers = append(n.closers, n.ds.Close)

	// libp2p host.
	hostOpts, err := n.hostOptions(c.libp2pMet)
	if err != nil {
		return nil, err
	}
	n.host, err = c.newHost(hostOpts...)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	n.closers = append(n.closers, n.host.Close)
	// Before the first connection: every identify's observed address.
	if err := n.watchObserved(); err != nil {
		return nil, err
	}
	if err := n.listen(listen); err != nil {
		return nil, err
	}
	if n.known, err = loadKnownPeers(n.ctx, n.ds); err != nil {
		return nil, fmt.Errorf("read known peers: %w", err)
	}

	// DHT.
	n.dht, err = dht.New(n.host,
		dht.WithParams(dht.Params{ProtocolPrefix: n.cfg.DHT.ProtocolPrefix, Mode: dht.Mode(n.cfg.DHT.Mode), DialTimeout: 10 * time.Second}),
		dht.WithBootstrapPeers(bootPeers...),
		dht.WithLogger(n.log.With("subsystem", "dht")))
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.dht.Close)

	// GossipSub: stops when n.ctx is cancelled. The peer filter asks the
	// room service (built below) who may see a password room's topics.
	var rooms atomic.Pointer[overlay.Service]
	n.ps, err = pubsub.NewGossipSub(n.ctx, n.host,
		pubsub.WithPeerFilter(func(p peer.ID, topic string) bool {
			if s := rooms.Load(); s != nil {
				return s.AllowPeer(p, topic)
			}
			return true
		}),
		// GossipSub v1.1 and later only: floodsub (and GossipSub v1.0,
		// which has no peer scoring or prune backoff) would send a
		// room's messages to any peer that announces a subscription to
		// its topics, past the peer filter and the mesh.
		pubsub.WithGossipSubProtocols([]protocol.ID{pubsub.GossipSubID_v13, pubsub.GossipSubID_v12, pubsub.GossipSubID_v11},
			pubsub.GossipSubDefaultFeatures),
		// Publish to the mesh only (the peer filter keeps non-members of
		// password rooms out of it), never to every subscriber.
		pubsub.WithFloodPublish(false),
		// Peer scoring: the room validators' rejections and the points
		// they charge a peer that forwards too much (AppScore) prune and
		// then graylist it.
		pubsub.WithPeerScore(overlay.ScoreParams(func(p peer.ID) float64 {
			if s := rooms.Load(); s != nil {
				return s.AppScore(p)
			}
			return 0
		}), overlay.ScoreThresholds()),
		pubsub.WithMaxMessageSize(1<<20),
		pubsub.WithGossipSubParams(overlay.GossipParams()),
		pubsub.WithRawTracer(n.mesh),
		// Every face2face message is an envelope signed by its author
		// (verified by the topic validators), so pubsub's own signature
		// would be a second one to make and check on every hop: messages
		// carry no pubsub signature, author or seqno and are identified
		// by the hash of their bytes.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithMessageIdFn(overlay.MessageID))
	if err != nil {
		return nil, fmt.Errorf("gossipsub: %w", err)
	}

	// Blocks: flatfs, a file per block (see blockstore.go).
	blockDS, err := openBlocks(n.ctx, repoPath)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, blockDS.Close)
	n.bstore = blockstore.NewBlockstore(blockDS, blockstore.NoPrefix())
	// Fewer blockstore workers than boxo's 128 (sized for busy IPFS
	// servers): a face2face node serves its rooms, and every idle worker is
	// a goroutine stack the GC scans.
	// The block request filter asks the file service (built below, once
	// the database is open) who may have a block; until then it refuses.
	var fileSvc atomic.Pointer[files.Service]
	var mediaSvc atomic.Pointer[media.Service]
	var docSvc atomic.Pointer[collab.Service]
	n.bswap = bitswap.New(n.ctx, bsnet.NewFromIpfsHost(n.host), n.dht.Routing(), n.bstore,
		bitswap.EngineBlockstoreWorkerCount(16),
		bitswap.WithPeerBlockRequestFilter(func(p peer.ID, c cid.Cid) bool {
			if f := fileSvc.Load(); f != nil {
				return f.AllowBlock(p, c)
			}
			return false
		}))
	n.closers = append(n.closers, n.bswap.Close)

	// Rooms and chat: the room store (in f2f.db) and the room service.
	store, err := overlay.OpenStore(filepath.Join(repoPath, DBFile))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", DBFile, err)
	}
	n.closers = append(n.closers, store.Close)
	ovOpts := append([]overlay.Option{
		overlay.WithLogger(n.log.With("subsystem", "overlay")),
		overlay.WithEvents(func(typ string, data any) {
			n.events.Publish(typ, data)
			if typ == overlay.EventMemberJoined {
				if d := docSvc.Load(); d != nil {
					d.Kick() // sync the documents with the newcomer now
				}
			}
		}),
		overlay.WithReachability(func() overlay.Reachability { return overlay.Reachability(n.reach.Load()) }),
		overlay.WithTURN(n.turnAddrs),
		overlay.WithActivity(overlay.Activity{
			Rates: func(p peer.ID) (float64, float64) {
				st := n.bwc.GetBandwidthForPeer(p)
				return st.RateIn, st.RateOut
			},
			Mesh:    n.mesh.Mesh,
			DHTSize: func() int { return len(n.dht.RoutingTable()) },
			Media: func(hash string) []overlay.MediaLink {
				m := mediaSvc.Load()
				if m == nil {
					return nil
				}
				var out []overlay.MediaLink
				for _, e := range m.Edges(hash) {
					out = append(out, overlay.MediaLink{To: e.To, Bps: e.Kbps * 1000 / 8})
				}
				return out
			},
			MediaEncode: func(hash string) time.Duration {
				if m := mediaSvc.Load(); m != nil {
					return m.EncodeTime(hash)
				}
				return 0
			},
			ComposeCost: func() time.Duration {
				if m := mediaSvc.Load(); m != nil {
					return m.ComposeCost()
				}
				return 0
			},
		}),
	}, c.overlayOpts...)
	n.rooms, err = overlay.New(n.host, n.ps, n.dht, store, repo.Key, ovOpts...)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.rooms.Close)
	rooms.Store(n.rooms)
	n.roomsRef.Store(n.rooms)

	// Files: the index in f2f.db, blocks over bitswap; the rooms decide who
	// may fetch what (a password room's files go to its members only) and
	// the DHT carries provider records.
	n.files, err = files.New(filepath.Join(repoPath, DBFile), n.bstore, n.bswap,
		files.WithLogger(n.log.With("subsystem", "files")),
		files.WithPolicy(n.rooms),
		files.WithStreams(files.Streams{Host: n.host, Received: n.received}),
		files.WithBlockSync(func(context.Context) error { return syncBlocks(filepath.Join(repoPath, BlocksDir)) }),
		files.WithProvider(func(ctx context.Context, c cid.Cid) error { return n.dht.Routing().Provide(ctx, c, true) }))
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.files.Close)
	fileSvc.Store(n.files)

	// Live media: pion PeerConnections to the members the room's topology
	// selects, signaled over libp2p streams.
	mp := media.DefaultParams()
	mp.Compose = n.cfg.Media.composeParams()
	n.media, err = media.New(n.host, mediaRooms{n.rooms}, append([]media.Option{
		media.WithParams(mp),
		media.WithLogger(n.log.With("subsystem", "media")),
		media.WithICE(mediaICE(n.cfg)),
		media.WithRoomICE(n.roomICE),
		media.WithNames(n.rooms.NickOf),
		media.WithEvents(func(e media.Event) { n.events.Publish(e.Type, e.Data) })}, c.mediaOpts...)...)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.media.Close, n.closeTURN)
	mediaSvc.Store(n.media)

	// Collaborative documents: Automerge documents in f2f.db, synced with
	// the rooms' members over /f2f/doc/1.
	n.docs, err = collab.New(n.host, docRooms{n.rooms}, filepath.Join(repoPath, DBFile),
		collab.WithLogger(n.log.With("subsystem", "collab")),
		collab.WithEvents(func(typ string, data any) {
			switch d := data.(type) {
			case collab.Info:
				data = apiDocInfo(d)
			case collab.Reminder:
				n.events.Publish(api.EventDocReminder, apiReminder(d))
				n.events.Publish(api.EventChatMessage, reminderChat(d))
				return
			}
			n.events.Publish(typ, data)
		}))
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.docs.Close)
	docSvc.Store(n.docs)
	return n, nil
}

func (n *Node) hostOptions(libp2pMetrics bool) ([]libp2p.Option, error) {
	rm, err := newResourceManager(n.cfg.Resources)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(n.cfg.Resources.ConnsLowWater, n.cfg.Resources.ConnsHighWater,
		connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(n.repo.Key),
		libp2p.NoListenAddrs, // New listens address by address, for clear errors
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(tls.ID, tls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.SwarmOpts(swarm.WithDialRanker(dialRanker)),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.Ping(true),
		libp2p.UserAgent("face2face/" + Version),
		libp2p.BandwidthReporter(n.bwc),
	}
	if libp2pMetrics {
		opts = append(opts, libp2p.PrometheusRegisterer(n.metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	opts = append(opts, n.natOptions()...)
	return opts, nil
}

// listen listens on each address. An address with port 0 first tries the
// port it got last time (remembered in the datastore), so that the peers
// that remember this node find it again after a restart.
func (n *Node) listen(listen []string) error {
	last := lastPorts(n.ctx, n.ds)
	now := map[string]string{}
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%w %q: %v", ErrBadMultiaddr, s, err)
		}
		before := map[string]bool{}
		for _, l := range n.host.Network().ListenAddresses() {
			before[l.String()] = true
		}
		listened := false
		if port, ok := last[s]; ok {
			if b, ok := withPort(a, port); ok && portFree(b) == nil && n.host.Network().Listen(b) == nil {
				listened = true
			}
		}
		if !listened {
			if err := portFree(a); err != nil {
				return fmt.Errorf("listen on %s: %w", s, unwrapListenErr(err))
			}
			if err := n.host.Network().Listen(a); err != nil {
				return fmt.Errorf("listen on %s: %w", s, unwrapListenErr(err))
			}
		}
		if _, random := withPort(a, "0"); !random {
			continue
		}
		for _, l := range n.host.Network().ListenAddresses() {
			if before[l.String()] {
				continue
			}
			for _, code := range []int{ma.P_TCP, ma.P_UDP} {
				if v, err := l.ValueForProtocol(code); err == nil {
					now[s] = v
					break
				}
			}
			break
		}
	}
	if len(now) > 0 {
		if b, err := json.Marshal(now); err == nil {
			if err := n.ds.Put(n.ctx, listenPortsKey, b); err != nil {
				return fmt.Errorf("remember listen ports: %w", err)
			}
		}
	}
	return nil
}

// portFree fails with "address already in use" when another socket listens
// on a's fixed TCP or UDP port. go-libp2p listens with SO_REUSEPORT (so
// that dials can leave from the listening port, which hole punching
// needs), and Linux then lets a second daemon bind the same port and take
// half of the first one's incoming connections: a plain bind (without
// SO_REUSEPORT) tried first fails while anyone holds the port.
func portFree(a ma.Multiaddr) error {
	var ip, family string
	if v, err := a.ValueForProtocol(ma.P_IP4); err == nil {
		ip, family = v, "4"
	} else if v, err := a.ValueForProtocol(ma.P_IP6); err == nil {
		ip, family = v, "6" // tcp6/udp6: IPV6_V6ONLY, as libp2p listens
	} else {
		return nil // DNS names and the like: libp2p decides
	}
	if port, err := a.ValueForProtocol(ma.P_TCP); err == nil && port != "0" {
		l, err := net.Listen("tcp"+family, net.JoinHostPort(ip, port))
		if err != nil {
			return err
		}
		return l.Close()
	}
	if port, err := a.ValueForProtocol(ma.P_UDP); err == nil && port != "0" {
		c, err := net.ListenPacket("udp"+family, net.JoinHostPort(ip, port))
		if err != nil {
			return err
		}
		return c.Close()
	}
	return nil
}

// unwrapListenErr keeps the part of a swarm listen error a user can act on.
func unwrapListenErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Start serves the local API, writes the repo's api file, starts mDNS if on
// and bootstraps the DHT in the background. It returns once the API
// listens.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.started {
		return errors.New("node already started")
	}
	n.started = true
	n.connecting.Store(true)

	if err := n.watchPeers(); err != nil {
		return err
	}
	if n.cfg.NAT.HolePunching {
		if err := n.watchHolePunch(); err != nil {
			return err
		}
	}
	if err := n.rooms.Restore(n.ctx); err != nil {
		n.log.Warn("rejoining rooms", "err", err)
	}
	api, err := newAPIServer(n, n.apiAddr, n.apiStrict)
	if err != nil {
		return err
	}
	n.api = api
	n.closers = append(n.closers, api.Close)

	if n.mdnsOn {
		n.mdns = mdns.NewMdnsService(n.host, MDNSServiceName, &mdnsNotifee{n: n})
		if err := n.mdns.Start(); err != nil {
			return fmt.Errorf("mdns: %w", err)
		}
		n.closers = append(n.closers, n.mdns.Close)
	}

	n.wg.Add(2)
	go n.keepKnownPeers()
	go func() {
		defer n.wg.Done()
		defer n.connecting.Store(false)
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		defer cancel()
		var tried, reached int
		redialed := make(chan struct{})
		go func() {
			defer close(redialed)
			tried, reached = n.redialKnown(ctx)
		}()
		boot, err := n.dht.Bootstrap(ctx)
		if err != nil && n.ctx.Err() == nil {
			n.log.Warn("DHT bootstrap", "err", err)
		}
		<-redialed
		if n.ctx.Err() != nil {
			return
		}
		n.events.Publish(EventBootstrapped, map[string]int{"bootstrap_peers_reached": boot, "known_peers_tried": tried, "known_peers_reached": reached})
		if len(n.host.Network().Peers()) == 0 {
			if tried+n.bootPeers == 0 {
				n.log.Info("no peers yet: no bootstrap peers configured and none known from earlier runs; waiting for peers to connect (f2f connect MULTIADDR)")
			} else {
				n.log.Warn("reached no peer", "bootstrap_peers", n.bootPeers, "known_peers_tried", tried,
					"hint", "connect one with f2f connect MULTIADDR, or restart with --bootstrap")
			}
		} else if tried > 0 {
			n.log.Info("reconnected to known peers", "reached", reached, "tried", tried)
		}
	}()
	return nil
}

// Connecting reports whether the node is still dialling its bootstrap and
// known peers after Start.
func (n *Node) Connecting() bool { return n.connecting.Load() }

// onEvents subscribes to the libp2p event types and calls f with each
// event on a goroutine the node owns, until it closes.
func (n *Node) onEvents(what string, types []any, f func(any)) error {
	sub, err := n.host.EventBus().Subscribe(types)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", what, err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-n.ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				f(e)
			}
		}
	}()
	return nil
}

// watchPeers turns libp2p connectedness events into node events.
func (n *Node) watchPeers() error {
	return n.onEvents("peer events", []any{new(event.EvtPeerConnectednessChanged), new(event.EvtLocalReachabilityChanged)}, func(e any) {
		if r, ok := e.(event.EvtLocalReachabilityChanged); ok {
			switch r.Reachability {
			case network.ReachabilityPublic:
				n.reach.Store(int32(overlay.ReachPublic))
			case network.ReachabilityPrivate:
				n.reach.Store(int32(overlay.ReachPrivate))
			default:
				n.reach.Store(int32(overlay.ReachUnknown))
			}
			n.log.Info("reachability", "now", overlay.Reachability(n.reach.Load()).String())
			n.syncTURN()
			n.events.Publish(EventReachability, map[string]string{"reachability": overlay.Reachability(n.reach.Load()).String()})
			return
		}
		ev := e.(event.EvtPeerConnectednessChanged)
		switch ev.Connectedness {
		case network.Connected:
			n.events.Publish(EventPeerConnected, map[string]string{"peer": ev.Peer.String()})
		case network.NotConnected:
			n.events.Publish(EventPeerDisconnected, map[string]string{"peer": ev.Peer.String()})
		}
	})
}

type mdnsNotifee struct{ n *Node }

// HandlePeerFound connects to a peer mDNS found. It runs on mDNS's own
// goroutine and is bounded in time; Close cancels it through n.ctx.
func (m *mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.host.ID() {
		return
	}
	ctx, cancel := context.WithTimeout(m.n.ctx, 10*time.Second)
	defer cancel()
	if err := m.n.host.Connect(ctx, ai); err != nil {
		m.n.log.Debug("mdns peer unreachable", "peer", ai.ID, "err", err)
	}
}

// Close tears the node down in reverse order of construction and waits
// for its goroutines. It is safe to call more than once.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	return n.closeAll()
}

// closeAll stops the node's goroutines (cancelling ctx also ends the event
// streams of API clients), then runs the closers in reverse order of
// construction: API, mDNS, bitswap, DHT, host, datastore, and last the repo
// lock.
func (n *Node) closeAll() error {
	n.mu.Lock()
	started := n.started
	n.mu.Unlock()
	if started && n.rooms != nil {
		ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
		if n.rooms.Goodbye(ctx) > 0 {
			// GossipSub hands a message to per-peer writers; give them a
			// moment before the streams close.
			t := time.NewTimer(300 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		cancel()
	}
	n.events.Close()
	n.cancel()
	n.wg.Wait()
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		if err := n.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Host returns the libp2p host.
func (n *Node) Host() host.Host { return n.host }

// DHT returns the DHT service.
func (n *Node) DHT() *dht.Service { return n.dht }

// PubSub returns the GossipSub router.
func (n *Node) PubSub() *pubsub.PubSub { return n.ps }

// Rooms returns the room and chat service.
func (n *Node) Rooms() *overlay.Service { return n.rooms }

// Files returns the node's file service.
func (n *Node) Files() *files.Service { return n.files }

// Blockstore returns the node's persistent blockstore.
func (n *Node) Blockstore() blockstore.Blockstore { return n.bstore }

// Bitswap returns the node's bitswap exchange.
func (n *Node) Bitswap() *bitswap.Bitswap { return n.bswap }

// RepoPath returns the repo dir.
func (n *Node) RepoPath() string { return n.repo.Path }

// APIAddr returns HOST:PORT of the local API once started, else "".
func (n *Node) APIAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.api == nil {
		return ""
	}
	return n.api.addr
}

// Subscribe returns the node's events and a func to stop receiving them.
func (n *Node) Subscribe(buf int) (<-chan Event, func()) { return n.events.Subscribe(buf) }

// Addrs returns the node's full listen multiaddrs, each ending in /p2p/<id>.
func (n *Node) Addrs() []string {
	ai := peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}
	full, err := peer.AddrInfoToP2pAddrs(&ai)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(full))
	for _, a := range full {
		out = append(out, a.String())
	}
	sort.Strings(out)
	return out
}

// IDInfo describes the node (GET /api/v1/id, `f2f id`).
type IDInfo = api.ID

// Info returns the node's IDInfo.
func (n *Node) Info() IDInfo {
	protos := []string{}
	for _, p := range n.host.Mux().Protocols() {
		protos = append(protos, string(p))
	}
	sort.Strings(protos)
	return IDInfo{ID: n.host.ID().String(), Addresses: n.Addrs(), AgentVersion: "face2face/" + Version, Protocols: protos,
		Connecting: n.connecting.Load(), NAT: n.reachability()}
}

// PeerInfo describes one connected peer (GET /api/v1/peers, `f2f peers`).
type PeerInfo = api.Peer

// Peers lists the connected peers, sorted by peer ID.
func (n *Node) Peers() []PeerInfo {
	inRT := map[peer.ID]bool{}
	for _, p := range n.dht.RoutingTable() {
		inRT[p] = true
	}
	out := []PeerInfo{}
	for _, p := range n.host.Network().Peers() {
		conns := n.host.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		c := conns[0]
		for _, d := range conns {
			if !isRelayed(d) { // a direct connection (hole punched) first
				c = d
				break
			}
		}
		out = append(out, PeerInfo{
			Relayed:        isRelayed(c),
			ID:             p.String(),
			Addr:           c.RemoteMultiaddr().String(),
			Direction:      c.Stat().Direction.String(),
			LatencyMS:      float64(n.host.Peerstore().LatencyEWMA(p).Microseconds()) / 1000,
			InRoutingTable: inRT[p],
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Connect dials a peer by its full multiaddr (ending in /p2p/<id>).
func (n *Node) Connect(ctx context.Context, addr string) (peer.ID, error) {
	ai, err := ParsePeerAddr(addr)
	if err != nil {
		return "", err
	}
	if ai.ID == n.host.ID() {
		return "", ErrSelfDial
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.host.Connect(ctx, *ai); err != nil {
		return "", fmt.Errorf("connect %s: %w", ai.ID, err)
	}
	return ai.ID, nil
}

// RoutingTable lists the peer IDs in the DHT routing table, sorted.
func (n *Node) RoutingTable() []string {
	out := []string{}
	for _, p := range n.dht.RoutingTable() {
		out = append(out, p.String())
	}
	sort.Strings(out)
	return out
}
