package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

// DefaultChatWarmUp is the warm-up of the chat benchmarks.
const DefaultChatWarmUp = 15 * time.Second

// ChatBenchRoom is one room whose members are fresh nodes on loopback, for
// measuring chat delivery (BenchmarkChat*, `f2f bench chat`). The members
// are in-process nodes (NewChatBenchRoom) or `f2f daemon` processes
// (NewChatBenchProcs), each told one other node's address (random shape).
type ChatBenchRoom struct {
	name    string
	members []*benchMember
	seq     int

	// rec, while a Rate run is on, takes the arrivals of its messages.
	recMu sync.Mutex
	rec   *rateRecord

	run    context.Context // ends at Close; the readers run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  func() error
	// procs: the nodes are daemon processes (NewChatBenchProcs).
	procs bool
}

// benchMember is one member as the benchmark sees it.
type benchMember struct {
	send      func(ctx context.Context, room, text string) error
	connected func(ctx context.Context, room string) (int, error)
	log       func(ctx context.Context, room string, since time.Time) ([]string, error) // the texts
	// arrivals gets every chat message's text and the time its node
	// emitted the chat.message event.
	arrivals chan arrival
}

type arrival struct {
	text string
	at   time.Time
}

// NewChatBenchRoom starts n in-process nodes in dir and makes the room (see
// ChatBenchRoom and warmUp).
func NewChatBenchRoom(ctx context.Context, dir string, n int, warm time.Duration, opts ...testnet.Option) (_ *ChatBenchRoom, err error) {
	if n < 2 {
		return nil, errors.New("bench: a chat benchmark needs at least 2 nodes")
	}
	net, err := testnet.New(dir, n, append([]testnet.Option{testnet.WithShape(testnet.Random)}, opts...)...)
	if err != nil {
		return nil, err
	}
	c := newChatBenchRoom(net.Close)
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	for i, nd := range net.Nodes {
		rooms := nd.Rooms()
		m := &benchMember{
			send: func(ctx context.Context, room, text string) error {
				_, err := rooms.Send(ctx, room, text)
				return err
			},
			connected: func(ctx context.Context, room string) (int, error) {
				ps, err := rooms.Peers(ctx, room)
				return countConnected(ps, func(m overlay.MemberInfo) bool { return m.Connected }), err
			},
			log: func(ctx context.Context, room string, since time.Time) ([]string, error) {
				log, err := rooms.Log(ctx, room, since, 0)
				return logTexts(log, func(m overlay.ChatMessage) string { return m.Text }), err
			},
			arrivals: make(chan arrival, 1024),
		}
		ch, unsub := nd.Subscribe(1024)
		c.goroutine(func(ctx context.Context) {
			defer unsub()
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-ch:
					if cm, ok := ev.Data.(overlay.ChatMessage); ok {
						c.arrive(i, arrival{cm.Text, ev.Time})
					}
				}
			}
		})
		c.members = append(c.members, m)
	}
	return c, c.form(ctx, warm, func(ctx context.Context, name string) (string, error) {
		info, err := net.Nodes[0].Rooms().Create(ctx, name, "")
		return info.Key, err
	}, func(ctx context.Context, i int, key string) error {
		_, err := net.Nodes[i].Rooms().Join(ctx, key, "")
		return err
	})
}

// NewChatBenchProcs starts n `bin daemon` processes (local profile, repos in
// dir) and makes the room (see ChatBenchRoom and warmUp). Messages are sent
// and read through each daemon's local API, as the CLI does; a delivery is
// timed by the receiving daemon's event stamp (one machine, one clock).
func NewChatBenchProcs(ctx context.Context, bin, dir string, n int, warm time.Duration, seed int64) (_ *ChatBenchRoom, err error) {
	if n < 2 {
		return nil, errors.New("bench: a chat benchmark needs at least 2 nodes")
	}
	var procs []*testnet.Proc
	c := newChatBenchRoom(func() error {
		var errs []error
		for _, p := range procs {
			errs = append(errs, p.Stop(20*time.Second))
		}
		return errors.Join(errs...)
	})
	c.procs = true
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < n; i++ {
		args := []string{"--no-bootstrap"}
		if i > 0 {
			id, err := procs[rng.Intn(i)].Client.ID(ctx)
			if err != nil {
				return nil, err
			}
			args = nil
			for _, a := range id.Addresses {
				args = append(args, "--bootstrap", a)
			}
		}
		p, err := testnet.StartDaemon(ctx, bin, filepath.Join(dir, fmt.Sprintf("node%d", i)), args...)
		if err != nil {
			return nil, fmt.Errorf("node%d: %w", i, err)
		}
		procs = append(procs, p)
		cl := p.Client
		m := &benchMember{
			send: func(ctx context.Context, room, text string) error {
				_, err := cl.Chat(ctx, room, text)
				return err
			},
			connected: func(ctx context.Context, room string) (int, error) {
				ps, err := cl.RoomPeers(ctx, room)
				return countConnected(ps, func(m api.Member) bool { return m.Connected }), err
			},
			log: func(ctx context.Context, room string, since time.Time) ([]string, error) {
				log, err := cl.Log(ctx, room, since, 0)
				return logTexts(log, func(m api.ChatMessage) string { return m.Text }), err
			},
			arrivals: make(chan arrival, 1024),
		}
		c.goroutine(func(ctx context.Context) {
			_ = cl.Events(ctx, func(ev api.Event) error {
				if ev.Type != overlay.EventChatMessage {
					return nil
				}
				var cm api.ChatMessage
				if ev.Decode(&cm) == nil {
					c.arrive(i, arrival{cm.Text, ev.Time})
				}
				return nil
			})
		})
		c.members = append(c.members, m)
	}
	return c, c.form(ctx, warm, func(ctx context.Context, name string) (string, error) {
		info, err := procs[0].Client.CreateRoom(ctx, name, "")
		return info.Key, err
	}, func(ctx context.Context, i int, key string) error {
		_, err := procs[i].Client.JoinRoom(ctx, key, "")
		return err
	})
}

