package media

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST credential scheme is HMAC-SHA1
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v4"
	"golang.org/x/time/rate"
)

// TURNRealm is the realm of face2face's TURN servers.
const TURNRealm = "face2face"

// TURNParams bound what a TURN server gives.
type TURNParams struct {
	// MaxAllocations is the most relay allocations at once (all clients).
	MaxAllocations int
	// RelayBps caps each allocation's relayed bytes per second, each way
	// (packets above it are dropped, as a congested link would).
	RelayBps int
	// MaxTTL is the longest a credential may still be valid: a username
	// whose expiry lies further ahead is refused.
	MaxTTL time.Duration
}

// DefaultTURNParams: 64 allocations, 4 Mbit/s each way each, credentials
// valid for at most six hours.
func DefaultTURNParams() TURNParams {
	return TURNParams{MaxAllocations: 64, RelayBps: 500_000, MaxTTL: 6 * time.Hour}
}

// TURNCredentialTTL is how long the credentials a member makes are valid.
const TURNCredentialTTL = 3 * time.Hour

// TURNCredentials returns the credentials for a room's TURN servers
// (draft-uberti-behave-turn-rest): the username is "expiry:room", the
// password the base64 HMAC-SHA1 of the username under the room's TURN
// secret, which only the room's members can derive.
func TURNCredentials(secret []byte, room string, expiry time.Time) (user, password string) {
	user = strconv.FormatInt(expiry.Unix(), 10) + ":" + room
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(user))
	return user, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TURNStats counts a TURN server's work.
type TURNStats struct {
	Allocations  int    `json:"allocations"`
	RelayedBytes uint64 `json:"relayed_bytes"`
	Dropped      uint64 `json:"dropped_packets"`
	// Refused counts credentials refused for their username (expired,
	// unknown room, malformed) and allocations over the limit; a wrong
	// password fails pion's integrity check and is not counted here.
	Refused uint64 `json:"refused"`
}

// TURN is a STUN and TURN server (pion/turn) for the members of the rooms
// this node is in: credentials are checked against the room's secret
// (secret returns it for a room hash this node has joined).
type TURN struct {
	srv    *turn.Server
	conn   net.PacketConn
	params TURNParams
	log    *slog.Logger

	mu      sync.Mutex
	allocs  int
	relayed atomic.Uint64
	dropped atomic.Uint64
	refused atomic.Uint64
}

// NewTURN serves STUN and TURN on conn; relays are allocated on relayIP's
// interfaces and announced as relayIP. The server owns conn.
func NewTURN(conn net.PacketConn, relayIP net.IP, secret func(room string) ([]byte, bool), p TURNParams, log *slog.Logger) (*TURN, error) {
	if conn == nil || relayIP == nil || secret == nil {
		return nil, errors.New("media: NewTURN needs a conn, a relay IP and a secret func")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &TURN{conn: conn, params: p, log: log}
	gen := &turnAllocator{t: t, inner: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: "0.0.0.0"}}
	if relayIP.To4() == nil {
		gen.inner.Address = "::"
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:         TURNRealm,
		LoggerFactory: quietLogger{},
		AuthHandler: func(username, realm string, src net.Addr) ([]byte, bool) {
			key, ok := t.auth(username, realm, secret)
			if !ok {
				t.refused.Add(1)
			}
			return key, ok
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: conn, RelayAddressGenerator: gen}},
	})
	if err != nil {
		return nil, fmt.Errorf("turn server: %w", err)
	}
	t.srv = srv
	return t, nil
}

func (t *TURN) auth(username, realm string, secret func(string) ([]byte, bool)) ([]byte, bool) {
	exp, room, ok := strings.Cut(username, ":")
	if !ok || len(username) > 128 {
		return nil, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, false
	}
	now := time.Now()
	if when := time.Unix(sec, 0); when.Before(now) || when.After(now.Add(t.params.MaxTTL)) {
		return nil, false
	}
	key, ok := secret(room)
	if !ok {
		return nil, false
	}
	user, pass := TURNCredentials(key, room, time.Unix(sec, 0))
	return turn.GenerateAuthKey(user, realm, pass), true
}

// Stats returns the server's counters.
func (t *TURN) Stats() TURNStats {
	t.mu.Lock()
	n := t.allocs
	t.mu.Unlock()
	return TURNStats{Allocations: n, RelayedBytes: t.relayed.Load(), Dropped: t.dropped.Load(), Refused: t.refused.Load()}
}

// Addr is the server's UDP address.
func (t *TURN) Addr() net.Addr { return t.conn.LocalAddr() }

// Close stops the server and frees every allocation.
func (t *TURN) Close() error { return t.srv.Close() }

// turnAllocator bounds the allocations and wraps each relay socket in a
// rate limit and a byte counter.
type turnAllocator struct {
	t     *TURN
	inner *turn.RelayAddressGeneratorStatic
}

func (g *turnAllocator) Validate() error { return g.inner.Validate() }

var errTURNFull = errors.New("turn: allocation limit reached")

func (g *turnAllocator) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	t := g.t
	t.mu.Lock()
	if t.allocs >= t.params.MaxAllocations {
		t.mu.Unlock()
		t.refused.Add(1)
		return nil, nil, errTURNFull
	}
	t.allocs++
	t.mu.Unlock()
	pc, addr, err := g.inner.AllocatePacketConn(network, port)
	if err != nil {
		t.mu.Lock()
		t.allocs--
		t.mu.Unlock()
		return nil, nil, err
	}
	burst := max(t.params.RelayBps/4, 64<<10)
	return &relayConn{PacketConn: pc, t: t,
		in:  rate.NewLimiter(rate.Limit(t.params.RelayBps), burst),
		out: rate.NewLimiter(rate.Limit(t.params.RelayBps), burst)}, addr, nil
}

func (g *turnAllocator) AllocateConn(network string, port int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.New("turn: TCP relays are not offered")
}

// relayConn is one allocation's relay socket.
type relayConn struct {
	net.PacketConn
	t       *TURN
	in, out *rate.Limiter
	once    sync.Once
}

// ReadFrom reads what peers send to the allocation, dropping packets over
// the rate.
func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || c.in.AllowN(time.Now(), n) {
			c.t.relayed.Add(uint64(max(n, 0)))
			return n, addr, err
		}
		c.t.dropped.Add(1)
	}
}

// WriteTo sends the client's data to a peer, dropping it over the rate.
func (c *relayConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !c.out.AllowN(time.Now(), len(b)) {
		c.t.dropped.Add(1)
		return len(b), nil
	}
	n, err := c.PacketConn.WriteTo(b, addr)
	c.t.relayed.Add(uint64(max(n, 0)))
	return n, err
}

func (c *relayConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		c.t.allocs--
		c.t.mu.Unlock()
	})
	return c.PacketConn.Close()
}
