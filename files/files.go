package files

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/fluttershy/face2face/internal/sqlitedb"
)

// Import layout, as Kubo's `ipfs add --cid-version=1`: CIDv1, SHA2-256,
// raw leaves, 256 KiB chunks, balanced DAG of at most 174 links per node.
const (
	// ChunkSize is the size of a file's leaf blocks.
	ChunkSize = 256 << 10
	// LinksPerNode is the widest a file's inner node gets.
	LinksPerNode = 174
)

// cidBuilder builds the CIDs of every node the importer makes.
var cidBuilder = cid.V1Builder{Codec: cid.DagProtobuf, MhType: mh.SHA2_256}

// Errors.
var (
	// ErrNotFound: no block of the CID arrived within Params.FindTimeout.
	ErrNotFound = errors.New("no provider found")
	// ErrStalled: a get received no block for Params.StallTimeout.
	ErrStalled = errors.New("get stalled")
	// ErrInvalidCID: the CID does not parse or names an unsupported codec.
	ErrInvalidCID = errors.New("invalid CID")
	// ErrNotLocal: the file is not (completely) in the local store.
	ErrNotLocal = errors.New("file is not local")
	// ErrClosed: the service was closed.
	ErrClosed = errors.New("files: service closed")
)

// Params are the service's tunables.
type Params struct {
	// FindTimeout bounds the wait for a get's first (root) block.
	FindTimeout time.Duration
	// StallTimeout fails a get that received no block for this long.
	StallTimeout time.Duration
	// MaxDepth bounds a DAG's depth (a file of LinksPerNode^20 chunks is
	// far beyond any real file).
	MaxDepth int
	// MaxLinks bounds the links of one node.
	MaxLinks int
	// Fetchers is how many nodes' children a get requests at once.
	Fetchers int
	// ProvideTimeout bounds one DHT provide.
	ProvideTimeout time.Duration
	// ReprovideInterval is how often local files are announced again.
	ReprovideInterval time.Duration
}

// DefaultParams returns the default tunables.
func DefaultParams() Params {
	return Params{
		FindTimeout:       60 * time.Second,
		StallTimeout:      60 * time.Second,
		MaxDepth:          20,
		MaxLinks:          1 << 16,
		Fetchers:          8,
		ProvideTimeout:    2 * time.Minute,
		ReprovideInterval: 12 * time.Hour,
	}
}

func (p Params) validate() error {
	if p.FindTimeout <= 0 || p.StallTimeout <= 0 || p.ProvideTimeout <= 0 || p.ReprovideInterval <= 0 {
		return errors.New("files: timeouts and intervals must be positive")
	}
	if p.MaxDepth < 1 || p.MaxLinks < 1 || p.Fetchers < 1 {
		return errors.New("files: MaxDepth, MaxLinks and Fetchers must be at least 1")
	}
	return nil
}

// Policy decides who may receive a file's blocks. The node wires it to the
// rooms: a file shared only in password rooms is restricted to their
// proven members.
type Policy interface {
	// FileRestricted reports whether root's blocks go only to some peers;
	// a restricted file is not announced in the DHT either.
	FileRestricted(root cid.Cid) bool
	// FileAllowed reports whether p may receive root's blocks.
	FileAllowed(root cid.Cid, p peer.ID) bool
}

// Provider announces that this node has c (a DHT provider record).
type Provider func(ctx context.Context, c cid.Cid) error

type config struct {
	params  Params
	log     *slog.Logger
	policy  Policy
	provide Provider
	sync    func(context.Context) error
	streams *Streams
}

// WithBlockSync sets how the blockstore's earlier writes are made durable
// (e.g. a WAL fsync) before a file is listed as complete; without one the
// blockstore is taken to write durably.
func WithBlockSync(sync func(context.Context) error) Option {
	return func(c *config) error { c.sync = sync; return nil }
}

// Option configures New.
type Option func(*config) error

