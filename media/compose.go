package media

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/sys/unix"
)

// Composed video: on the mixer of a star, every member that asks gets one
// VP8 stream (track "grid") with the other members' video in one picture
// instead of one track per publisher.
const (
	trackGrid = "grid"
	// maxComposeInputs is the most video streams drawn into a picture;
	// more are left out (and not decoded).
	maxComposeInputs = 16
	// maxComposeInputDim bounds an input picture's width and height.
	maxComposeInputDim = 2048
	// composeIdle: an input with no new frame for this long is left out.
	composeIdle = 2 * time.Second
	// Speaker detection: a member is the active speaker once it has been
	// the loudest (above speakerFloor) for speakerHold; after speakerQuiet
	// of silence the picture is a plain grid again.
	speakerHold  = 800 * time.Millisecond
	speakerQuiet = 3 * time.Second
	speakerFloor = 300.0 // mean absolute 16-bit sample
	// latencyKeep is how many composition latencies are kept for stats.
	latencyKeep = 1024
	// labelH is the height of the name bar under a tile.
	labelH = 16
)

// composeSession composes a room's video on the mixer. Inputs are fed from
// the receiving goroutines (each input decodes under its own mutex); one
// goroutine ticks at the output rate and composes and encodes one picture
// per output.
//
// Concurrency: mu (read-locked by feeds and the tick, write-locked to add
// or remove inputs and outputs) guards the maps; each input's and level's
// own mutex guards its state; spMu guards the speaker.
type composeSession struct {
	p      ComposeParams
	names  func(peer.ID) string
	keyReq func(trackKey)
	audio  AudioMixer
	self   peer.ID

	mu     sync.RWMutex
	inputs map[trackKey]*videoIn
	levels map[peer.ID]*levelIn
	outs   map[peer.ID]*composeOut
	order  []peer.ID // outputs in the order they were added

	spMu      sync.Mutex
	speaker   peer.ID
	cand      peer.ID
	candSince time.Time
	heard     time.Time

	labelMu sync.Mutex
	labels  map[string]*image.Alpha

	stopCh chan struct{}
	wg     sync.WaitGroup

	frames    atomic.Uint64 // output frames sent
	composeNS atomic.Uint64 // drawing
	encodeNS  atomic.Uint64
	decodeNS  atomic.Uint64
	decoded   atomic.Uint64
	// costNS is the recent cost of one output frame (compose and encode),
	// an exponential average.
	costNS atomic.Uint64
	// loadNS is the CPU time of the last second (decode, compose, encode;
	// the threads' CPU clocks).
	loadNS   atomic.Uint64
	overload int // seconds in a row above the budget (tick goroutine)
	shed     func(r peer.ID, reason string)

	latMu sync.Mutex
	lat   []time.Duration
	latI  int
}

// videoIn is one input stream, decoded as it arrives.
type videoIn struct {
	key        trackKey
	mu         sync.Mutex
	sb         *samplebuilder.SampleBuilder
	dec        *vp8Decoder
	pic        picture
	seq        uint64
	arrived    time.Time
	waitKey    bool
	lastKeyReq time.Time
	errs       uint64
}

// levelIn is one member's audio level, for the active speaker.
type levelIn struct {
	mu    sync.Mutex
	dec   OpusDecoder
	pcm   []int16
	level float64
	at    time.Time
}

// composeOut is one receiver's composed stream.
type composeOut struct {
	r        peer.ID
	enc      *vp8Encoder
	track    *webrtc.TrackLocalStaticSample
	canvas   picture
	out      []byte
	forceKey atomic.Bool
	lastN    int // the size of the last frame encoded into out
	seen     map[trackKey]uint64
	frames   atomic.Uint64
	bytes    atomic.Uint64
}

func newComposeSession(p ComposeParams, self peer.ID, audio AudioMixer, names func(peer.ID) string,
	keyReq func(trackKey), shed func(peer.ID, string)) *composeSession {
	c := &composeSession{p: p, self: self, audio: audio, names: names, keyReq: keyReq, shed: shed,
		inputs: map[trackKey]*videoIn{}, levels: map[peer.ID]*levelIn{}, outs: map[peer.ID]*composeOut{},
		labels: map[string]*image.Alpha{}, stopCh: make(chan struct{}), lat: make([]time.Duration, 0, latencyKeep)}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *composeSession) stop() {
	close(c.stopCh)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range c.inputs {
		in.mu.Lock()
		in.dec.close()
		in.mu.Unlock()
	}
	for _, l := range c.levels {
		l.mu.Lock()
		if l.dec != nil {
			l.dec.Close()
		}
		l.mu.Unlock()
	}
	for _, o := range c.outs {
		o.enc.close()
	}
	c.inputs, c.levels, c.outs, c.order = map[trackKey]*videoIn{}, map[peer.ID]*levelIn{}, map[peer.ID]*composeOut{}, nil
}

