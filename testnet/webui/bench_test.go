package webui_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fluttershy/face2face/internal/bench"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

// clockSourceJS replaces the page's camera with a canvas that paints the
// wall clock (Date.now(), the low 30 bits) as 30 black or white blocks,
// and its microphone with a quiet tone, before the call starts.
const clockSourceJS = `(() => {
  const c = document.createElement('canvas'); c.width = 640; c.height = 360;
  const g = c.getContext('2d');
  const paint = () => {
    const t = Date.now();
    g.fillStyle = '#808080'; g.fillRect(0, 0, 640, 360);
    for (let i = 0; i < 30; i++) {
      g.fillStyle = (t >> i) & 1 ? '#fff' : '#000';
      g.fillRect((i % 10) * 64, Math.floor(i / 10) * 64, 64, 64);
    }
    requestAnimationFrame(paint);
  };
  paint();
  const v = c.captureStream(30);
  const ac = new AudioContext(); const o = ac.createOscillator(); const d = ac.createMediaStreamDestination();
  o.connect(d); o.start();
  navigator.mediaDevices.getUserMedia = async () => new MediaStream([v.getVideoTracks()[0], d.stream.getAudioTracks()[0]]);
  return true;
})()`

// clockReaderJS starts reading the clock back from the tile of origin at
// every rendered frame (requestVideoFrameCallback) into window.f2fLat.
const clockReaderJS = `((origin) => {
  window.f2fLat = [];
  const c = document.createElement('canvas'); c.width = 640; c.height = 360;
  const g = c.getContext('2d', { willReadFrequently: true });
  const hook = () => {
    const v = document.querySelector('figure[data-tile=video][data-origin="' + origin + '"] video');
    if (!v || !v.requestVideoFrameCallback) { setTimeout(hook, 100); return; }
    const onFrame = (now, meta) => {
      const seen = Date.now();
      g.drawImage(v, 0, 0, 640, 360);
      let t = 0;
      for (let i = 0; i < 30; i++) {
        const p = g.getImageData((i % 10) * 64 + 32, Math.floor(i / 10) * 64 + 32, 1, 1).data;
        if (p[0] > 128) t |= 1 << i;
      }
      const lat = ((seen & 0x3fffffff) - t + 0x40000000) % 0x40000000;
      if (lat < 10000) window.f2fLat.push(lat);
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  };
  hook();
  return true;
})`

// BenchmarkGlassToGlass measures the time from one page's capture (the
// clock painted on its canvas) to another page's rendered frame, through
// two daemons (mesh) or three (star: the third is the mixer, without a
// page), on loopback. Reports p50/p95 in ms, and the daemons' CPU per
// browser participant.
func BenchmarkGlassToGlass(b *testing.B) {
	for _, mode := range []string{"mesh", "star"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				benchGlass(b, mode)
			}
		})
	}
}

func benchGlass(b *testing.B, mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := 2
	if mode == "star" {
		n = 3
	}
	net, err := testnet.New(b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	info, err := testnet.FormRoom(ctx, net.Nodes, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if mode == "star" {
		mixer := net.Nodes[2].Host().ID().String()
		if _, err := net.Nodes[0].Rooms().SetMixer(ctx, info.Key, overlay.MixerChangeRequest{Pin: mixer, Topology: "star"}); err != nil {
			b.Fatal(err)
		}
		if err := testnet.WaitFor(ctx, func() (bool, error) {
			m, _, err := testnet.AgreedMixer(ctx, net.Nodes, info.Key)
			return m.String() == mixer, err
		}); err != nil {
			b.Fatal(err)
		}
	}
	br, err := testnet.StartBrowser(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	var pages []*page
	for i := range 2 {
		p := benchPage(b, ctx, br, fmt.Sprintf("page%d", i), net.Nodes[i], info.Key)
		pages = append(pages, p)
	}
	src := net.Nodes[0].Host().ID().String()
	if _, err := eval[bool](pages[1], clockReaderJS+fmt.Sprintf("(%q)", src)); err != nil {
		b.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		n, err := eval[int](pages[1], `window.f2fLat.length`)
		return n > 30, err
	}); err != nil {
		b.Fatal(err)
	}
	// Measure 10 s.
	if _, err := eval[bool](pages[1], `(window.f2fLat = [], true)`); err != nil {
		b.Fatal(err)
	}
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(10 * time.Second)
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	lat, err := eval[[]float64](pages[1], `window.f2fLat.slice().sort((a, b) => a - b)`)
	if err != nil || len(lat) < 50 {
		b.Fatalf("%d samples: %v", len(lat), err)
	}
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*95/100], "p95-ms")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "frames/s")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/2, "daemon-cpu%/participant")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/float64(n)/(1<<20), "heap-MiB/daemon")
}

