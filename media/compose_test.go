package media

import (
	"errors"
	"image"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// testColours are solid colours in BT.601 YUV: red, green, blue, yellow.
var testColours = [][3]byte{{81, 90, 240}, {145, 54, 34}, {41, 240, 110}, {210, 16, 146}}

// solidFrames encodes n frames of one solid colour at w×h.
func solidFrames(t testing.TB, w, h, n int, c [3]byte) [][]byte {
	t.Helper()
	enc, err := newVP8Encoder(w, h, 30, 500)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.close()
	var p picture
	p.resize(w, h)
	out := make([]byte, 256<<10)
	var frames [][]byte
	for i := range n {
		p.fill(c[0], c[1], c[2])
		// A little movement, so that inter frames carry something.
		for x := range 8 {
			p.Y[(i%h)*w+x] = 255
		}
		k, _, err := enc.encode(&p, i == 0, out)
		if err != nil {
			t.Fatal(err)
		}
		if k > 0 {
			frames = append(frames, append([]byte(nil), out[:k]...))
		}
	}
	return frames
}

func near(a, b byte, tol int) bool { d := int(a) - int(b); return d >= -tol && d <= tol }

// colourAt reports whether the picture has colour c around (x, y).
func colourAt(p *picture, x, y int, c [3]byte) bool {
	cw := (p.W + 1) / 2
	return near(p.Y[y*p.W+x], c[0], 24) && near(p.U[(y/2)*cw+x/2], c[1], 24) && near(p.V[(y/2)*cw+x/2], c[2], 24)
}

// TestVP8RoundTrip: a picture encoded with libvpx decodes to the same
// colour and size; garbage is an error, not a crash.
func TestVP8RoundTrip(t *testing.T) {
	frames := solidFrames(t, 320, 240, 3, testColours[0])
	dec, err := newVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	var p picture
	for _, f := range frames {
		ok, err := dec.decode(f, &p)
		if err != nil || !ok {
			t.Fatalf("decode: %v %v", ok, err)
		}
	}
	if p.W != 320 || p.H != 240 || !colourAt(&p, 160, 120, testColours[0]) {
		t.Fatalf("decoded %dx%d, centre YUV %d/%d/%d", p.W, p.H, p.Y[120*320+160], p.U[60*160+80], p.V[60*160+80])
	}
	if _, err := dec.decode([]byte{0x00, 0x01, 0x02, 0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0xff, 1, 2, 3}, &p); err == nil {
		t.Fatal("a broken keyframe decoded")
	}
	if _, err := newVP8Encoder(641, 360, 15, 600); err == nil {
		t.Fatal("an odd width was taken")
	}
}

// TestLayout: tiles stay inside the picture, do not overlap, and a
// featured tile is the largest.
func TestLayout(t *testing.T) {
	for n := 1; n <= 16; n++ {
		for _, feat := range []int{-1, 0, n - 1} {
			rs := layout(640, 360, n, feat)
			for i, r := range rs {
				if r.Empty() || !r.In(image.Rect(0, 0, 640, 360)) {
					t.Fatalf("n=%d feat=%d: tile %d is %v", n, feat, i, r)
				}
				for j := range i {
					if r.Overlaps(rs[j]) {
						t.Fatalf("n=%d feat=%d: tiles %d and %d overlap", n, feat, i, j)
					}
				}
				if feat >= 0 && n > 1 && i != feat && r.Dx()*r.Dy() >= rs[feat].Dx()*rs[feat].Dy() {
					t.Fatalf("n=%d: tile %d as large as the featured one", n, i)
				}
			}
		}
	}
}

// TestComposePicture: four inputs of distinct colours fed as VP8 frames
// come out of one composed, VP8-encoded picture each in its own tile; the
// receiver's own input is left out, a screen share takes the big tile.
func TestComposePicture(t *testing.T) {
	p := DefaultParams().Compose
	var keyReqs int
	c := &composeSession{p: p, inputs: map[trackKey]*videoIn{}, levels: map[peer.ID]*levelIn{}, outs: map[peer.ID]*composeOut{},
		labels: map[string]*image.Alpha{}, names: func(q peer.ID) string { return "member " + string(q) },
		keyReq: func(trackKey) { keyReqs++ }}
	origins := []peer.ID{"a", "b", "c", "d"}
	for i, o := range origins {
		id := kindVideo
		if i == 3 {
			id = trackScreen
		}
		for _, f := range solidFrames(t, 320, 240, 2, testColours[i]) {
			c.feedFrame(trackKey{origin: o, kind: kindVideo, id: id}, f)
		}
	}
	if _, err := c.output("r"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.output("a"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, o := range c.outs {
			o.enc.close()
		}
		for _, in := range c.inputs {
			in.dec.close()
		}
	}()
	dec, err := newVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	check := func(r peer.ID, want []int) {
		t.Helper()
		o := c.outs[r]
		ins := c.liveInputs(time.Now())
		var tiles []*videoIn
		for _, in := range ins {
			if in.key.origin != r {
				tiles = append(tiles, in)
			}
		}
		c.composeFor(o, tiles, "")
		var pic picture
		if ok, err := dec.decode(append([]byte(nil), lastFrame(t, o)...), &pic); err != nil || !ok {
			t.Fatalf("decode the composed frame: %v", err)
		}
		rects := layout(pic.W, pic.H, len(tiles), featured(tiles, ""))
		if len(tiles) != len(want) {
			t.Fatalf("%d tiles for %s, want %d", len(tiles), r, len(want))
		}
		for i, ci := range want {
			ctr := rects[i].Min.Add(rects[i].Max).Div(2)
			if !colourAt(&pic, ctr.X&^1, ctr.Y&^1, testColours[ci]) {
				t.Fatalf("for %s tile %d (%v) is not colour %d", r, i, rects[i], ci)
			}
		}
		if tiles[len(tiles)-1].key.id == trackScreen && rects[len(tiles)-1].Dx() < pic.W/2 {
			t.Fatalf("the screen share is not the big tile: %v", rects[len(tiles)-1])
		}
	}
	check("r", []int{0, 1, 2, 3})
	check("a", []int{1, 2, 3})
	if c.frames.Load() != 2 || c.costNS.Load() == 0 {
		t.Fatalf("frames %d cost %d", c.frames.Load(), c.costNS.Load())
	}
	// An inter frame before any keyframe is not decoded: a keyframe is
	// asked for instead.
	inter := solidFrames(t, 320, 240, 2, testColours[0])[1]
	c.feedFrame(trackKey{origin: "e", kind: kindVideo, id: kindVideo}, inter)
	if keyReqs != 1 || c.inputs[trackKey{origin: "e", kind: kindVideo, id: kindVideo}].seq != 0 {
		t.Fatalf("key requests %d", keyReqs)
	}
}

// lastFrame encodes nothing: it returns the frame composeFor just encoded
// for o (kept in o.out; its size is what the track was given).
func lastFrame(t *testing.T, o *composeOut) []byte {
	t.Helper()
	n := o.lastN
	if n == 0 {
		t.Fatal("no frame encoded")
	}
	return o.out[:n]
}

// A mixer whose CPU budget cannot take one more composed stream refuses
// it with its reason (in the member's stats), and the member keeps
// getting every publisher's video.
func TestComposeRefusedOverBudget(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	p := DefaultParams()
	p.Compose.Budget = 0.0001 // 0.1 ms of CPU a second: no frame fits
	nodes := newTestNodes(t, 3, func(int) Rooms { return rooms }, WithParams(p))
	var ids []peer.ID
	for _, n := range nodes {
		ids = append(ids, n.h.ID())
	}
	rooms.set(Topology{Star: true, Mixer: ids[0], Members: ids})
	if err := nodes[2].svc.SetMix("room1", true, true); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].svc.Publish("room1", PublishSpec{Video: "../testnet/testdata/test.ivf", Loop: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the mixer's refusal", func() bool { return nodes[2].svc.Stats("room1").VideoRefused != "" })
	st := nodes[2].svc.Stats("room1")
	if !strings.Contains(st.VideoRefused, "over this node's budget") || st.ComposedBy != "" {
		t.Fatalf("refused %q, composed by %q", st.VideoRefused, st.ComposedBy)
	}
	t.Logf("refused: %s", st.VideoRefused)
	waitFor(t, 30*time.Second, "the publisher's own video instead", func() bool {
		for _, s := range nodes[2].svc.Stats("room1").Streams {
			if s.Origin == ids[1].String() && s.ID == kindVideo && s.Frames > 30 {
				return true
			}
		}
		return false
	})
	if nodes[0].svc.Stats("room1").Compose != nil {
		t.Fatal("the mixer composes anyway")
	}
	// On a mesh nobody composes: the node says so before asking.
	rooms.set(Topology{Mixer: ids[0], Members: ids})
	if err := nodes[2].svc.SetMix("room1", true, true); !errors.Is(err, ErrMixNeedsStar) {
		t.Fatalf("mesh: %v", err)
	}
}

// A composition whose measured work stays above its budget for three
// seconds sheds its newest output, with the reason.
func TestComposeShedsOverBudget(t *testing.T) {
	p := DefaultParams().Compose
	var shed []peer.ID
	var why string
	c := &composeSession{p: p, outs: map[peer.ID]*composeOut{}, order: []peer.ID{"a", "b"},
		shed: func(r peer.ID, reason string) { shed, why = append(shed, r), reason }}
	for range 2 {
		c.loadNS.Store(uint64(time.Second))
		c.checkLoad()
	}
	c.loadNS.Store(uint64(time.Millisecond)) // a good second starts over
	c.checkLoad()
	for range 2 {
		c.loadNS.Store(uint64(time.Second))
		c.checkLoad()
	}
	if len(shed) != 0 {
		t.Fatalf("shed %v after two bad seconds", shed)
	}
	c.loadNS.Store(uint64(time.Second))
	c.checkLoad()
	if len(shed) != 1 || shed[0] != "b" || !strings.Contains(why, "over this node's budget of 750 ms") {
		t.Fatalf("shed %v: %q", shed, why)
	}
}

// Garbage from a publisher (random bytes, truncated frames, a keyframe
// claiming 16000x16000) is dropped: no crash, no picture, keyframes asked.
func TestComposeHostileFrames(t *testing.T) {
	keyReqs := 0
	c := &composeSession{p: DefaultParams().Compose, inputs: map[trackKey]*videoIn{}, keyReq: func(trackKey) { keyReqs++ }}
	key := trackKey{origin: "x", kind: kindVideo, id: kindVideo}
	rng := rand.New(rand.NewPCG(1, 2))
	huge := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x3e, 0x80, 0x3e, 0, 0, 0, 0}
	c.feedFrame(key, huge)
	for i := range 500 {
		b := make([]byte, rng.IntN(2000))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(b) > 10 {
			b[0] &^= 1 // claims to be a keyframe
			copy(b[3:], []byte{0x9d, 0x01, 0x2a})
		}
		c.feedFrame(key, b)
	}
	in := c.inputs[key]
	defer in.dec.close()
	if in.errs == 0 {
		t.Fatal("no errors counted")
	}
	t.Logf("%d errors, %d pictures, %d keyframe requests", in.errs, in.seq, keyReqs)
}
