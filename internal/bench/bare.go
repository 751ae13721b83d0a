package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BareResult is what a bare GossipSub run measured: every delivery's
// publish-to-receive latency (n-1 per message) and the messages some host
// never received within the run's grace period.
type BareResult struct {
	Latencies []time.Duration
	Missing   int
	// Cores is the process's CPU time per second while the messages
	// were sent and awaited.
	Cores float64
	// GC is what the collector did meanwhile.
	GC GCWork
}

// BareGossipSub is the floor of the chat benchmark: n plain go-libp2p
// hosts on loopback (the library's default transports and security, no
// face2face code), connected all to all as a room's members end up, each
// subscribed to one GossipSub topic with the library's default parameters;
// messages messages of size bytes (at least 8) are published at rate per
// second, by the hosts in turn, and every other host's receive time is
// taken. It waits up to grace after the last publish for stragglers.
func BareGossipSub(ctx context.Context, n, messages int, rate float64, size int, grace time.Duration) (BareResult, error) {
	if n < 2 || messages < 1 || rate <= 0 || size < 8 {
		return BareResult{}, errors.New("bare gossipsub: want n >= 2, messages >= 1, rate > 0, size >= 8")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hosts, topics, subs, closeHosts, err := bareTopic(ctx, n)
	if err != nil {
		return BareResult{}, err
	}
	defer closeHosts()

	sent := make([]time.Time, messages)
	var mu sync.Mutex
	got := make([][]time.Time, n) // per host, per message: when it arrived
	warm := make([]bool, n)       // per host: a warm-up message arrived
	var wg sync.WaitGroup
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	for i, s := range subs {
		got[i] = make([]time.Time, messages)
		wg.Add(1)
		go func() {
			defer wg.Done()
			self := hosts[i].ID()
			for {
				m, err := s.Next(rctx)
				if err != nil {
					return
				}
				if m.ReceivedFrom == self || len(m.Data) < 8 {
					continue
				}
				at := time.Now()
				seq := binary.BigEndian.Uint64(m.Data)
				mu.Lock()
				if seq >= uint64(messages) {
					warm[i] = true
				} else if got[i][seq].IsZero() {
					got[i][seq] = at
				}
				mu.Unlock()
			}
		}()
	}
	// Warm up: a message from each host in turn, every 100 ms, until
	// every host has received one (the first messages after the
	// subscriptions are lost while GossipSub sets up its streams).
	for w := 0; ; w++ {
		mu.Lock()
		all := true
		for i := range warm {
			all = all && warm[i]
		}
		mu.Unlock()
		if all {
			break
		}
		body := make([]byte, size)
		binary.BigEndian.PutUint64(body, uint64(messages+w))
		if err := topics[w%n].Publish(ctx, body); err != nil {
			rcancel()
			wg.Wait()
			return BareResult{}, fmt.Errorf("bare gossipsub: publish: %w", err)
		}
		select {
		case <-ctx.Done():
			rcancel()
			wg.Wait()
			return BareResult{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	release := gcHold()
	defer release()
	meter := startCPU()
	err = pace(ctx, messages, rate, func(k int) error {
		body := make([]byte, size)
		binary.BigEndian.PutUint64(body, uint64(k))
		sent[k] = time.Now()
		if err := topics[k%n].Publish(ctx, body); err != nil {
			return fmt.Errorf("bare gossipsub: publish: %w", err)
		}
		return nil
	})
	if err != nil {
		rcancel()
		wg.Wait()
		return BareResult{}, err
	}
	// Stragglers: until every delivery arrived or grace passed.
	awaitDeliveries(ctx, grace, func() int {
		mu.Lock()
		defer mu.Unlock()
		return missingDeliveries(got)
	})
	cores, gc := meter.cores(), meter.gcSince()
	rcancel()
	wg.Wait()
	res := BareResult{Cores: cores, GC: gc}
	res.Latencies, _, res.Missing = tallyDeliveries(got, sent)
	return res, nil
}

// bareTopic starts the floor's n plain go-libp2p hosts on loopback (TCP
// and QUIC, the library's defaults), connects them all to all, subscribes
// each to one GossipSub topic with the library's default parameters and
// returns once every host sees every other in the topic. closeHosts stops
// them.
func bareTopic(ctx context.Context, n int) (_ []host.Host, _ []*pubsub.Topic, _ []*pubsub.Subscription, closeHosts func(), err error) {
	// The returns below set the named results, so the clean-up of a failed
	// set-up keeps its own hold of the hosts.
	hosts := make([]host.Host, 0, n)
	closeAll := func() {
		for _, h := range hosts {
			_ = h.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	for range n {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"), libp2p.DisableRelay())
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("bare gossipsub: host: %w", err)
		}
		hosts = append(hosts, h)
	}
	for i, a := range hosts {
		for _, b := range hosts[i+1:] {
			if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
				return nil, nil, nil, nil, fmt.Errorf("bare gossipsub: connect: %w", err)
			}
		}
	}
	topics := make([]*pubsub.Topic, n)
	subs := make([]*pubsub.Subscription, n)
	for i, h := range hosts {
		ps, err := pubsub.NewGossipSub(ctx, h)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("bare gossipsub: %w", err)
		}
		if topics[i], err = ps.Join("bench"); err != nil {
			return nil, nil, nil, nil, err
		}
		if subs[i], err = topics[i].Subscribe(); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	// The mesh is ready when every host sees every other in the topic.
	for {
		ready := true
		for _, t := range topics {
			if len(t.ListPeers()) < n-1 {
				ready = false
				break
			}
		}
		if ready {
			return hosts, topics, subs, closeAll, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, nil, nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// BareIdle is the floor of an idle room: n bare GossipSub hosts as
// BareGossipSub sets them up, with nothing published; it returns the cores
// this process used over d once the mesh formed.
func BareIdle(ctx context.Context, n int, d time.Duration) (float64, error) {
	if n < 2 {
		return 0, errors.New("bare gossipsub: want n >= 2")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, _, closeHosts, err := bareTopic(ctx, n)
	if err != nil {
		return 0, err
	}
	defer closeHosts()
	return idleCores(ctx, d)
}

// idleCores returns the cores this process uses over d.
func idleCores(ctx context.Context, d time.Duration) (float64, error) {
	meter := startCPU()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	return meter.cores(), nil
}