// output returns receiver r's composed track, creating its encoder.
func (c *composeSession) output(r peer.ID) (*webrtc.TrackLocalStaticSample, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.outs[r]; o != nil {
		return o.track, nil
	}
	enc, err := newVP8Encoder(c.p.Width, c.p.Height, c.p.FPS, c.p.Kbps)
	if err != nil {
		return nil, err
	}
	tr, err := webrtc.NewTrackLocalStaticSample(capVP8, trackGrid, c.self.String())
	if err != nil {
		enc.close()
		return nil, err
	}
	o := &composeOut{r: r, enc: enc, track: tr, out: make([]byte, 512<<10), seen: map[trackKey]uint64{}}
	o.canvas.resize(c.p.Width, c.p.Height)
	o.forceKey.Store(true)
	c.outs[r] = o
	c.order = append(c.order, r)
	return tr, nil
}

// keepOutputs drops the outputs of receivers not in keep. The service
// calls it on every reconcile: only a change takes the write lock (which
// waits for a tick to finish and holds up the inputs meanwhile).
func (c *composeSession) keepOutputs(keep map[peer.ID]bool) {
	c.mu.RLock()
	same := true
	for r := range c.outs {
		same = same && keep[r]
	}
	c.mu.RUnlock()
	if same {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for r, o := range c.outs {
		if !keep[r] {
			o.enc.close()
			delete(c.outs, r)
		}
	}
	c.order = slices.DeleteFunc(c.order, func(r peer.ID) bool { return c.outs[r] == nil })
}

// keyframe makes r's next frame a keyframe (its receiver lost the picture).
func (c *composeSession) keyframe(r peer.ID) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if o := c.outs[r]; o != nil {
		o.forceKey.Store(true)
	}
}