func benchPage(b *testing.B, ctx context.Context, br *testnet.Browser, name string, nd *node.Node, room string) *page {
	tctx, cancel := br.NewTab()
	b.Cleanup(cancel)
	u, err := testnet.LoginURL(ctx, nd, room)
	if err != nil {
		b.Fatal(err)
	}
	p := &page{name: name, nd: nd, ctx: tctx}
	if err := chromedp.Do(tctx, chromedp.Navigate(u)); err != nil {
		b.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		ok, err := eval[bool](p, `!!document.querySelector('[data-testid=join-call]')`)
		return ok && err == nil, nil
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := eval[bool](p, clockSourceJS); err != nil {
		b.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`[data-testid=join-call]`))); err != nil {
		b.Fatal(err)
	}
	return p
}

// cpuTime is this process's user+system CPU time (the in-process daemons;
// Chromium is other processes).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPageDaemonCost: two `f2f daemon` processes (the static build)
// in a mesh room, each with one page in the call (Chromium's fake camera
// and microphone): each daemon's CPU and RSS before its page joins and
// during the call, that is what one browser participant costs its daemon
// in a room of two.
func BenchmarkPageDaemonCost(b *testing.B) {
	for range b.N {
		benchPageCost(b)
	}
}

func benchPageCost(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := b.TempDir()
	bin, err := testnet.BuildBinary(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	var procs []*testnet.Proc
	for i := range 2 {
		var args []string
		if i > 0 {
			id, err := procs[0].Client.ID(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var boot string
			for _, a := range id.Addresses {
				if strings.Contains(a, "/tcp/") {
					boot = a
				}
			}
			args = append(args, "--bootstrap", boot)
		}
		p, err := testnet.StartDaemon(ctx, bin, filepath.Join(dir, fmt.Sprintf("node%d", i)), args...)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = p.Stop(10 * time.Second) }()
		procs = append(procs, p)
	}
	room, err := procs[0].Client.CreateRoom(ctx, "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := procs[1].Client.JoinRoom(ctx, room.Key, ""); err != nil {
		b.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		ms, err := procs[0].Client.RoomPeers(ctx, room.Key)
		return err == nil && len(ms) == 1 && ms[0].Connected, nil
	}); err != nil {
		b.Fatal(err)
	}
	sample := func(d time.Duration) (cpu []float64, rss []float64) {
		var c0 []time.Duration
		for _, p := range procs {
			c, _ := bench.ProcCPU(p.Cmd.Process.Pid)
			c0 = append(c0, c)
		}
		t0 := time.Now()
		time.Sleep(d) // the measuring window
		for i, p := range procs {
			c, _ := bench.ProcCPU(p.Cmd.Process.Pid)
			r, _ := bench.ProcRSS(p.Cmd.Process.Pid)
			cpu = append(cpu, 100*(c-c0[i]).Seconds()/time.Since(t0).Seconds())
			rss = append(rss, float64(r)/(1<<20))
		}
		return cpu, rss
	}
	idleCPU, idleRSS := sample(5 * time.Second)
	br, err := testnet.StartBrowser(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	var pages []*page
	for i, p := range procs {
		tctx, cancel := br.NewTab()
		defer cancel()
		lc, err := p.Client.LoginCode(ctx)
		if err != nil {
			b.Fatal(err)
		}
		pg := &page{name: fmt.Sprintf("page%d", i), ctx: tctx}
		if err := chromedp.Do(tctx, chromedp.Navigate(lc.URL+"#room="+room.Key)); err != nil {
			b.Fatal(err)
		}
		if err := testnet.WaitFor(ctx, func() (bool, error) {
			ok, err := eval[bool](pg, `!!document.querySelector('[data-testid=join-call]')`)
			return ok && err == nil, nil
		}); err != nil {
			b.Fatal(err)
		}
		if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`[data-testid=join-call]`))); err != nil {
			b.Fatal(err)
		}
		pages = append(pages, pg)
	}
	for _, pg := range pages {
		if err := testnet.WaitFor(ctx, func() (bool, error) {
			n, err := eval[int](pg, `Array.from(document.querySelectorAll('figure[data-tile=video] video')).filter(v => v.getVideoPlaybackQuality().totalVideoFrames > 30).length`)
			return n == 1 && err == nil, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	callCPU, callRSS := sample(10 * time.Second)
	avg := func(v []float64) float64 { return (v[0] + v[1]) / 2 }
	b.ReportMetric(avg(idleCPU), "idle-cpu%")
	b.ReportMetric(avg(idleRSS), "idle-RSS-MiB")
	b.ReportMetric(avg(callCPU), "call-cpu%")
	b.ReportMetric(avg(callRSS), "call-RSS-MiB")
	b.ReportMetric(avg(callRSS)-avg(idleRSS), "RSS-MiB/participant")
	b.ReportMetric(avg(callCPU)-avg(idleCPU), "cpu%/participant")
}
