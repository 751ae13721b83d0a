package node

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluttershy/face2face/api"
)

// Event types the node itself pushes to the events stream (package api
// lists every type, with its data).
const (
	EventPeerConnected    = api.EventPeerConnected
	EventPeerDisconnected = api.EventPeerDisconnected
	EventBootstrapped     = api.EventBootstrapped
	EventReachability     = api.EventReachability
	EventStreamReady      = api.EventStreamReady
)

// Event is one item of the node's events stream; in process its data is
// the publisher's value, through the API the API's type (see apiEvent).
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Data any       `json:"data,omitempty"`
}

// eventHub fans events out to subscribers without blocking the publisher:
// a subscriber whose buffer is full misses the event, and the miss is
// counted. Concurrency: a mutex guards the subscriber set.
type eventHub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
	// recent is a ring of the last maxRecentEvents: once full, next is
	// the oldest (and where the next event goes).
	recent  []Event
	next    int
	closed  bool
	dropped atomic.Uint64
}

func newEventHub() *eventHub { return &eventHub{subs: map[chan Event]struct{}{}} }

// Publish delivers ev to every subscriber that has room for it.
func (h *eventHub) Publish(typ string, data any) {
	ev := Event{Type: typ, Time: time.Now().UTC(), Data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	if typ != EventStreamReady {
		if len(h.recent) < maxRecentEvents {
			h.recent = append(h.recent, ev)
		} else {
			h.recent[h.next] = ev
			h.next = (h.next + 1) % maxRecentEvents
		}
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			h.dropped.Add(1)
		}
	}
}

// maxRecentEvents bounds the timeline kept for `f2f events`.
const maxRecentEvents = 1000

// Recent returns the timeline: the last events, oldest first.
func (h *eventHub) Recent() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append(append(make([]Event, 0, len(h.recent)), h.recent[h.next:]...), h.recent[:h.next]...)
}

// Subscribe returns a channel of events and a func that ends the
// subscription. The channel is closed when the subscription or the hub ends.
func (h *eventHub) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[ch]; ok {
				delete(h.subs, ch)
				close(ch)
			}
		})
	}
}

// Close ends every subscription.
func (h *eventHub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
