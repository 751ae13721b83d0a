package media

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// cameraFrames encodes n frames of a moving pattern at w×h, 30 fps, as a
// camera would send them (about 500 kbit/s): the inputs of the
// composition benchmarks.
func cameraFrames(w, h, n, seed int) ([][]byte, error) {
	enc, err := newVP8Encoder(w, h, 30, 500)
	if err != nil {
		return nil, err
	}
	defer enc.close()
	var p picture
	p.resize(w, h)
	out := make([]byte, 512<<10)
	var frames [][]byte
	for i := range n {
		for y := range h {
			for x := range w {
				p.Y[y*w+x] = byte((x+2*i+seed*40)^(y-i)) | byte((x*y+seed)>>9)
			}
		}
		for j := range p.U {
			p.U[j], p.V[j] = byte(j/w+seed*50+i), byte(200-j/w-seed*30)
		}
		k, _, err := enc.encode(&p, i == 0, out)
		if err != nil {
			return nil, err
		}
		if k > 0 {
			frames = append(frames, append([]byte(nil), out[:k]...))
		}
	}
	return frames, nil
}

// CompositionCost is what MeasureComposition measured for one count of
// inputs at the default size and rate (640x360, 15 fps).
type CompositionCost struct {
	Inputs int
	// Decode is the CPU time to decode every input's frames of one
	// output frame (inputs at 30 fps: two frames each), shared by all
	// outputs; Frame is the time to compose and encode one output frame.
	Decode, Frame time.Duration
	// OutputsPerCore is how many outputs one core sustains:
	// (1 s / fps - Decode) / Frame.
	OutputsPerCore float64
	// LatencyP50 and LatencyP99: from an input frame decoded to the first
	// output frame showing it sent, in a running composition with one
	// output and the inputs fed at 30 fps.
	LatencyP50, LatencyP99 time.Duration
}

// MeasureComposition measures the composition's cost for inputs inputs of
// 640x360 VP8 at 30 fps: frames output frames one after the other for the
// cost, then a running composition for d for the latency.
func MeasureComposition(inputs, frames int, d time.Duration) (CompositionCost, error) {
	if inputs < 1 || inputs > maxComposeInputs || frames < 1 || d <= 0 {
		return CompositionCost{}, fmt.Errorf("measure composition: want 1 to %d inputs, frames and a duration", maxComposeInputs)
	}
	p := DefaultParams().Compose
	res := CompositionCost{Inputs: inputs}
	streams := make([][][]byte, inputs)
	keys := make([]trackKey, inputs)
	for i := range inputs {
		fs, err := cameraFrames(640, 360, 60, i)
		if err != nil {
			return res, err
		}
		streams[i] = fs
		keys[i] = trackKey{origin: peer.ID(rune('a' + i)), kind: kindVideo, id: kindVideo}
	}
	names := func(q peer.ID) string { return "member " + string(q) }

	// The cost, one output frame after the other.
	c := &composeSession{p: p, inputs: map[trackKey]*videoIn{}, levels: map[peer.ID]*levelIn{}, outs: map[peer.ID]*composeOut{},
		labels: map[string]*image.Alpha{}, names: names, keyReq: func(trackKey) {}}
	if _, err := c.output("r"); err != nil {
		return res, err
	}
	o := c.outs["r"]
	defer func() {
		o.enc.close()
		for _, in := range c.inputs {
			in.dec.close()
		}
	}()
	next := 0
	feed := func() {
		for i, k := range keys {
			c.feedFrame(k, streams[i][next%len(streams[i])])
		}
		next++
	}
	feed()
	tiles := c.liveInputs(time.Now())
	if len(tiles) != inputs {
		return res, errors.New("measure composition: the inputs did not decode")
	}
	// CPU time, on this thread's clock.
	runtime.LockOSThread()
	var decode, work time.Duration
	for range frames {
		t0 := threadCPU()
		feed()
		feed()
		t1 := threadCPU()
		c.composeFor(o, tiles, "")
		decode += t1 - t0
		work += threadCPU() - t1
	}
	runtime.UnlockOSThread()
	res.Decode, res.Frame = decode/time.Duration(frames), work/time.Duration(frames)
	res.OutputsPerCore = (float64(time.Second)/float64(p.FPS) - float64(res.Decode)) / float64(res.Frame)

	// The latency, in a running composition.
	lat, err := compositionLatency(p, streams, names, d)
	if err != nil {
		return res, err
	}
	res.LatencyP50, res.LatencyP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return res, nil
}

// compositionLatency runs a composition as the mixer does (its own
// ticker) with the streams fed at about 30 fps from their own goroutines
// and one output, for d, and returns the sorted latencies.
func compositionLatency(p ComposeParams, streams [][][]byte, names func(peer.ID) string, d time.Duration) ([]time.Duration, error) {
	c := newComposeSession(p, "mixer", nil, names, func(trackKey) {}, nil)
	defer c.stop()
	if _, err := c.output("r"); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	done := make(chan struct{}, len(streams))
	for i := range streams {
		go func() {
			defer func() { done <- struct{}{} }()
			key := trackKey{origin: peer.ID(rune('a' + i)), kind: kindVideo, id: kindVideo}
			// Cameras' clocks differ: 29.4 to 30.6 fps, so that their
			// frames fall at every phase of the output's ticks.
			fps := 29.4 + 1.2*float64(i)/float64(max(1, len(streams)-1))
			t := time.NewTicker(time.Duration(float64(time.Second) / fps))
			defer t.Stop()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				c.feedFrame(key, streams[i][k%len(streams[i])])
			}
		}()
	}
	time.Sleep(d) // the measurement's length, not a synchronisation
	close(stop)
	for range streams {
		<-done
	}
	lat := c.latencies()
	if len(lat) == 0 {
		return nil, errors.New("measure composition: no frame composed")
	}
	slices.Sort(lat)
	return lat, nil
}
