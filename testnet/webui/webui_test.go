// Package webui_test drives the browser page of real daemons with real
// headless Chromium (fake camera, microphone and screen), inside a network
// namespace of its own (testnet.RunInIsolatedNetns).
package webui_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"

	"github.com/fluttershy/face2face/internal/testlock"
)

func TestMain(m *testing.M) {
	if code, ok := testnet.RunInIsolatedNetns(); ok {
		os.Exit(code)
	}
	// The pages' frame rates are measured: no other heavy test binary
	// runs meanwhile.
	testlock.Exclusive()
	dir, err := buildBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build f2f:", err)
		os.Exit(1)
	}
	code := testnet.CheckLeaks(m.Run())
	os.RemoveAll(dir)
	os.Exit(code)
}

// page is one browser tab on one daemon's page.
type page struct {
	t    *testing.T
	name string
	d    *daemon
	ctx  context.Context

	mu  sync.Mutex
	log []string // the page's console and exceptions
}

func (p *page) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.log) < 200 {
		p.log = append(p.log, fmt.Sprintf(format, args...))
	}
}

func (p *page) console() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

func openPage(t *testing.T, ctx context.Context, b *testnet.Browser, name string, d *daemon, room string) *page {
	t.Helper()
	tctx, cancel := b.NewTab()
	t.Cleanup(cancel)
	// Every call on the tab ends with the test's deadline.
	stop := context.AfterFunc(ctx, cancel)
	t.Cleanup(func() { stop() })
	u, err := loginURL(ctx, d, room)
	if err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, name: name, d: d, ctx: tctx}
	err = chromedp.Listen(tctx, func(ev any) {
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			p.logf("console.%s: %s", e.Type, strings.Join(parts, " "))
		case *cdpruntime.EventExceptionThrown:
			p.logf("exception: %s %s", e.ExceptionDetails.Text, func() string {
				if e.ExceptionDetails.Exception != nil {
					return e.ExceptionDetails.Exception.Description
				}
				return ""
			}())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("%s: open the page: %v", name, err)
	}
	return p
}

