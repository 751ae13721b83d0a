package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
)

// oggPackets splits an Ogg Opus file into its Opus packets (RFC 3533 pages
// and lacing, RFC 7845 headers), skipping the OpusHead and OpusTags header
// packets. pion's oggreader returns whole pages, which is only right for
// files with one packet per page.
func oggPackets(b []byte) (channels int, packets [][]byte, err error) {
	var cur []byte
	n := 0
	for len(b) > 0 {
		if len(b) < 27 || !bytes.Equal(b[:4], []byte("OggS")) {
			return 0, nil, errors.New("not an Ogg page")
		}
		nseg := int(b[26])
		if len(b) < 27+nseg {
			return 0, nil, errors.New("truncated Ogg page")
		}
		lace := b[27 : 27+nseg]
		body := b[27+nseg:]
		total := 0
		for _, l := range lace {
			total += int(l)
		}
		if len(body) < total {
			return 0, nil, errors.New("truncated Ogg page")
		}
		off := 0
		for _, l := range lace {
			cur = append(cur, body[off:off+int(l)]...)
			off += int(l)
			if l < 255 {
				switch {
				case n == 0:
					if len(cur) < 19 || !bytes.HasPrefix(cur, []byte("OpusHead")) {
						return 0, nil, errors.New("no OpusHead: not an Ogg Opus file")
					}
					channels = int(cur[9])
				case n == 1 && bytes.HasPrefix(cur, []byte("OpusTags")):
				default:
					if len(cur) > 0 {
						packets = append(packets, cur)
					}
				}
				n++
				cur = nil
				if len(packets) > 1<<20 {
					return 0, nil, errors.New("too many packets")
				}
			}
		}
		b = body[total:]
	}
	if n == 0 {
		return 0, nil, errors.New("empty Ogg file")
	}
	return channels, packets, nil
}

// opusDuration is the audio duration of one Opus packet, from its TOC byte
// (RFC 6716 section 3.1).
func opusDuration(pkt []byte) (time.Duration, error) {
	if len(pkt) == 0 {
		return 0, errors.New("empty Opus packet")
	}
	toc := pkt[0]
	cfg := toc >> 3
	var frame time.Duration
	switch {
	case cfg < 12:
		frame = [4]time.Duration{10, 20, 40, 60}[cfg%4] * time.Millisecond
	case cfg < 16:
		frame = [2]time.Duration{10, 20}[cfg%2] * time.Millisecond
	default:
		frame = [4]time.Duration{2500, 5000, 10000, 20000}[cfg%4] * time.Microsecond
	}
	count := 1
	switch toc & 3 {
	case 1, 2:
		count = 2
	case 3:
		if len(pkt) < 2 {
			return 0, errors.New("truncated Opus packet")
		}
		count = int(pkt[1] & 0x3f)
	}
	d := frame * time.Duration(count)
	if count == 0 || d > 120*time.Millisecond {
		return 0, fmt.Errorf("bad Opus packet (%d frames)", count)
	}
	return d, nil
}

// ivfDims reads a VP8 keyframe's width and height (RFC 6386 section 9.1).
func vp8KeyframeDims(frame []byte) (w, h uint16, key bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff, binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff, true
}

// ivfFrame is one frame of an IVF file with its presentation time.
type ivfFrame struct {
	data []byte
	at   time.Duration
}

// ivfFrames parses an IVF file (https://wiki.multimedia.cx/index.php/IVF):
// the FourCC and every frame with its time from the file's time base.
func ivfFrames(b []byte) (fourcc string, frames []ivfFrame, err error) {
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		return "", nil, errors.New("not an IVF file")
	}
	hdrLen := int(binary.LittleEndian.Uint16(b[6:8]))
	rate := binary.LittleEndian.Uint32(b[16:20])  // time base denominator
	scale := binary.LittleEndian.Uint32(b[20:24]) // time base numerator
	if rate == 0 || scale == 0 || hdrLen < 32 || hdrLen > len(b) {
		return "", nil, errors.New("bad IVF header")
	}
	fourcc = string(b[8:12])
	b = b[hdrLen:]
	for len(b) >= 12 {
		size := int(binary.LittleEndian.Uint32(b[0:4]))
		pts := binary.LittleEndian.Uint64(b[4:12])
		if size > len(b)-12 {
			return "", nil, errors.New("truncated IVF frame")
		}
		if pts > 1<<40 {
			return "", nil, errors.New("bad IVF frame time")
		}
		at := time.Duration(float64(pts) * float64(scale) / float64(rate) * float64(time.Second))
		frames = append(frames, ivfFrame{data: b[12 : 12+size], at: at})
		b = b[12+size:]
	}
	if len(frames) == 0 {
		return "", nil, errors.New("no frames")
	}
	return fourcc, frames, nil
}

// IVFFrameTimes reads an IVF file and returns its FourCC and each frame's
// presentation time (tests and tools check recordings with it).
func IVFFrameTimes(path string) (string, []time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	fourcc, frames, err := ivfFrames(b)
	if err != nil {
		return "", nil, err
	}
	out := make([]time.Duration, len(frames))
	for i, f := range frames {
		out[i] = f.at
	}
	return fourcc, out, nil
}
