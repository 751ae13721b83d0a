package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluttershy/face2face/testnet"
)

// BenchmarkNodeStart measures building and starting one node on an existing
// local-profile repo (datastore, host on TCP+QUIC, DHT, GossipSub, bitswap,
// API) and closing it again.
func BenchmarkNodeStart(b *testing.B) {
	repo := b.TempDir() + "/n"
	if err := testnet.EnsureRepo(repo); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		nd, err := testnet.StartNode(repo, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := nd.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNetworkForms measures how long 5 nodes in a star take from start
// until every DHT routing table holds every other node.
func BenchmarkNetworkForms(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		net, err := testnet.New(fmt.Sprintf("%s/%d", dir, i), 5)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = net.WaitFullRoutingTables(ctx)
		cancel()
		b.StopTimer()
		net.Close()
		b.StartTimer()
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkDaemonProcess starts the f2f binary as a daemon and reports the
// start-to-ready time and the idle RSS, as `f2f bench daemon` does.
func BenchmarkDaemonProcess(b *testing.B) {
	dir := b.TempDir()
	bin, err := testnet.BuildBinary(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := BenchDaemon(context.Background(), bin, dir, b.N, 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(Median(res.StartToReady).Microseconds())/1000, "ms-to-ready")
	b.ReportMetric(float64(Median(res.IdleRSS))/(1<<20), "MiB-idle-RSS")
}
