package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// PublishSpec names the files to send.
type PublishSpec struct {
	// Video is a VP8 IVF file (optional if Audio is set).
	Video string `json:"video,omitempty"`
	// Audio is an Ogg Opus file (optional if Video is set).
	Audio string `json:"audio,omitempty"`
	// Loop restarts the files at their end instead of stopping.
	Loop bool `json:"loop,omitempty"`
}

// MaxMediaFile is the largest file accepted for publishing (it is read into
// memory once, so that looping never touches the disk again).
const MaxMediaFile = 256 << 20

// Errors for bad media files.
var (
	ErrNoMediaFiles = errors.New("give --video and/or --audio")
	ErrBadMedia     = errors.New("unsupported media file")
)

// publisher sends a video and/or audio file at their real pace to local
// tracks that the sending edges carry.
type publisher struct {
	s       *Service
	spec    PublishSpec
	video   *webrtc.TrackLocalStaticSample
	audio   *webrtc.TrackLocalStaticSample
	vframes []ivfFrame
	apkts   [][]byte

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	videoFrames  atomic.Uint64
	audioPackets atomic.Uint64
	started      time.Time
	done         atomic.Bool
	tap          atomic.Pointer[func([]byte)]
	vtap         atomic.Pointer[func([]byte)]
}

func readMediaFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMediaFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMediaFile {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxMediaFile>>20)
	}
	return b, nil
}

// openPublisher reads and checks the files.
func openPublisher(s *Service, hash string, spec PublishSpec) (*publisher, error) {
	if spec.Video == "" && spec.Audio == "" {
		return nil, ErrNoMediaFiles
	}
	p := &publisher{s: s, spec: spec}
	if spec.Video != "" {
		b, err := readMediaFile(spec.Video)
		if err != nil {
			return nil, fmt.Errorf("video: %w", err)
		}
		fourcc, frames, err := ivfFrames(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadMedia, spec.Video, err)
		}
		if fourcc != "VP80" {
			return nil, fmt.Errorf("%w: %s is %q, only VP8 (VP80) IVF is supported", ErrBadMedia, spec.Video, fourcc)
		}
		p.vframes = frames
		p.video, err = webrtc.NewTrackLocalStaticSample(capVP8, kindVideo, s.self.String())
		if err != nil {
			return nil, err
		}
	}
	if spec.Audio != "" {
		b, err := readMediaFile(spec.Audio)
		if err != nil {
			return nil, fmt.Errorf("audio: %w", err)
		}
		ch, pkts, err := oggPackets(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadMedia, spec.Audio, err)
		}
		if ch == 0 || ch > 2 {
			return nil, fmt.Errorf("%w: %s has %d channels (1 or 2 supported)", ErrBadMedia, spec.Audio, ch)
		}
		if len(pkts) == 0 {
			return nil, fmt.Errorf("%w: %s has no Opus packets", ErrBadMedia, spec.Audio)
		}
		for _, pk := range pkts {
			if _, err := opusDuration(pk); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrBadMedia, spec.Audio, err)
			}
		}
		p.apkts = pkts
		p.audio, err = webrtc.NewTrackLocalStaticSample(capOpus, kindAudio, s.self.String())
		if err != nil {
			return nil, err
		}
	}
	p.ctx, p.cancel = context.WithCancel(s.ctx)
	return p, nil
}

// sendTracks returns the tracks to put on sending edges (nil publisher:
// none).
func (p *publisher) sendTracks() []sendTrack {
	if p == nil || p.done.Load() {
		return nil
	}
	var out []sendTrack
	if p.video != nil {
		out = append(out, sendTrack{key: trackKey{origin: p.s.self, kind: kindVideo, id: kindVideo}, track: p.video})
	}
	if p.audio != nil {
		out = append(out, sendTrack{key: trackKey{origin: p.s.self, kind: kindAudio, id: kindAudio}, track: p.audio})
	}
	return out
}

// start plays the files once every member present can receive them (at
// most SignalTimeout later: an edge not up by then has failed), so that a
// receiver present when publishing starts gets the first frame, a
// keyframe, rather than joining a second in.
func (p *publisher) start(hash string) {
	p.started = time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx, cancel := context.WithTimeout(p.ctx, p.s.params.SignalTimeout)
		defer cancel()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for !p.s.publishReady(hash, p.sendTracks()) {
			select {
			case <-ctx.Done():
				if p.ctx.Err() != nil {
					return
				}
				p.s.log.Warn("media: publishing before every receiver is connected", "room", hash)
			case <-tick.C:
				continue
			}
			break
		}
		p.play()
	}()
}

func (p *publisher) play() {
	var running atomic.Int32
	finish := func() {
		if running.Add(-1) == 0 {
			p.done.Store(true)
			p.s.kick()
		}
	}
	if p.video != nil {
		running.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer finish()
			p.playVideo()
		}()
	}
	if p.audio != nil {
		running.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer finish()
			p.playAudio()
		}()
	}
}

func (p *publisher) stop() {
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// pacer sleeps until each sample's due time, so that samples go out at
// the file's real pace however long writing them took.
type pacer struct {
	ctx context.Context
	due time.Time
}

func (pc *pacer) wait(d time.Duration) bool {
	pc.due = pc.due.Add(d)
	t := time.NewTimer(time.Until(pc.due))
	defer t.Stop()
	select {
	case <-pc.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (p *publisher) playVideo() {
	pc := pacer{ctx: p.ctx, due: time.Now()}
	fs := p.vframes
	// The last frame lasts as long as the one before it.
	last := 33 * time.Millisecond
	if n := len(fs); n > 1 && fs[n-1].at > fs[n-2].at {
		last = fs[n-1].at - fs[n-2].at
	}
	for {
		for i, f := range fs {
			d := last
			if i+1 < len(fs) && fs[i+1].at > f.at {
				d = fs[i+1].at - f.at
			}
			if err := p.video.WriteSample(media.Sample{Data: f.data, Duration: d}); err != nil && p.ctx.Err() != nil {
				return
			}
			p.videoFrames.Add(1)
			if tap := p.vtap.Load(); tap != nil {
				(*tap)(f.data)
			}
			if !pc.wait(d) {
				return
			}
		}
		if !p.spec.Loop {
			return
		}
	}
}

func (p *publisher) playAudio() {
	pc := pacer{ctx: p.ctx, due: time.Now()}
	for {
		for _, pkt := range p.apkts {
			d, _ := opusDuration(pkt)
			if err := p.audio.WriteSample(media.Sample{Data: pkt, Duration: d}); err != nil && p.ctx.Err() != nil {
				return
			}
			p.audioPackets.Add(1)
			if tap := p.tap.Load(); tap != nil {
				(*tap)(pkt)
			}
			if !pc.wait(d) {
				return
			}
		}
		if !p.spec.Loop {
			return
		}
	}
}

// setVideoTap hands every sent video frame to f too (the mixer composing
// its own video); nil stops it.
func (p *publisher) setVideoTap(f func([]byte)) {
	if p == nil {
		return
	}
	if f == nil {
		p.vtap.Store(nil)
		return
	}
	p.vtap.Store(&f)
}

// setAudioTap hands every sent audio packet to f too (the mixer mixing its
// own audio); nil stops it.
func (p *publisher) setAudioTap(f func([]byte)) {
	if p == nil {
		return
	}
	if f == nil {
		p.tap.Store(nil)
		return
	}
	p.tap.Store(&f)
}
