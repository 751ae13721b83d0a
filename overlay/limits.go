package overlay

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// maxTrackedPeers bounds a peerLimits: beyond it, limiters that are full
// again (their peer was quiet long enough) are forgotten, and while none
// is, new peers are refused (fail closed) rather than the map growing.
const maxTrackedPeers = 4096

// peerLimits is one token-bucket rate limiter per key (a peer or an
// author), bounded in size. Safe for concurrent use.
type peerLimits struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[peer.ID]*rate.Limiter
}

func newPeerLimits(r float64, burst int) *peerLimits {
	return &peerLimits{limit: rate.Limit(r), burst: burst, m: map[peer.ID]*rate.Limiter{}}
}

// allow takes one token of p's bucket.
func (l *peerLimits) allow(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[p]
	if !ok {
		if len(l.m) >= maxTrackedPeers {
			l.pruneLocked(time.Now())
		}
		if len(l.m) >= maxTrackedPeers {
			return false
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[p] = lim
	}
	return lim.Allow()
}

// pruneLocked forgets the buckets that are full again: a new one would be
// the same. l.mu is held.
func (l *peerLimits) pruneLocked(now time.Time) {
	for p, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, p)
		}
	}
}
