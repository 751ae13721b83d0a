package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// sink receives a stream's packets for recording.
type sink interface {
	writeRTP(*rtp.Packet)
	// restart says the stream started over (new sequence numbers and
	// timestamps, e.g. a new mixer's composed video after a failover).
	restart()
}

// RecordedFile is one file a recording wrote.
type RecordedFile struct {
	Path   string `json:"path"`
	Origin string `json:"origin"`
	Kind   string `json:"kind"`
	// Frames is the number of video frames, or audio packets, written.
	Frames uint64 `json:"frames"`
	Bytes  int64  `json:"bytes"`
	Err    string `json:"error,omitempty"`
}

// recording writes each received stream of a room to D/<peer>-video.ivf
// and D/<peer>-audio.ogg (a mixer's mixed audio to D/mix-audio.ogg). A
// stream keeps its file across route changes. Concurrency: mu guards the
// map; each file has its own mutex.
type recording struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex
	sinks  map[trackKey]*fileSink
	closed bool
}

func newRecording(dir string, log *slog.Logger) (*recording, error) {
	if dir == "" {
		return nil, errors.New("give a directory to record into")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	probe, err := os.CreateTemp(abs, ".f2f-record-*")
	if err != nil {
		return nil, fmt.Errorf("record: %s is not writable: %w", abs, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return &recording{dir: abs, log: log, sinks: map[trackKey]*fileSink{}}, nil
}

// sink returns the file sink of a stream (nil recording: none).
func (r *recording) sink(k trackKey) sink {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if fs := r.sinks[k]; fs != nil {
		return fs
	}
	name := k.origin.String() + "-" + k.id
	if k.id == trackMix {
		name = "mix-audio"
	}
	fs := &fileSink{key: k, log: r.log}
	ext := ".ogg"
	if k.kind == kindVideo {
		ext = ".ivf"
		fs.sb = samplebuilder.New(256, &codecs.VP8Packet{}, 90000)
	}
	// The mixed audio of the next mixer (after a failover) gets a file
	// of its own, mix-audio-2.ogg: never the same path as another stream.
	fs.path = filepath.Join(r.dir, name+ext)
	for i := 2; r.pathTaken(fs.path); i++ {
		fs.path = filepath.Join(r.dir, fmt.Sprintf("%s-%d%s", name, i, ext))
	}
	r.sinks[k] = fs
	return fs
}

// pathTaken reports whether a stream already records into path. Call
// with mu held.
func (r *recording) pathTaken(path string) bool {
	for _, fs := range r.sinks {
		if fs.path == path {
			return true
		}
	}
	return false
}

func (r *recording) files() []RecordedFile {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RecordedFile
	for _, fs := range r.sinks {
		if fs.written() {
			out = append(out, fs.info())
		}
	}
	slices.SortFunc(out, func(a, b RecordedFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func (r *recording) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.closed = true
	sinks := r.sinks
	r.mu.Unlock()
	var errs []error
	for _, fs := range sinks {
		errs = append(errs, fs.close())
	}
	return errors.Join(errs...)
}

// fileSink writes one stream: video frames reassembled from RTP (frames
// with a lost packet are dropped, never written half) into IVF from the
// first keyframe; audio packets into Ogg Opus, in timestamp order.
type fileSink struct {
	key  trackKey
	path string
	log  *slog.Logger

	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	ogg     *oggwriter.OggWriter
	sb      *samplebuilder.SampleBuilder
	frames  uint64
	bytes   int64
	firstTS uint32
	lastTS  uint32
	lastPTS uint64
	step    uint64 // the last frame's time after the one before (ms)
	started bool
	// rebase: the stream started over; the next packet (audio) or
	// keyframe (video) continues the file's time after what is written.
	rebase bool
	err    error
	closed bool
}

// written reports whether the sink made its file (or failed to): a video
// stream that never brought a keyframe has none (a route change can
// offer a stream for a moment that the receiver then no longer gets).
func (fs *fileSink) written() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f != nil || fs.ogg != nil || fs.err != nil
}

func (fs *fileSink) info() RecordedFile {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	ri := RecordedFile{Path: fs.path, Origin: fs.key.origin.String(), Kind: fs.key.kind, Frames: fs.frames, Bytes: fs.bytes}
	if fs.err != nil {
		ri.Err = fs.err.Error()
	}
	return ri
}

// restart drops what the reassembly holds of the old stream; the file
// goes on with the new one, its time continuing.
func (fs *fileSink) restart() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.key.kind == kindVideo {
		fs.sb = samplebuilder.New(256, &codecs.VP8Packet{}, 90000)
	}
	fs.rebase = fs.started || fs.ogg != nil
}

func (fs *fileSink) writeRTP(pkt *rtp.Packet) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed || fs.err != nil {
		return
	}
	if fs.key.kind == kindVideo {
		fs.sb.Push(pkt)
		for s := fs.sb.Pop(); s != nil; s = fs.sb.Pop() {
			fs.writeFrameLocked(s.Data, s.PacketTimestamp)
		}
		return
	}
	if fs.ogg == nil {
		w, err := oggwriter.New(fs.path, 48000, 2)
		if err != nil {
			fs.err = err
			return
		}
		fs.ogg = w
		fs.lastTS = pkt.Timestamp - 960
	}
	if fs.rebase {
		// Ogg's granule positions count packets, not RTP time.
		fs.lastTS, fs.rebase = pkt.Timestamp-960, false
	}
	if !newer(pkt.Timestamp, fs.lastTS, 48000) {
		return // late, or a path that joined behind the one before
	}
	fs.lastTS = pkt.Timestamp
	if err := fs.ogg.WriteRTP(pkt); err != nil {
		fs.err = err
		return
	}
	fs.frames++
	fs.bytes += int64(len(pkt.Payload)) + 28
}

// IVF: a 32-byte file header, then per frame a 12-byte header (size,
// 64-bit pts) and the frame. Time base 1/1000 (pts in ms).
func (fs *fileSink) writeFrameLocked(frame []byte, ts uint32) {
	if !fs.started {
		w, h, key := vp8KeyframeDims(frame)
		if !key {
			return // start at a keyframe
		}
		f, err := os.Create(fs.path)
		if err != nil {
			fs.err = err
			return
		}
		fs.f, fs.w = f, bufio.NewWriterSize(f, 64<<10)
		fs.started, fs.firstTS, fs.lastTS = true, ts, ts-1
		if _, err := fs.w.Write(ivfHeader(w, h, 0)); err != nil {
			fs.err = err
			return
		}
	}
	if fs.rebase {
		if _, _, key := vp8KeyframeDims(frame); !key {
			return // the new stream is decodable from its keyframe on
		}
		// Its first frame one frame time after the last one written (a
		// player's constant frame rate gives every frame a slot of its own).
		step := max(fs.step, 33)
		fs.firstTS, fs.lastTS, fs.rebase = ts-uint32((fs.lastPTS+step)*90), ts-1, false
	}
	if !newer(ts, fs.lastTS, 90000) {
		// After a route change the new path may start a few frames
		// behind the old one: those frames are written already.
		return
	}
	fs.lastTS = ts
	pts := uint64(ts-fs.firstTS) / 90
	if fs.frames > 0 && pts <= fs.lastPTS {
		pts = fs.lastPTS + 1
	}
	if fs.frames > 0 {
		fs.step = pts - fs.lastPTS
	}
	fs.lastPTS = pts
	var hdr [12]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(frame)))
	binary.LittleEndian.PutUint64(hdr[4:], pts)
	if _, err := fs.w.Write(hdr[:]); err != nil {
		fs.err = err
		return
	}
	if _, err := fs.w.Write(frame); err != nil {
		fs.err = err
		return
	}
	fs.frames++
	fs.bytes += int64(len(frame)) + 12
}

