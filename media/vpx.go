package media

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8dx.h>
#include <vpx/vp8cx.h>

static vpx_codec_ctx_t *f2f_vp8_dec_new(void) {
	vpx_codec_ctx_t *c = calloc(1, sizeof(vpx_codec_ctx_t));
	if (!c) return NULL;
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	if (vpx_codec_dec_init(c, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
		free(c);
		return NULL;
	}
	return c;
}

// f2f_vp8_decode decodes one frame; *img is the decoded picture (owned by
// the decoder until the next call) or NULL when the frame shows nothing.
static int f2f_vp8_decode(vpx_codec_ctx_t *c, const unsigned char *data, unsigned int n, vpx_image_t **img) {
	*img = NULL;
	if (vpx_codec_decode(c, data, n, NULL, 0) != VPX_CODEC_OK) return -1;
	vpx_codec_iter_t it = NULL;
	vpx_image_t *i = vpx_codec_get_frame(c, &it);
	if (i && i->fmt == VPX_IMG_FMT_I420) *img = i;
	return 0;
}

static void f2f_vpx_free(vpx_codec_ctx_t *c) {
	vpx_codec_destroy(c);
	free(c);
}

static vpx_codec_ctx_t *f2f_vp8_enc_new(unsigned int w, unsigned int h, int fps, unsigned int kbps, int cpu) {
	vpx_codec_enc_cfg_t cfg;
	if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) return NULL;
	cfg.g_w = w;
	cfg.g_h = h;
	cfg.g_timebase.num = 1;
	cfg.g_timebase.den = fps;
	cfg.g_threads = 1;
	cfg.g_lag_in_frames = 0;
	cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	cfg.rc_end_usage = VPX_CBR;
	cfg.rc_target_bitrate = kbps;
	cfg.rc_min_quantizer = 4;
	cfg.rc_max_quantizer = 56;
	cfg.rc_undershoot_pct = 95;
	cfg.rc_buf_sz = 1000;
	cfg.rc_buf_initial_sz = 500;
	cfg.rc_buf_optimal_sz = 600;
	cfg.kf_mode = VPX_KF_AUTO;
	cfg.kf_max_dist = fps * 3;
	vpx_codec_ctx_t *c = calloc(1, sizeof(vpx_codec_ctx_t));
	if (!c) return NULL;
	if (vpx_codec_enc_init(c, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
		free(c);
		return NULL;
	}
	vpx_codec_control(c, VP8E_SET_CPUUSED, cpu);
	vpx_codec_control(c, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(c, VP8E_SET_STATIC_THRESHOLD, 1);
	return c;
}

// f2f_vp8_encode encodes one I420 picture (planes y, u, v with strides w
// and (w+1)/2) and copies the frame it makes into out; it returns the
// frame's size (0: none), or -1 on an error, -2 when out is too small.
static int f2f_vp8_encode(vpx_codec_ctx_t *c, unsigned int w, unsigned int h, unsigned char *y, unsigned char *u, unsigned char *v,
		long long pts, int force_key, unsigned char *out, int cap, int *key) {
	vpx_image_t img;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, w, h, 1, y)) return -1;
	img.planes[VPX_PLANE_Y] = y;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = w;
	img.stride[VPX_PLANE_U] = (w + 1) / 2;
	img.stride[VPX_PLANE_V] = (w + 1) / 2;
	if (vpx_codec_encode(c, &img, pts, 1, force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME) != VPX_CODEC_OK) return -1;
	vpx_codec_iter_t it = NULL;
	const vpx_codec_cx_pkt_t *p;
	int n = 0;
	*key = 0;
	while ((p = vpx_codec_get_cx_data(c, &it)) != NULL) {
		if (p->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		if (n + (int)p->data.frame.sz > cap) return -2;
		memcpy(out + n, p->data.frame.buf, p->data.frame.sz);
		n += (int)p->data.frame.sz;
		if (p->data.frame.flags & VPX_FRAME_IS_KEY) *key = 1;
	}
	return n;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// VP8 through libvpx (cgo, in every build): the mixer decodes the
// members' video and encodes the composed picture.

// maxVideoDim bounds a decoded picture's width and height: a frame that
// claims more is refused (a hostile publisher cannot make the mixer
// allocate gigabytes).
const maxVideoDim = 4096

// picture is an I420 image: Y is W×H, U and V are (W+1)/2 × (H+1)/2,
// rows packed without padding.
type picture struct {
	W, H    int
	Y, U, V []byte
}

// resize makes p a w×h picture, reusing its memory when it is large
// enough.
func (p *picture) resize(w, h int) {
	cw, ch := (w+1)/2, (h+1)/2
	if cap(p.Y) < w*h {
		p.Y = make([]byte, w*h)
	}
	if cap(p.U) < cw*ch {
		p.U, p.V = make([]byte, cw*ch), make([]byte, cw*ch)
	}
	p.W, p.H = w, h
	p.Y, p.U, p.V = p.Y[:w*h], p.U[:cw*ch], p.V[:cw*ch]
}

// fill paints the whole picture one colour.
func (p *picture) fill(y, u, v byte) {
	for i := range p.Y {
		p.Y[i] = y
	}
	for i := range p.U {
		p.U[i], p.V[i] = u, v
	}
}

// vp8Decoder decodes one stream's VP8 frames.
type vp8Decoder struct{ c *C.vpx_codec_ctx_t }

func newVP8Decoder() (*vp8Decoder, error) {
	c := C.f2f_vp8_dec_new()
	if c == nil {
		return nil, errors.New("libvpx: cannot make a VP8 decoder")
	}
	return &vp8Decoder{c: c}, nil
}

// decode decodes one frame into dst (resized to the frame's size) and
// reports whether it made a picture.
func (d *vp8Decoder) decode(frame []byte, dst *picture) (bool, error) {
	if d.c == nil {
		return false, errors.New("decoder closed")
	}
	if len(frame) == 0 {
		return false, errors.New("empty VP8 frame")
	}
	var img *C.vpx_image_t
	if C.f2f_vp8_decode(d.c, (*C.uchar)(unsafe.Pointer(&frame[0])), C.uint(len(frame)), &img) != 0 {
		return false, errors.New("VP8 decode failed")
	}
	if img == nil {
		return false, nil
	}
	w, h := int(img.d_w), int(img.d_h)
	if w <= 0 || h <= 0 || w > maxVideoDim || h > maxVideoDim {
		return false, fmt.Errorf("VP8 picture of %dx%d", w, h)
	}
	dst.resize(w, h)
	copyPlane(dst.Y, w, h, img.planes[0], int(img.stride[0]))
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(dst.U, cw, ch, img.planes[1], int(img.stride[1]))
	copyPlane(dst.V, cw, ch, img.planes[2], int(img.stride[2]))
	return true, nil
}

// copyPlane copies w×h bytes from C memory rows stride apart.
func copyPlane(dst []byte, w, h int, src *C.uchar, stride int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), (h-1)*stride+w)
	for r := range h {
		copy(dst[r*w:(r+1)*w], s[r*stride:r*stride+w])
	}
}

