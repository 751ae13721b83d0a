package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

// BenchmarkAttack runs the two resource attacks of the security review
// against a real `f2f daemon` process and reports what they cost it:
//
//   - a fresh-author flood: 20,000 validly signed chat messages in 20 s,
//     each with a new author key, from one peer; reported: how many the
//     victim stored, its RSS growth (peak during the flood minus before),
//     and the latency of an honest member's messages (one every 250 ms)
//     to the victim;
//   - history amplification: 200 history requests in 10 s from a peer in
//     the room's topic; reported: full answers, bytes sent, RSS growth.
//
// go test -run '^$' -bench Attack -benchtime 1x ./internal/bench/
func BenchmarkAttack(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := b.TempDir()
	bin, err := testnet.BuildBinary(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := testnet.StartDaemon(ctx, bin, filepath.Join(dir, fmt.Sprintf("victim%d", time.Now().UnixNano())))
		if err != nil {
			b.Fatal(err)
		}
		res, err := attackOnce(ctx, b, p)
		_ = p.Stop(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%+v", res)
		b.ReportMetric(float64(res.floodStored), "flood-stored")
		b.ReportMetric(float64(res.floodRSS)/(1<<20), "flood-rss-MiB")
		b.ReportMetric(float64(res.honestP50.Microseconds())/1000, "honest-p50-ms")
		b.ReportMetric(float64(res.honestMax.Microseconds())/1000, "honest-max-ms")
		b.ReportMetric(float64(res.histFull), "history-full-answers")
		b.ReportMetric(float64(res.histBytes)/(1<<20), "history-out-MiB")
		b.ReportMetric(float64(res.histRSS)/(1<<20), "history-rss-MiB")
	}
}

type attackResult struct {
	floodSent, floodStored int
	floodRSS               int64
	honestP50, honestMax   time.Duration
	honestN                int
	histFull, histBytes    int
	histRSS                int64
}

func attackOnce(ctx context.Context, b *testing.B, p *testnet.Proc) (attackResult, error) {
	var res attackResult
	c := p.Client
	info, err := c.CreateRoom(ctx, "target", "")
	if err != nil {
		return res, err
	}
	id, err := c.ID(ctx)
	if err != nil {
		return res, err
	}
	victimID, err := peer.Decode(id.ID)
	if err != nil {
		return res, err
	}
	var addrs []ma.Multiaddr
	for _, a := range id.Addresses {
		if m, err := ma.NewMultiaddr(a); err == nil && strings.Contains(a, "/tcp/") {
			addrs = append(addrs, m)
		}
	}
	honest, err := testnet.StartNode(filepath.Join(b.TempDir(), "honest"), id.Addresses)
	if err != nil {
		return res, err
	}
	defer honest.Close()
	if _, err := honest.Rooms().Join(ctx, info.Key, ""); err != nil {
		return res, err
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		n, err := testnet.ConnectedMembers(ctx, honest, info.Key)
		return n == 1, err
	}); err != nil {
		return res, err
	}
	// History for the amplification: 1,400 messages of 4 KB (5.5 MiB).
	text := strings.Repeat("x", 4000)
	for i := range 1400 {
		if _, err := honest.Rooms().Send(ctx, info.Key, fmt.Sprintf("%d %s", i, text)); err != nil {
			return res, err
		}
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		rooms, err := c.Rooms(ctx)
		return err == nil && len(rooms) == 1 && rooms[0].Messages >= 1400, err
	}); err != nil {
		return res, err
	}

	// The rogue: its own host and GossipSub, in the chat topic.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		return res, err
	}
	defer h.Close()
	psCtx, psCancel := context.WithCancel(ctx)
	defer psCancel()
	ps, err := pubsub.NewGossipSub(psCtx, h, pubsub.WithFloodPublish(true),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithMessageIdFn(overlay.MessageID))
	if err != nil {
		return res, err
	}
	if err := h.Connect(ctx, peer.AddrInfo{ID: victimID, Addrs: addrs}); err != nil {
		return res, err
	}
	topic, err := ps.Join("f2f/" + info.Hash + "/chat")
	if err != nil {
		return res, err
	}
	defer topic.Close()
	sub, err := topic.Subscribe()
	if err != nil {
		return res, err
	}
	defer sub.Cancel()
	if err := testnet.WaitFor(ctx, func() (bool, error) { return slices.Contains(topic.ListPeers(), victimID), nil }); err != nil {
		return res, err
	}

	// The flood, with an honest member talking through it.
	before, err := ProcRSS(p.Cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	peak := before
	var (
		mu      sync.Mutex
		sent    = map[string]time.Time{}
		arrived = map[string]time.Time{}
	)
	evCtx, evCancel := context.WithCancel(ctx)
	defer evCancel()
	var wg sync.WaitGroup
	floodDone := make(chan struct{})
	defer func() {
		select {
		case <-floodDone:
		default:
			close(floodDone)
		}
		evCancel()
		wg.Wait()
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = c.Events(evCtx, func(ev api.Event) error {
			var m api.ChatMessage
			if ev.Type == api.EventChatMessage && ev.Decode(&m) == nil && strings.HasPrefix(m.Text, "honest ") {
				mu.Lock()
				arrived[m.Text] = time.Now()
				mu.Unlock()
			}
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-floodDone:
				return
			case <-tick.C:
			}
			t := fmt.Sprintf("honest %d", i)
			mu.Lock()
			sent[t] = time.Now()
			mu.Unlock()
			_, _ = honest.Rooms().Send(ctx, info.Key, t)
		}
	}()
	const total, window = 20000, 20 * time.Second
	start := time.Now()
	for i := range total {
		if d := time.Duration(i) * window / total; time.Since(start) < d {
			time.Sleep(d - time.Since(start))
		}
		sk, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			return res, err
		}
		env := &overlay.Envelope{Room: info.Hash, Seq: 1, Lamport: 1, Time: time.Now().UnixMilli(), Kind: overlay.KindChat,
			Body: []byte(fmt.Sprintf("flood %d", i))}
		if err := env.Sign(sk); err != nil {
			return res, err
		}
		raw, err := env.Marshal()
		if err != nil {
			return res, err
		}
		if topic.Publish(ctx, raw) == nil {
			res.floodSent++
		}
		if i%200 == 0 {
			if r, err := ProcRSS(p.Cmd.Process.Pid); err == nil {
				peak = max(peak, r)
			}
		}
	}
	close(floodDone)
	// Wait for the last honest message, then stop listening.
	_ = testnet.WaitFor(ctx, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) >= len(sent), nil
	})
	evCancel()
	res.floodRSS = peak - before
	var lat []time.Duration
	for t, at := range sent {
		if got, ok := arrived[t]; ok {
			lat = append(lat, got.Sub(at))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.honestN = len(lat)
	if len(lat) > 0 {
		res.honestP50, res.honestMax = lat[len(lat)/2], lat[len(lat)-1]
	}
	msgs, err := c.Log(ctx, info.Key, time.Time{}, 0)
	if err != nil {
		return res, err
	}
	for _, m := range msgs {
		if strings.HasPrefix(m.Text, "flood ") {
			res.floodStored++
		}
	}
	// History amplification (streams, not gossip: graylisting does not
	// stop them).
	before, err = ProcRSS(p.Cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	peak = before
	start = time.Now()
	for i := range 200 {
		if d := time.Duration(i) * 50 * time.Millisecond; time.Since(start) < d {
			time.Sleep(d - time.Since(start)) // the attacker's pace
		}
		n, size := testnet.AskHistory(ctx, h, victimID, info.Hash)
		if n >= 1400 {
			res.histFull++
		}
		res.histBytes += size
		if r, err := ProcRSS(p.Cmd.Process.Pid); err == nil {
			peak = max(peak, r)
		}
	}
	res.histRSS = peak - before

	return res, nil
}