// ivfHeader is an IVF file header for VP8 of w x h with time base 1/1000;
// dur (bytes 24-27, "number of frames" in the IVF description) is the
// duration in milliseconds, written when the file is finished.
func ivfHeader(w, h uint16, dur uint32) []byte {
	b := make([]byte, 32)
	copy(b, "DKIF")
	binary.LittleEndian.PutUint16(b[4:], 0)
	binary.LittleEndian.PutUint16(b[6:], 32)
	copy(b[8:], "VP80")
	binary.LittleEndian.PutUint16(b[12:], w)
	binary.LittleEndian.PutUint16(b[14:], h)
	binary.LittleEndian.PutUint32(b[16:], 1000) // time base denominator
	binary.LittleEndian.PutUint32(b[20:], 1)    // numerator
	binary.LittleEndian.PutUint32(b[24:], dur)
	return b
}

func (fs *fileSink) close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return fs.err
	}
	if fs.sb != nil && fs.err == nil {
		// The last frame waits in the sample builder for a next one
		// that will not come: write it too.
		fs.sb.Flush()
		for s := fs.sb.Pop(); s != nil; s = fs.sb.Pop() {
			fs.writeFrameLocked(s.Data, s.PacketTimestamp)
		}
	}
	fs.closed = true
	var errs []error
	if fs.ogg != nil {
		errs = append(errs, fs.ogg.Close())
	}
	if fs.f != nil {
		errs = append(errs, fs.w.Flush())
		// Header bytes 24-27: players (ffmpeg, ffprobe) read them as the
		// stream's duration in time-base units, which equals the frame
		// count only at a constant frame rate of the time base; ours is
		// 1/1000, so write the duration in milliseconds: the last frame's
		// time plus one frame's length.
		dur := fs.lastPTS
		if fs.frames > 1 {
			dur += fs.lastPTS / uint64(fs.frames-1)
		}
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(min(dur, 1<<32-1)))
		_, err := fs.f.WriteAt(n[:], 24)
		errs = append(errs, err, fs.f.Sync(), fs.f.Close())
	}
	if err := errors.Join(errs...); err != nil && fs.err == nil {
		fs.err = err
	}
	return fs.err
}

// newer reports whether RTP timestamp ts comes after last: ahead by less
// than half the timestamp space, or behind by more than 10 s (a publisher
// that started over, with a new random base).
func newer(ts, last uint32, clock int32) bool {
	d := int32(ts - last)
	return d > 0 || d < -10*clock
}