func (d *vp8Decoder) close() {
	if d.c != nil {
		C.f2f_vpx_free(d.c)
		d.c = nil
	}
}

// vp8Encoder encodes pictures of one size into a VP8 stream (realtime,
// constant bitrate, no frames held back).
type vp8Encoder struct {
	c    *C.vpx_codec_ctx_t
	w, h int
	pts  int64
}

// vp8Speed is libvpx's cpu_used for the composed stream: the fastest
// realtime settings (the picture is a grid of already compressed video).
const vp8Speed = 12

func newVP8Encoder(w, h, fps, kbps int) (*vp8Encoder, error) {
	if w < 16 || h < 16 || w > maxVideoDim || h > maxVideoDim || w%2 != 0 || h%2 != 0 || fps < 1 || fps > 60 || kbps < 50 {
		return nil, fmt.Errorf("VP8 encoder: bad settings %dx%d at %d fps, %d kbit/s", w, h, fps, kbps)
	}
	c := C.f2f_vp8_enc_new(C.uint(w), C.uint(h), C.int(fps), C.uint(kbps), C.int(vp8Speed))
	if c == nil {
		return nil, errors.New("libvpx: cannot make a VP8 encoder")
	}
	return &vp8Encoder{c: c, w: w, h: h}, nil
}

// encode encodes p (of the encoder's size) into out and returns the
// frame's size (0: the encoder dropped the frame) and whether it is a
// keyframe.
func (e *vp8Encoder) encode(p *picture, forceKey bool, out []byte) (int, bool, error) {
	if e.c == nil {
		return 0, false, errors.New("encoder closed")
	}
	if p.W != e.w || p.H != e.h || len(out) == 0 {
		return 0, false, errors.New("VP8 encode: picture of the wrong size")
	}
	fk := C.int(0)
	if forceKey {
		fk = 1
	}
	var key C.int
	n := C.f2f_vp8_encode(e.c, C.uint(e.w), C.uint(e.h), (*C.uchar)(unsafe.Pointer(&p.Y[0])), (*C.uchar)(unsafe.Pointer(&p.U[0])),
		(*C.uchar)(unsafe.Pointer(&p.V[0])), C.longlong(e.pts), fk, (*C.uchar)(unsafe.Pointer(&out[0])), C.int(len(out)), &key)
	e.pts++
	switch {
	case n == -2:
		return 0, false, errors.New("VP8 encode: frame larger than the buffer")
	case n < 0:
		return 0, false, errors.New("VP8 encode failed")
	}
	return int(n), key != 0, nil
}

func (e *vp8Encoder) close() {
	if e.c != nil {
		C.f2f_vpx_free(e.c)
		e.c = nil
	}
}