// eval evaluates a JavaScript expression in the page (promises awaited).
func eval[T any](p *page, expr string) (T, error) {
	return chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitTimeout bounds one wait for a condition in a page.
const waitTimeout = 30 * time.Second

// waitJS polls a JavaScript condition until it holds.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	var last error
	wctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	err := testnet.WaitFor(wctx, func() (bool, error) {
		ok, err := eval[bool](p, expr)
		last = err
		return err == nil && ok, nil
	})
	if err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText + '\n' + JSON.stringify(window.f2fCall && {ctx: f2fCall.audioCtx && f2fCall.audioCtx.state, levels: f2fCall.levels, tracks: f2fCall.tracks})`))
		p.t.Fatalf("%s: waiting for %s: %v (last evaluation: %v); the page says:\n%s\nits console:\n%s", p.name, what, err, last, text, p.console())
	}
}

func (p *page) click(sel string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("%s: click %s: %v", p.name, sel, err)
	}
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// tileInfo is one remote tile as the page shows it.
type tileInfo struct {
	Origin  string  `json:"origin"`
	Kind    string  `json:"kind"`
	Frames  int     `json:"frames"`
	Level   float64 `json:"level"`
	Stalled bool    `json:"stalled"`
}

const tilesJS = `Array.from(document.querySelectorAll('figure[data-tile=video], figure[data-tile=screen]')).map(f => {
  const v = f.querySelector('video');
  return {origin: f.dataset.origin, kind: f.dataset.tile, level: +f.dataset.level, stalled: f.dataset.stalled === '1',
    frames: v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0};
})`

// gridFramesJS is the frames the composed picture's tile has shown (0:
// none).
const gridFramesJS = `(() => { const v = document.querySelector('figure[data-tile=grid] video');
  return v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0; })()`

func (p *page) tiles() []tileInfo {
	p.t.Helper()
	v, err := eval[[]tileInfo](p, tilesJS)
	if err != nil {
		p.t.Fatalf("%s: tiles: %v", p.name, err)
	}
	return v
}

// framesOf sums the frames of each origin's camera tile.
func framesOf(ts []tileInfo) map[string]int {
	out := map[string]int{}
	for _, t := range ts {
		if t.Kind == "video" {
			out[t.Origin] = t.Frames
		}
	}
	return out
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startBrowser(t *testing.T, ctx context.Context) *testnet.Browser {
	t.Helper()
	b, err := testnet.StartBrowser(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestMeshOfThreePages: three daemons in a mesh room, each with its page
// joined to the call with the fake camera and microphone. Every page shows
// the two others' tiles, whose video advances and whose audio is not
// silent; muting one page silences it at the others.
func TestMeshOfThreePages(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	ds := startDaemons(t, ctx, 3)
	info := formRoom(t, ctx, ds, "call")
	dumpMediaOnFailure(t, ds, info.Key)
	b := startBrowser(t, ctx)
	var pages []*page
	for i, d := range ds {
		p := openPage(t, ctx, b, fmt.Sprintf("page%d", i), d, info.Key)
		p.waitJS("the join button", `!!document.querySelector('[data-testid=join-call]')`)
		p.click(`[data-testid=join-call]`)
		pages = append(pages, p)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.id
	}
	for i, p := range pages {
		var others []string
		for j, id := range ids {
			if j != i {
				others = append(others, fmt.Sprintf("%q", id))
			}
		}
		p.waitJS("two remote tiles with video", fmt.Sprintf(`(() => { const want = [%s];
			const ts = %s; return want.every(o => ts.some(t => t.origin === o && t.kind === 'video' && t.frames > 0)); })()`,
			strings.Join(others, ","), tilesJS))
	}
	// Frames advance at >= 10 a second, and the audio is heard.
	before := make([]map[string]int, len(pages))
	for i, p := range pages {
		before[i] = framesOf(p.tiles())
	}
	t0 := time.Now()
	for i, p := range pages {
		p.waitJS("audio from both others", `(() => { const ts = `+tilesJS+`; return ts.filter(t => t.kind === 'video' && t.level > 0.01).length >= 2; })()`)
		_ = i
	}
	// Let two seconds of video pass at least (a wait for the measure,
	// not for a condition).
	if d := time.Until(t0.Add(2 * time.Second)); d > 0 {
		time.Sleep(d)
	}
	secs := time.Since(t0).Seconds()
	for i, p := range pages {
		after := framesOf(p.tiles())
		for o, n := range after {
			fps := float64(n-before[i][o]) / secs
			t.Logf("%s: %s… %.1f frames/s", p.name, o[len(o)-6:], fps)
			if fps < 10 {
				t.Errorf("%s: video of %s advances at %.1f frames/s, want >= 10", p.name, o, fps)
			}
		}
	}
	pages[0].screenshot(filepath.Join(os.TempDir(), "f2f-mesh-page0.png"))
	// The receivers' keyframe requests reached each page's encoder (a new
	// stream's first packets make every receiving daemon ask for one).
	for _, p := range pages {
		p.waitJS("a keyframe request at the page's camera encoder", `(async () => { let n = 0;
			(await f2fCall.pc.getStats()).forEach(r => { if (r.type === 'outbound-rtp' && r.kind === 'video') n += r.pliCount || 0; });
			return n > 0; })()`)
	}

	// Mute page 0: its audio falls silent at the others.
	pages[0].click(`[data-testid=mute]`)
	for _, p := range pages[1:] {
		p.waitJS("page0's audio silent", fmt.Sprintf(`(() => { const t = (%s).find(t => t.origin === %q && t.kind === 'video');
			return !!t && t.level < 0.001; })()`, tilesJS, ids[0]))
	}

	// Page 1 shares its screen: a separate tile at the others.
	pages[1].click(`[data-testid=share-screen]`)
	for _, p := range []*page{pages[0], pages[2]} {
		p.waitJS("page1's screen tile with video", fmt.Sprintf(`(%s).some(t => t.origin === %q && t.kind === 'screen' && t.frames > 0)`, tilesJS, ids[1]))
	}
	pages[2].screenshot(filepath.Join(os.TempDir(), "f2f-mesh-screen.png"))
	pages[1].click(`[data-testid=stop-screen]`)
	// The stopped share leaves the others' pages; shared again, it comes
	// back on the same transceiver (the page's connection does not grow
	// with every track that came and went).
	screenTile := fmt.Sprintf(`(%s).some(t => t.origin === %q && t.kind === 'screen' && t.frames > 0)`, tilesJS, ids[1])
	pages[0].waitJS("page1's screen tile gone", "!"+screenTile)
	transceivers := `f2fCall.pc.getTransceivers().length`
	n0, err := eval[int](pages[0], transceivers)
	if err != nil {
		t.Fatal(err)
	}
	pages[1].click(`[data-testid=share-screen]`)
	pages[0].waitJS("page1's screen tile again", screenTile)
	if n, err := eval[int](pages[0], transceivers); err != nil || n != n0 {
		t.Fatalf("page0 has %d transceivers after the second share (%v), %d before", n, err, n0)
	}
	pages[1].click(`[data-testid=stop-screen]`)

	// A chat line typed in page 2 reaches the other pages and the log.
	line := "hello from the page of node 2"
	pages[2].click(`[data-testid=tab-chat]`)
	if err := chromedp.Do(pages[2].ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid=chat-input]`), line), chromedp.Click(chromedp.CSS(`[data-testid=chat-send]`))); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages[:2] {
		p.waitJS("the chat line", fmt.Sprintf(`document.querySelector('[data-testid=chat-log]').innerText.includes(%s)`, testnet.JSString(line)))
	}
	log, err := ds[0].Client.Log(ctx, info.Key, time.Time{}, 0)
	if err != nil || !slices.ContainsFunc(log, func(m api.ChatMessage) bool { return m.Text == line }) {
		t.Fatalf("node0's chat log has no %q: %v", line, err)
	}

	// A file shared from page 0 downloads intact in page 2.
	path := filepath.Join(t.TempDir(), "notes.bin")
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pages[0].click(`[data-testid=tab-files]`)
	if err := chromedp.Do(pages[0].ctx, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{path})); err != nil {
		t.Fatal(err)
	}
	pages[2].waitJS("the file link", `!!document.querySelector('[data-testid=file-link]')`)
	sum, err := eval[string](pages[2], `(async () => {
		const a = document.querySelector('[data-testid=file-link]');
		const r = await fetch(a.href);
		const d = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
		return Array.from(new Uint8Array(d)).map(b => b.toString(16).padStart(2, '0')).join('');
	})()`)
	want := sha256.Sum256(data)
	if err != nil || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("page2 downloaded sha256 %s (%v), want %x", sum, err, want)
	}

	// Page 0 puts a shared image on the stage: every page shows it.
	slide := filepath.Join(t.TempDir(), "slide.png")
	writePNG(t, slide, 320, 180)
	if err := chromedp.Do(pages[0].ctx, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{slide})); err != nil {
		t.Fatal(err)
	}
	pages[0].waitJS("slide.png in the file list", `Array.from(document.querySelectorAll('.filelist li')).some(li => li.innerText.includes('slide.png'))`)
	if _, err := eval[bool](pages[0], `(() => { Array.from(document.querySelectorAll('.filelist li')).find(li => li.innerText.includes('slide.png'))
		.querySelector('[data-testid=to-stage]').click(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		p.waitJS("the slide on the stage", `(() => { const i = document.querySelector('[data-testid=stage] img'); return !!i && i.complete && i.naturalWidth === 320; })()`)
	}
	pages[1].screenshot(filepath.Join(os.TempDir(), "f2f-mesh-stage.png"))
}

// writePNG writes a w x h picture of four coloured quarters.
func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cols := []color.RGBA{{220, 60, 40, 255}, {40, 160, 60, 255}, {40, 90, 200, 255}, {230, 200, 40, 255}}
	for y := range h {
		for x := range w {
			img.Set(x, y, cols[(2*y/h)*2+2*x/w])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestStarOfFiveSurvivesMixerKill: a star room of five, three members
// with a page in the call and two publishing files; the mixer (a file
// publisher, pinned) is killed mid-call. The election picks another;
// every page's tiles resume through it, and the page names it.
func TestStarOfFiveSurvivesMixerKill(t *testing.T) {
	ctx := testCtx(t, 5*time.Minute)
	ds := startDaemons(t, ctx, 5)
	info := formRoom(t, ctx, ds, "lecture")
	dumpMediaOnFailure(t, ds, info.Key)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.id
	}
	// A star whatever the count (four survivors would make a mesh), around
	// node 4 until it goes.
	if _, err := ds[0].Client.SetMixer(ctx, info.Key, api.MixerChangeRequest{Pin: ids[4], Topology: "star"}); err != nil {
		t.Fatal(err)
	}
	agreedMixer(t, ctx, ds, info.Key, func(m string) bool { return m == ids[4] })
	pub := testMedia(t)
	for _, i := range []int{3, 4} {
		if _, err := ds[i].Client.MediaPublish(ctx, info.Key, pub); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t, ctx)
	var pages []*page
	for i := range 3 {
		pg := openPage(t, ctx, b, fmt.Sprintf("page%d", i), ds[i], info.Key)
		pg.waitJS("the join button", `!!document.querySelector('[data-testid=join-call]')`)
		pg.click(`[data-testid=join-call]`)
		pages = append(pages, pg)
	}
	// advancing waits until a page shows every origin's video advancing
	// by 15 frames from now.
	advancing := func(pg *page, origins []string, what string) {
		t.Helper()
		start := framesOf(pg.tiles())
		var want []string
		for _, o := range origins {
			want = append(want, fmt.Sprintf("[%q, %d]", o, start[o]+15))
		}
		pg.waitJS(what, fmt.Sprintf(`(() => { const ts = %s; return [%s].every(([o, n]) => ts.some(t => t.origin === o && t.kind === 'video' && t.frames >= n)); })()`,
			tilesJS, strings.Join(want, ",")))
	}
	others := func(i int, n int) []string {
		var out []string
		for j := range n {
			if j != i {
				out = append(out, ids[j])
			}
		}
		return out
	}
	for i, pg := range pages {
		advancing(pg, others(i, 5), "every other member's video")
	}
	if st, err := ds[0].Client.MediaStats(ctx, info.Key); err != nil || st.Mode != "star" || st.Mixer != ids[4] {
		t.Fatalf("mode %s mixer %s, want a star around %s", st.Mode, st.Mixer, ids[4])
	}
	// Page 0 switches to low bandwidth: one composed picture from the
	// mixer, no video of its own per member, without rejoining.
	gridAdvancing := func(pg *page, what string) {
		t.Helper()
		n, err := eval[int](pg, gridFramesJS)
		if err != nil {
			t.Fatal(err)
		}
		pg.waitJS(what, fmt.Sprintf(`(%s) >= %d`, gridFramesJS, n+15))
	}
	pages[0].click(`[data-testid=low-bandwidth]`)
	pages[0].waitJS("the mixer's answer", `(document.querySelector('[data-testid=low-bandwidth-state]')?.innerText || '').includes('one composed picture')`)
	gridAdvancing(pages[0], "the composed picture")
	pages[0].waitJS("no video per member", `document.querySelectorAll('figure[data-tile=video] video').length === 0`)
	pages[0].screenshot(filepath.Join(os.TempDir(), "f2f-star-composed.png"))
	pages[0].click(`[data-testid=tab-network]`)
	pages[0].waitJS("the mixer in the graph", fmt.Sprintf(`document.querySelector('[data-testid=graph]')?.dataset.mixer === %q`, ids[4]))
	pages[0].screenshot(filepath.Join(os.TempDir(), "f2f-star-before.png"))

	// Kill the mixer's daemon (SIGKILL: no goodbye).
	ds[4].Kill()
	newMixer := agreedMixer(t, ctx, ds[:4], info.Key, func(m string) bool { return m != ids[4] })
	// The composed picture comes from the new mixer; the others keep
	// every member's video. (When page 0's own node is elected it is the
	// mixer: it gets every stream, and its page says so.)
	if newMixer == ids[0] {
		pages[0].waitJS("the page saying its node mixes now", `(document.querySelector('[data-testid=low-bandwidth-state]')?.innerText || '').includes('this node is the mixer')`)
		advancing(pages[0], others(0, 4), "every surviving member's video at the new mixer's page")
	} else {
		gridAdvancing(pages[0], "the composed picture after the failover")
	}
	for i, pg := range pages[1:] {
		advancing(pg, others(i+1, 4), "every surviving member's video after the failover")
	}
	// Back to all streams, again without rejoining.
	pages[0].click(`[data-testid=low-bandwidth]`)
	advancing(pages[0], others(0, 4), "every surviving member's video after low bandwidth")
	if st, err := ds[0].Client.MediaStats(ctx, info.Key); err != nil || st.Mode != "star" || st.Mixer != newMixer {
		t.Fatalf("after the kill: mode %s mixer %s, want a star around %s", st.Mode, st.Mixer, newMixer)
	}
	pages[0].waitJS("the new mixer in the graph", fmt.Sprintf(`document.querySelector('[data-testid=graph]')?.dataset.mixer === %q`, newMixer))
	pages[0].waitJS("the new mixer in the header", fmt.Sprintf(`document.querySelector('[data-testid=room-mixer]')?.dataset.mixer === %q`, newMixer))
	pages[0].screenshot(filepath.Join(os.TempDir(), "f2f-star-after.png"))
}

// TestPageBadInput: what a person gets wrong, or what goes wrong around
// the page: a mistyped room key and a wrong password are refused with the
// daemon's message; a blocked camera is said and the page still shows the
// others; a second tab takes the call over and the first says so (and can
// take it back); the daemon stopping is said, and the page reconnects,
// call included, when the daemon is back.
func TestPageBadInput(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	ds := startDaemons(t, ctx, 2)
	open := formRoom(t, ctx, ds, "open")
	secret, err := ds[1].Client.CreateRoom(ctx, "secret", "right horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds[0].Client.MediaPublish(ctx, open.Key, testMedia(t)); err != nil {
		t.Fatal(err)
	}
	id0 := ds[0].id
	b := startBrowser(t, ctx)

	// A mistyped key and a wrong password, from the start page.
	start := openPage(t, ctx, b, "start", ds[0], "")
	start.waitJS("the join form", `!!document.querySelector('[data-testid=join-form]')`)
	// The header says how the node is reachable (a loopback-only node:
	// AutoNAT has no verdict), the whole sentence in its tooltip.
	start.waitJS("the reachability chip", `(() => { const r = document.querySelector('[data-testid=reachability]');
		return !!r && r.innerText.includes('unknown') && r.title.includes('AutoNAT'); })()`)
	start.screenshot(filepath.Join(os.TempDir(), "f2f-start-reachability.png"))
	join := func(key, pw string) {
		t.Helper()
		if _, err := eval[bool](start, fmt.Sprintf(`(() => {
			const set = (sel, v) => { const i = document.querySelector(sel); i.value = v; i.dispatchEvent(new Event('input', {bubbles: true})); };
			set('[data-testid=join-form] input[name=key]', %s);
			set('[data-testid=join-form] input[name=password]', %s);
			return true; })()`, testnet.JSString(key), testnet.JSString(pw))); err != nil {
			t.Fatal(err)
		}
		start.click(`[data-testid=join-form] button`)
	}
	join("f2f1-not-a-room-key", "")
	start.waitJS("the bad key refused", `(document.querySelector('[data-testid=start-error]')?.innerText || '').includes('key')`)
	join(secret.Key, "wrong horse")
	start.waitJS("the wrong password refused", `(document.querySelector('[data-testid=start-error]')?.innerText || '').includes('password')`)

	// A blocked camera and microphone: said, and the others still shown.
	denied, err := testnet.StartBrowser(ctx, t.TempDir(), testnet.DenyMedia...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(denied.Close)
	p1 := openPage(t, ctx, denied, "page1", ds[1], open.Key)
	p1.waitJS("the join button", `!!document.querySelector('[data-testid=join-call]')`)
	p1.click(`[data-testid=join-call]`)
	p1.waitJS("the blocked camera said", `(document.querySelector('[data-testid=media-error]')?.innerText || '').includes('blocked')`)
	p1.waitJS("node0's tile", fmt.Sprintf(`(%s).some(t => t.origin === %q && t.frames > 10)`, tilesJS, id0))

	// A second tab of the same daemon takes the call over.
	p2 := openPage(t, ctx, denied, "page1-second-tab", ds[1], open.Key)
	p2.waitJS("the join button", `!!document.querySelector('[data-testid=join-call]')`)
	p2.click(`[data-testid=join-call]`)
	p2.waitJS("node0's tile in the second tab", fmt.Sprintf(`(%s).some(t => t.origin === %q && t.frames > 10)`, tilesJS, id0))
	p1.waitJS("the takeover said", `(document.querySelector('[data-testid=call-closed]')?.innerText || '').includes('another tab')`)
	p1.click(`[data-testid=take-back]`)
	p2.waitJS("the takeover said in the second tab", `(document.querySelector('[data-testid=call-closed]')?.innerText || '').includes('another tab')`)
	p1.waitJS("node0's tile back in the first tab", fmt.Sprintf(`(%s).some(t => t.origin === %q && t.frames > 10)`, tilesJS, id0))

	// The daemon stops: the page says so; it comes back on the same API
	// address: the page reconnects, and so does its call.
	if err := ds[1].Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	p1.waitJS("the daemon-down banner", `!!document.querySelector('[data-testid=daemon-down]')`)
	startDaemon(t, ctx, ds[1].Repo, "--api", ds[1].addr, "--bootstrap", ds[0].tcp)
	p1.waitJS("the banner gone", `!document.querySelector('[data-testid=daemon-down]')`)
	p1.waitJS("the call reconnected", `document.querySelector('[data-testid=controls]')?.dataset.state === 'connected'`)
	before := framesOf(p1.tiles())[id0]
	p1.waitJS("node0's video again", fmt.Sprintf(`(%s).some(t => t.origin === %q && t.frames > %d)`, tilesJS, id0, before+10))
}
