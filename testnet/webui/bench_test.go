package webui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/bench"
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
	ds := startDaemons(b, ctx, n)
	room := formRoom(b, ctx, ds, "bench")
	if mode == "star" {
		if _, err := ds[0].Client.SetMixer(ctx, room.Key, api.MixerChangeRequest{Pin: ds[2].id, Topology: "star"}); err != nil {
			b.Fatal(err)
		}
		agreedMixer(b, ctx, ds, room.Key, func(m string) bool { return m == ds[2].id })
	}
	br, err := testnet.StartBrowser(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	var pages []*page
	for i := range 2 {
		pages = append(pages, benchPage(b, ctx, br, fmt.Sprintf("page%d", i), ds[i], room.Key))
	}
	if _, err := eval[bool](pages[1], clockReaderJS+fmt.Sprintf("(%q)", ds[0].id)); err != nil {
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
	var cpu0 time.Duration
	for _, d := range ds {
		c, _ := bench.ProcCPU(d.Cmd.Process.Pid)
		cpu0 += c
	}
	wall0 := time.Now()
	time.Sleep(10 * time.Second) // the measuring window
	var cpu time.Duration
	var rss int64
	for _, d := range ds {
		c, _ := bench.ProcCPU(d.Cmd.Process.Pid)
		r, _ := bench.ProcRSS(d.Cmd.Process.Pid)
		cpu += c
		rss += r
	}
	cpu -= cpu0
	wall := time.Since(wall0)
	lat, err := eval[[]float64](pages[1], `window.f2fLat.slice().sort((a, b) => a - b)`)
	if err != nil || len(lat) < 50 {
		b.Fatalf("%d samples: %v", len(lat), err)
	}
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*95/100], "p95-ms")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "frames/s")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/2, "daemons-cpu%/participant")
	b.ReportMetric(float64(rss)/float64(n)/(1<<20), "RSS-MiB/daemon")
}

func benchPage(b *testing.B, ctx context.Context, br *testnet.Browser, name string, d *daemon, room string) *page {
	tctx, cancel := br.NewTab()
	b.Cleanup(cancel)
	u, err := loginURL(ctx, d, room)
	if err != nil {
		b.Fatal(err)
	}
	p := &page{name: name, d: d, ctx: tctx}
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

// BenchmarkPageDaemonCost: two `f2f daemon` processes (the build of `make build`)
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
	ds := startDaemons(b, ctx, 2)
	procs := []*testnet.Proc{ds[0].Proc, ds[1].Proc}
	room := formRoom(b, ctx, ds, "bench")
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