// WithParams sets the tunables.
func WithParams(p Params) Option {
	return func(c *config) error { c.params = p; return nil }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("files: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithPolicy sets the access policy; without one every block is served.
func WithPolicy(p Policy) Option {
	return func(c *config) error { c.policy = p; return nil }
}

// WithProvider sets how files are announced; without one they are not.
func WithProvider(p Provider) Option {
	return func(c *config) error { c.provide = p; return nil }
}

// Service adds files to the local blockstore, fetches them over the
// exchange (bitswap), keeps the list of complete local files and decides
// which blocks may be served to whom. It knows nothing of rooms.
//
// Concurrency: safe for concurrent use; state lives in SQLite and the
// blockstore, and background work (provides) runs in goroutines owned by
// the service's context and WaitGroup.
type Service struct {
	db      *sql.DB
	bs      blockstore.Blockstore
	bserv   blockservice.BlockService // online: fetches over the exchange
	local   ipld.DAGService           // offline: local blocks only
	params  Params
	log     *slog.Logger
	policy  Policy
	provide Provider
	sync    func(context.Context) error
	// streams is the fast path's network (nil: bitswap only);
	// streamSlots bounds the requests served at once, streamSent counts
	// the bytes served (StreamStats).
	streams     *Streams
	streamSlots chan struct{}
	streamSent  atomic.Uint64
	streamRecv  atomic.Uint64
	streamFails atomic.Uint64
	streamMu    sync.Mutex
	streamPeers peerCounts // requests being served, by peer
	// streamActive counts the requests being answered, by peer
	// (StreamPeersAtOnce); streamBusy those answered busy.
	streamActive peerCounts
	streamBusy   atomic.Uint64

	stmtRoots *sql.Stmt
	// idx is the connection block index rows are written on, with
	// synchronous=NORMAL: a commit survives the process being killed
	// without waiting for an fsync (the blocks it covers are not synced
	// one by one either).
	idx *sql.Conn

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
}

// New opens the file index in the SQLite database at dbPath (its own
// tables; other packages may keep theirs in the same file) and starts the
// service over bs and the exchange ex. The service owns its database
// handle (Close closes it); bs stays the caller's.
func New(dbPath string, bs blockstore.Blockstore, ex exchange.Interface, opts ...Option) (*Service, error) {
	c := config{params: DefaultParams(), log: slog.Default()}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if err := c.params.validate(); err != nil {
		return nil, err
	}
	if bs == nil || ex == nil {
		return nil, errors.New("files: nil dependency")
	}
	db, err := sqlitedb.Open(dbPath)
	if err != nil {
		return nil, err
	}
	s, err := newService(db, bs, ex, c)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func newService(db *sql.DB, bs blockstore.Blockstore, ex exchange.Interface, c config) (*Service, error) {
	if err := sqlitedb.Migrate(context.Background(), db, schemaName, schema); err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	s := &Service{db: db, bs: bs, params: c.params, log: c.log, policy: c.policy, provide: c.provide, sync: c.sync,
		streams: c.streams,
		bserv:   blockservice.New(bs, ex),
		local:   merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))}
	var err error
	if s.stmtRoots, err = db.Prepare(`SELECT root FROM file_blocks WHERE block = ?`); err != nil {
		return nil, fmt.Errorf("files: prepare: %w", err)
	}
	if s.idx, err = db.Conn(context.Background()); err != nil {
		s.stmtRoots.Close()
		return nil, fmt.Errorf("files: index connection: %w", err)
	}
	if _, err := s.idx.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`); err != nil {
		s.stmtRoots.Close()
		s.idx.Close()
		return nil, fmt.Errorf("files: index connection: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.provide != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.reprovideLoop()
		}()
	}
	if s.streams != nil {
		s.serveStreams()
	}
	return s, nil
}

// Close stops background work and waits for it.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.streams != nil {
		s.streams.Host.RemoveStreamHandler(BlocksProtocol)
	}
	s.cancel()
	s.wg.Wait()
	return errors.Join(s.stmtRoots.Close(), s.idx.Close(), s.db.Close())
}

// ParseCID parses a CID a user typed; the error wraps ErrInvalidCID.
func ParseCID(str string) (cid.Cid, error) {
	c, err := cid.Decode(str)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w %q: %v", ErrInvalidCID, str, err)
	}
	if err := checkCodec(c); err != nil {
		return cid.Undef, err
	}
	return c, nil
}

func checkCodec(c cid.Cid) error {
	switch c.Type() {
	case cid.Raw, cid.DagProtobuf:
		return nil
	}
	return fmt.Errorf("%w %s: codec 0x%x is not a UnixFS file or directory (raw or dag-pb)", ErrInvalidCID, c, c.Type())
}

// AllowBlock is bitswap's peer block request filter: a block of a
// restricted file goes only to peers the policy allows for one of the
// files it belongs to. A block that belongs to no indexed file, or to an
// unrestricted one, is served to anyone who asks (as IPFS does).
func (s *Service) AllowBlock(p peer.ID, c cid.Cid) bool {
	if s.policy == nil {
		return true
	}
	rows, err := s.stmtRoots.QueryContext(s.ctx, c.Bytes())
	if err != nil {
		s.log.Warn("block filter", "cid", c, "err", err)
		return false
	}
	defer rows.Close()
	any := false
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return false
		}
		root, err := cid.Cast(b)
		if err != nil {
			continue
		}
		any = true
		if !s.policy.FileRestricted(root) || s.policy.FileAllowed(root, p) {
			return true
		}
	}
	if rows.Err() != nil {
		return false
	}
	return !any
}

// Provide announces root in the background unless the policy restricts
// it. It returns at once.
func (s *Service) Provide(root cid.Cid) {
	if s.provide == nil || (s.policy != nil && s.policy.FileRestricted(root)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.provideOne(root)
	}()
}

func (s *Service) provideOne(root cid.Cid) {
	ctx, cancel := context.WithTimeout(s.ctx, s.params.ProvideTimeout)
	defer cancel()
	if err := s.provide(ctx, root); err != nil && s.ctx.Err() == nil {
		s.log.Debug("provide", "cid", root, "err", err)
	}
}

// reprovideLoop announces every unrestricted local file at start and then
// every ReprovideInterval, one at a time.
func (s *Service) reprovideLoop() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		list, err := s.List(s.ctx)
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("reprovide: list", "err", err)
		}
		for _, e := range list {
			if s.ctx.Err() != nil {
				return
			}
			c, err := cid.Decode(e.CID)
			if err != nil || (s.policy != nil && s.policy.FileRestricted(c)) {
				continue
			}
			s.provideOne(c)
		}
		t.Reset(s.params.ReprovideInterval)
	}
}