func newChatBenchRoom(closeNodes func() error) *ChatBenchRoom {
	c := &ChatBenchRoom{name: "bench", close: closeNodes}
	c.run, c.cancel = context.WithCancel(context.Background())
	return c
}

// goroutine runs f until Close.
func (c *ChatBenchRoom) goroutine(f func(ctx context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.run)
	}()
}

// arrive hands a, which member i's node emitted, over to the benchmark: to
// the Rate run that sent it, else to the member's channel; when that is
// full (nobody has been reading), it is dropped rather than blocking the
// reader.
func (c *ChatBenchRoom) arrive(i int, a arrival) {
	c.recMu.Lock()
	if r := c.rec; r != nil {
		if k, ok := r.index[a.text]; ok {
			if r.got[i][k].IsZero() {
				r.got[i][k] = a.at
			}
			c.recMu.Unlock()
			return
		}
	}
	c.recMu.Unlock()
	m := c.members[i]
	select {
	case m.arrivals <- a:
	default:
	}
}

func countConnected[M any](ps []M, connected func(M) bool) int {
	n := 0
	for _, p := range ps {
		if connected(p) {
			n++
		}
	}
	return n
}

// logTexts returns the texts of a chat log.
func logTexts[M any](log []M, text func(M) string) []string {
	out := make([]string, 0, len(log))
	for _, m := range log {
		out = append(out, text(m))
	}
	return out
}