// dropInputs removes the inputs and levels whose origin is not in keep
// (the write lock only when there is one).
func (c *composeSession) dropInputs(keep map[trackKey]bool, speakers map[peer.ID]bool) {
	c.mu.RLock()
	same := true
	for k := range c.inputs {
		same = same && keep[k]
	}
	for p := range c.levels {
		same = same && speakers[p]
	}
	c.mu.RUnlock()
	if same {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, in := range c.inputs {
		if !keep[k] {
			in.mu.Lock()
			in.dec.close()
			in.mu.Unlock()
			delete(c.inputs, k)
		}
	}
	for p, l := range c.levels {
		if !speakers[p] {
			l.mu.Lock()
			if l.dec != nil {
				l.dec.Close()
				l.dec = nil
			}
			l.mu.Unlock()
			delete(c.levels, p)
		}
	}
}

// input returns the input of key, creating it (nil: too many).
func (c *composeSession) input(key trackKey) *videoIn {
	c.mu.RLock()
	in := c.inputs[key]
	c.mu.RUnlock()
	if in != nil {
		return in
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inputs[key]; in != nil {
		return in
	}
	if len(c.inputs) >= maxComposeInputs {
		return nil
	}
	dec, err := newVP8Decoder()
	if err != nil {
		return nil
	}
	in = &videoIn{key: key, dec: dec, sb: samplebuilder.New(64, &codecs.VP8Packet{}, 90000), waitKey: true}
	c.inputs[key] = in
	return in
}

// feedRTP takes one RTP packet of an input's VP8.
func (c *composeSession) feedRTP(key trackKey, pkt *rtp.Packet) {
	in := c.input(key)
	if in == nil {
		return
	}
	in.mu.Lock()
	if in.dec == nil || in.dec.c == nil {
		in.mu.Unlock()
		return
	}
	in.sb.Push(pkt)
	askKey := false
	for s := in.sb.Pop(); s != nil; s = in.sb.Pop() {
		if s.PrevDroppedPackets > 0 {
			in.waitKey = true // a frame was lost: the next inter frames would decode wrong
		}
		askKey = c.decodeLocked(in, s.Data) || askKey
	}
	in.mu.Unlock()
	if askKey {
		c.keyReq(key) // outside in.mu: it takes the service's lock
	}
}

// feedFrame takes one whole VP8 frame of an input (the mixer's own file).
func (c *composeSession) feedFrame(key trackKey, frame []byte) {
	in := c.input(key)
	if in == nil {
		return
	}
	in.mu.Lock()
	askKey := in.dec != nil && in.dec.c != nil && c.decodeLocked(in, frame)
	in.mu.Unlock()
	if askKey {
		c.keyReq(key)
	}
}

// decodeLocked decodes one frame of in and reports whether a keyframe
// should be asked for (call keyReq without in.mu held).
func (c *composeSession) decodeLocked(in *videoIn, frame []byte) bool {
	if len(frame) < 3 {
		return false
	}
	key := frame[0]&1 == 0
	if key && len(frame) >= 10 {
		// A keyframe's header has the picture's size: refuse huge ones
		// before libvpx allocates for them.
		w, h := int(frame[6])|int(frame[7]&0x3f)<<8, int(frame[8])|int(frame[9]&0x3f)<<8
		if w > maxComposeInputDim || h > maxComposeInputDim {
			in.errs++
			return false
		}
	}
	if in.waitKey && !key {
		if time.Since(in.lastKeyReq) > 500*time.Millisecond {
			in.lastKeyReq = time.Now()
			return true
		}
		return false
	}
	runtime.LockOSThread() // the thread's CPU clock measures the decode
	t0 := threadCPU()
	ok, err := in.dec.decode(frame, &in.pic)
	d := threadCPU() - t0
	runtime.UnlockOSThread()
	c.decodeNS.Add(uint64(d))
	c.loadNS.Add(uint64(d))
	if err != nil {
		in.errs++
		in.waitKey = true
		return false
	}
	in.waitKey = false
	if ok {
		in.seq++
		in.arrived = time.Now()
		c.decoded.Add(1)
	}
	return false
}

// feedAudio takes one Opus packet of a member, for its level.
func (c *composeSession) feedAudio(origin peer.ID, payload []byte) {
	c.mu.RLock()
	l := c.levels[origin]
	c.mu.RUnlock()
	if l == nil {
		c.mu.Lock()
		if l = c.levels[origin]; l == nil && len(c.levels) < 4*maxComposeInputs {
			l = &levelIn{pcm: make([]int16, 6*MixFrame)}
			if c.audio != nil && c.audio.Available() == nil {
				l.dec, _ = c.audio.NewDecoder()
			}
			c.levels[origin] = l
		}
		c.mu.Unlock()
		if l == nil {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dec == nil {
		return
	}
	n, err := l.dec.Decode(payload, l.pcm)
	if err != nil || n <= 0 {
		return
	}
	var sum float64
	for _, v := range l.pcm[:n] {
		sum += math.Abs(float64(v))
	}
	l.level = 0.8*l.level + 0.2*sum/float64(n)
	l.at = time.Now()
}

// pickSpeaker updates the active speaker from the members' levels.
func (c *composeSession) pickSpeaker(now time.Time) {
	var loud peer.ID
	best := speakerFloor
	for p, l := range c.levels {
		l.mu.Lock()
		lv, at := l.level, l.at
		l.mu.Unlock()
		if now.Sub(at) < time.Second && lv > best {
			loud, best = p, lv
		}
	}
	c.spMu.Lock()
	defer c.spMu.Unlock()
	if loud == "" {
		if now.Sub(c.heard) > speakerQuiet {
			c.speaker = ""
		}
		c.cand = ""
		return
	}
	c.heard = now
	if loud != c.cand {
		c.cand, c.candSince = loud, now
	}
	if c.speaker == "" || now.Sub(c.candSince) >= speakerHold {
		c.speaker = loud
	}
}

// activeSpeaker returns the member whose tile is drawn large ("" none).
func (c *composeSession) activeSpeaker() peer.ID {
	c.spMu.Lock()
	defer c.spMu.Unlock()
	return c.speaker
}

func (c *composeSession) run() {
	defer c.wg.Done()
	t := time.NewTicker(time.Second / time.Duration(c.p.FPS))
	defer t.Stop()
	n := 0
	for {
		select {
		case <-c.stopCh:
			return
		case now := <-t.C:
			c.tick(now)
			if n++; n%c.p.FPS == 0 {
				c.checkLoad()
			}
		}
	}
}

// checkLoad runs once a second: when the last seconds' work stayed above
// the budget, the newest output is shed.
func (c *composeSession) checkLoad() {
	load := time.Duration(c.loadNS.Swap(0))
	budget := time.Duration(c.p.Budget * float64(time.Second))
	if load <= budget {
		c.overload = 0
		return
	}
	if c.overload++; c.overload < 3 {
		return
	}
	c.overload = 0
	c.mu.RLock()
	var r peer.ID
	if len(c.order) > 0 {
		r = c.order[len(c.order)-1]
	}
	c.mu.RUnlock()
	if r != "" && c.shed != nil {
		c.shed(r, fmt.Sprintf("composing took %.0f ms of CPU a second, over this node's budget of %.0f ms", load.Seconds()*1000, budget.Seconds()*1000))
	}
}

// liveInputs are the inputs with a picture, in a stable order.
func (c *composeSession) liveInputs(now time.Time) []*videoIn {
	var out []*videoIn
	for _, in := range c.inputs {
		in.mu.Lock()
		ok := in.seq > 0 && now.Sub(in.arrived) < composeIdle
		in.mu.Unlock()
		if ok {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *videoIn) int {
		return cmp.Or(cmp.Compare(a.key.origin, b.key.origin), cmp.Compare(a.key.id, b.key.id))
	})
	return out
}

func (c *composeSession) tick(now time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.outs) == 0 {
		return
	}
	c.pickSpeaker(now)
	speaker := c.activeSpeaker()
	ins := c.liveInputs(now)
	for _, r := range c.order {
		o := c.outs[r]
		var tiles []*videoIn
		for _, in := range ins {
			if in.key.origin != r {
				tiles = append(tiles, in)
			}
		}
		c.composeFor(o, tiles, speaker)
	}
}

// featured picks the tile drawn large: a screen share, else the active
// speaker's camera; -1 for a plain grid.
func featured(tiles []*videoIn, speaker peer.ID) int {
	if len(tiles) < 2 {
		return -1
	}
	for i, in := range tiles {
		if in.key.id == trackScreen {
			return i
		}
	}
	for i, in := range tiles {
		if in.key.origin == speaker && in.key.id == kindVideo {
			return i
		}
	}
	return -1
}

// layout places n tiles in a w×h picture: with a featured tile, it takes
// the left three quarters and the others a column on the right; else a
// grid of about square proportions. Rectangles have even corners.
func layout(w, h, n, feat int) []image.Rectangle {
	even := func(v int) int { return v &^ 1 }
	out := make([]image.Rectangle, n)
	if n == 0 {
		return out
	}
	if feat >= 0 && n > 1 {
		fw := even(w * 3 / 4)
		out[feat] = image.Rect(0, 0, fw, h)
		k := 0
		for i := range n {
			if i == feat {
				continue
			}
			y0, y1 := even(h*k/(n-1)), even(h*(k+1)/(n-1))
			out[i] = image.Rect(fw, y0, w, y1)
			k++
		}
		return out
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	for i := range n {
		r, col := i/cols, i%cols
		out[i] = image.Rect(even(w*col/cols), even(h*r/rows), even(w*(col+1)/cols), even(h*(r+1)/rows))
	}
	return out
}

// composeFor draws and encodes one frame of o and sends it.
// Its costs are CPU time, on the thread's clock: a busy machine makes the
// work take longer, not cost more.
func (c *composeSession) composeFor(o *composeOut, tiles []*videoIn, speaker peer.ID) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	cv := &o.canvas
	cv.fill(16, 128, 128)
	rects := layout(cv.W, cv.H, len(tiles), featured(tiles, speaker))
	type fresh struct {
		key     trackKey
		seq     uint64
		arrived time.Time
	}
	var news []fresh
	for i, in := range tiles {
		in.mu.Lock()
		if in.pic.W > 0 {
			blit(cv, rects[i].Inset(1), &in.pic)
		}
		if in.seq > o.seen[in.key] {
			news = append(news, fresh{in.key, in.seq, in.arrived})
		}
		in.mu.Unlock()
		name := c.names(in.key.origin)
		if in.key.id == trackScreen {
			name += " (screen)"
		}
		c.drawLabel(cv, rects[i].Inset(1), name)
	}
	if len(tiles) == 0 {
		c.drawLabel(cv, image.Rect(0, 0, cv.W, cv.H/2+labelH), "waiting for video")
	}
	t1 := threadCPU()
	n, _, err := o.enc.encode(cv, o.forceKey.Swap(false), o.out)
	t2 := threadCPU()
	c.composeNS.Add(uint64(t1 - t0))
	c.encodeNS.Add(uint64(t2 - t1))
	cost := uint64(t2 - t0)
	c.loadNS.Add(cost)
	if old := c.costNS.Load(); old == 0 {
		c.costNS.Store(cost)
	} else {
		c.costNS.Store((old*7 + cost) / 8)
	}
	if err != nil || n == 0 {
		return
	}
	o.lastN = n
	_ = o.track.WriteSample(media.Sample{Data: append([]byte(nil), o.out[:n]...), Duration: time.Second / time.Duration(c.p.FPS)})
	sent := time.Now()
	o.frames.Add(1)
	o.bytes.Add(uint64(n))
	c.frames.Add(1)
	c.latMu.Lock()
	for _, f := range news {
		o.seen[f.key] = f.seq
		d := sent.Sub(f.arrived)
		if len(c.lat) < latencyKeep {
			c.lat = append(c.lat, d)
		} else {
			c.lat[c.latI] = d
			c.latI = (c.latI + 1) % latencyKeep
		}
	}
	c.latMu.Unlock()
}

// threadCPU is the calling thread's CPU time (callers lock their
// goroutine to the thread around what they measure).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// latencies returns the kept composition latencies: from an input frame
// decoded at the mixer to the first output frame showing it sent.
func (c *composeSession) latencies() []time.Duration {
	c.latMu.Lock()
	defer c.latMu.Unlock()
	return slices.Clone(c.lat)
}

// blit draws src scaled (nearest neighbour, aspect kept, centred) into
// the rectangle r of dst.
func blit(dst *picture, r image.Rectangle, src *picture) {
	rw, rh := r.Dx(), r.Dy()
	if rw < 2 || rh < 2 || src.W < 2 || src.H < 2 {
		return
	}
	// Fit src in r keeping its aspect ratio.
	w, h := rw, rw*src.H/src.W
	if h > rh {
		w, h = rh*src.W/src.H, rh
	}
	w, h = max(2, w&^1), max(2, h&^1)
	x0, y0 := (r.Min.X+(rw-w)/2)&^1, (r.Min.Y+(rh-h)/2)&^1
	for y := range h {
		sy := y * src.H / h
		drow := dst.Y[(y0+y)*dst.W+x0:]
		srow := src.Y[sy*src.W:]
		for x := range w {
			drow[x] = srow[x*src.W/w]
		}
	}
	scw, dcw := (src.W+1)/2, (dst.W+1)/2
	sch := (src.H + 1) / 2
	for y := range h / 2 {
		sy := min(y*2*src.H/h/2, sch-1)
		du := dst.U[(y0/2+y)*dcw+x0/2:]
		dv := dst.V[(y0/2+y)*dcw+x0/2:]
		su, sv := src.U[sy*scw:], src.V[sy*scw:]
		for x := range w / 2 {
			sx := min(x*2*src.W/w/2, scw-1)
			du[x], dv[x] = su[sx], sv[sx]
		}
	}
}

// drawLabel draws name in white on a dark bar along the bottom of r.
func (c *composeSession) drawLabel(dst *picture, r image.Rectangle, name string) {
	if r.Dx() < 16 || r.Dy() < labelH*2 {
		return
	}
	m := c.label(name, r.Dx()-8)
	y0 := r.Max.Y - labelH
	for y := y0; y < r.Max.Y; y++ {
		row := dst.Y[y*dst.W:]
		for x := r.Min.X; x < r.Max.X; x++ {
			row[x] = 16 + (row[x]-16)/3
		}
	}
	for y := y0 / 2; y < r.Max.Y/2; y++ {
		cw := (dst.W + 1) / 2
		for x := r.Min.X / 2; x < r.Max.X/2; x++ {
			i := y*cw + x
			dst.U[i] = 128 + byte(int8(dst.U[i]-128)/3)
			dst.V[i] = 128 + byte(int8(dst.V[i]-128)/3)
		}
	}
	b := m.Bounds()
	for y := range b.Dy() {
		dy := y0 + 1 + y
		if dy >= r.Max.Y {
			break
		}
		for x := range b.Dx() {
			if a := m.AlphaAt(x, y).A; a > 0 {
				i := dy*dst.W + r.Min.X + 4 + x
				dst.Y[i] = byte((int(dst.Y[i])*(255-int(a)) + 235*int(a)) / 255)
			}
		}
	}
}

// label returns name drawn as a mask at most width pixels wide (cached).
func (c *composeSession) label(name string, width int) *image.Alpha {
	key := fmt.Sprintf("%d/%s", width, name)
	c.labelMu.Lock()
	defer c.labelMu.Unlock()
	if m := c.labels[key]; m != nil {
		return m
	}
	face := basicfont.Face7x13
	rs := []rune(name)
	for len(rs) > 1 && font.MeasureString(face, string(rs)).Ceil() > width {
		rs = rs[:len(rs)-1]
	}
	name = string(rs)
	w := max(1, min(width, font.MeasureString(face, name).Ceil()))
	m := image.NewAlpha(image.Rect(0, 0, w, labelH-2))
	d := font.Drawer{Dst: m, Src: image.Opaque, Face: face, Dot: fixed.P(0, 11)}
	d.DrawString(name)
	if len(c.labels) > 256 {
		clear(c.labels)
	}
	c.labels[key] = m
	return m
}