// form has member 0 create the room and the others join it by key, waits
// until every member sees at least min(n-1, 4) connected members, and warms
// up.
func (c *ChatBenchRoom) form(ctx context.Context, warm time.Duration, create func(context.Context, string) (string, error),
	join func(context.Context, int, string) error) error {
	key, err := create(ctx, c.name)
	if err != nil {
		return err
	}
	for i := 1; i < len(c.members); i++ {
		if err := join(ctx, i, key); err != nil {
			return fmt.Errorf("node%d join: %w", i, err)
		}
	}
	want := min(len(c.members)-1, 4)
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, m := range c.members {
			k, err := m.connected(ctx, c.name)
			if err != nil || k < want {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("room did not form: %w", err)
	}
	return c.warmUp(ctx, warm)
}

// warmUp sends rounds for the duration warm (at least one, at most 5000):
// the gossip meshes settle, and the post-meeting history syncs and the
// DHT's first routing-table refreshes run in the first seconds after the
// nodes start, so that what is measured next is the steady state.
// DefaultChatWarmUp is long enough for that.
func (c *ChatBenchRoom) warmUp(ctx context.Context, warm time.Duration) error {
	start := time.Now()
	for i := 0; i == 0 || i < 5000 && time.Since(start) < warm; i++ {
		if _, err := c.Round(ctx); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

// Idle returns the cores this process uses over d while nobody in the
// room sends a chat message: what the room's own traffic (presence,
// telemetry, capability reports, the mixer's heartbeats and the election)
// and timers cost. The room must run in this process.
func (c *ChatBenchRoom) Idle(ctx context.Context, d time.Duration) (float64, error) {
	if c.procs {
		return 0, errors.New("bench: an idle room is measured in this process; its nodes are daemons of their own")
	}
	return idleCores(ctx, d)
}

// Nodes returns the number of members.
func (c *ChatBenchRoom) Nodes() int { return len(c.members) }

// Close stops the members.
func (c *ChatBenchRoom) Close() error {
	c.cancel()
	err := c.close()
	c.wg.Wait()
	return err
}

// Round sends one message from the next member in turn and waits until
// every other member's node stored it and emitted its chat.message event;
// it returns the n-1 publish-to-delivery latencies, measured from just
// before the Send call.
func (c *ChatBenchRoom) Round(ctx context.Context) ([]time.Duration, error) {
	n := len(c.members)
	sender := c.seq % n
	text := fmt.Sprintf("latency-%d", c.seq)
	c.seq++
	for _, m := range c.members {
		drainArrivals(m.arrivals)
	}
	t0 := time.Now()
	if err := c.members[sender].send(ctx, c.name, text); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n-1)
	for j, m := range c.members {
		at, err := waitArrival(ctx, m.arrivals, text)
		if err != nil {
			return nil, fmt.Errorf("node%d: %w", j, err)
		}
		if j != sender {
			lat = append(lat, at.Sub(t0))
		}
	}
	return lat, nil
}

// Burst sends m messages from all members in turn, each as soon as the
// previous Send returned, and returns the messages per second from the first
// Send until every member has stored all m.
func (c *ChatBenchRoom) Burst(ctx context.Context, m int) (float64, error) {
	n := len(c.members)
	tag := c.seq
	c.seq++
	start := time.Now()
	want := make(map[string]bool, m)
	for i := 0; i < m; i++ {
		text := fmt.Sprintf("burst-%d-%d", tag, i)
		want[text] = true
		if err := c.members[i%n].send(ctx, c.name, text); err != nil {
			return 0, err
		}
	}
	// Poll the stores: every member holds every message.
	err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, mb := range c.members {
			log, err := mb.log(ctx, c.name, start.Add(-time.Second))
			if err != nil {
				return false, err
			}
			have := 0
			for _, text := range log {
				if want[text] {
					have++
				}
			}
			if have < m {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	return float64(m) / time.Since(start).Seconds(), nil
}

func drainArrivals(ch <-chan arrival) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitArrival reads ch until text arrives and returns its time.
func waitArrival(ctx context.Context, ch <-chan arrival, text string) (time.Time, error) {
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%q not delivered: %w", text, ctx.Err())
		case a := <-ch:
			if a.text == text {
				return a.at, nil
			}
		}
	}
}

// Percentile returns the p-quantile (0..1) of ds, nearest rank (0 for none).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// rateRecord is one Rate run's bookkeeping: its texts and, per member and
// message, when the member's node emitted it (zero: not yet).
type rateRecord struct {
	index map[string]int
	got   [][]time.Time
}

// RateResult is what a Rate run measured: every delivery's
// publish-to-delivery latency (n-1 per message, including those that came
// late, within the grace period) and the deliveries still missing after it.
type RateResult struct {
	Latencies []time.Duration
	Missing   int
	// ByMember is, per member and message, the delivery's latency (0:
	// its own message, -1: missing).
	ByMember [][]time.Duration
	// Cores is this process's CPU time per second while the messages
	// were sent and awaited: the room's load when its nodes run in
	// process.
	Cores float64
	// GC is what the collector did meanwhile.
	GC GCWork
}

// Rate sends messages chat messages of size bytes at rate per second, from
// the members in turn (each Send on its own goroutine, so that a slow Send
// does not hold back the next), and times every other member's delivery
// (its node stored the message and emitted its chat.message event), from
// just before the Send. After the last Send it waits up to grace for the
// stragglers; what has not arrived then counts as missing. This is the
// measurement BareGossipSub makes on plain hosts.
func (c *ChatBenchRoom) Rate(ctx context.Context, messages int, rate float64, size int, grace time.Duration) (RateResult, error) {
	if messages < 1 || rate <= 0 || size < 16 {
		return RateResult{}, errors.New("bench: want messages >= 1, rate > 0, size >= 16")
	}
	n := len(c.members)
	tag := c.seq
	c.seq++
	texts := make([]string, messages)
	rec := &rateRecord{index: make(map[string]int, messages), got: make([][]time.Time, n)}
	for k := range texts {
		t := fmt.Sprintf("rate-%d-%d-", tag, k)
		texts[k] = t + strings.Repeat("x", max(0, size-len(t)))
		rec.index[texts[k]] = k
	}
	for i := range rec.got {
		rec.got[i] = make([]time.Time, messages)
	}
	c.recMu.Lock()
	c.rec = rec
	c.recMu.Unlock()
	defer func() {
		c.recMu.Lock()
		c.rec = nil
		c.recMu.Unlock()
	}()

	sent := make([]time.Time, messages)
	errs := make([]error, messages)
	var wg sync.WaitGroup
	release := gcHold()
	defer release()
	meter := startCPU()
	err := pace(ctx, messages, rate, func(k int) error {
		sent[k] = time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = c.members[k%n].send(ctx, c.name, texts[k])
		}()
		return nil
	})
	wg.Wait()
	if err := errors.Join(append(errs, err)...); err != nil {
		return RateResult{}, err
	}
	awaitDeliveries(ctx, grace, func() int {
		c.recMu.Lock()
		defer c.recMu.Unlock()
		return missingDeliveries(rec.got)
	})
	cores, gc := meter.cores(), meter.gcSince()
	if err := ctx.Err(); err != nil {
		return RateResult{}, err
	}
	c.recMu.Lock()
	defer c.recMu.Unlock()
	res := RateResult{Cores: cores, GC: gc}
	res.Latencies, res.ByMember, res.Missing = tallyDeliveries(rec.got, sent)
	return res, nil
}
