package media

/*
#cgo pkg-config: opus
#include <opus.h>
#include <stdlib.h>

static int f2f_enc_setup(OpusEncoder *e, opus_int32 bitrate) {
	int r = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	if (r != OPUS_OK) return r;
	return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(5));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// defaultMixer is libopus through cgo.
func defaultMixer() AudioMixer { return opusMixer{} }

// opusMixer makes libopus decoders and encoders (48 kHz mono).
type opusMixer struct{}

func (opusMixer) Available() error { return nil }

func (opusMixer) NewDecoder() (OpusDecoder, error) {
	var cerr C.int
	d := C.opus_decoder_create(MixRate, 1, &cerr)
	if cerr != C.OPUS_OK || d == nil {
		return nil, fmt.Errorf("opus decoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	return &opusDecoder{d: d}, nil
}

func (opusMixer) NewEncoder(bitrate int) (OpusEncoder, error) {
	var cerr C.int
	e := C.opus_encoder_create(MixRate, 1, C.OPUS_APPLICATION_VOIP, &cerr)
	if cerr != C.OPUS_OK || e == nil {
		return nil, fmt.Errorf("opus encoder: %s", C.GoString(C.opus_strerror(cerr)))
	}
	if r := C.f2f_enc_setup(e, C.opus_int32(bitrate)); r != C.OPUS_OK {
		C.opus_encoder_destroy(e)
		return nil, fmt.Errorf("opus encoder: %s", C.GoString(C.opus_strerror(r)))
	}
	return &opusEncoder{e: e}, nil
}

type opusDecoder struct{ d *C.OpusDecoder }

func (o *opusDecoder) Decode(pkt []byte, pcm []int16) (int, error) {
	if o.d == nil {
		return 0, errors.New("decoder closed")
	}
	if len(pcm) == 0 {
		return 0, errors.New("no room for samples")
	}
	var data *C.uchar
	if len(pkt) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&pkt[0]))
	}
	n := C.opus_decode(o.d, data, C.opus_int32(len(pkt)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), 0)
	if n < 0 {
		return 0, fmt.Errorf("opus decode: %s", C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

func (o *opusDecoder) Close() {
	if o.d != nil {
		C.opus_decoder_destroy(o.d)
		o.d = nil
	}
}

type opusEncoder struct{ e *C.OpusEncoder }

func (o *opusEncoder) Encode(pcm []int16, out []byte) (int, error) {
	if o.e == nil {
		return 0, errors.New("encoder closed")
	}
	if len(pcm) != MixFrame || len(out) == 0 {
		return 0, errors.New("encode: need one 20 ms frame")
	}
	n := C.opus_encode(o.e, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)), (*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(len(out)))
	if n < 0 {
		return 0, fmt.Errorf("opus encode: %s", C.GoString(C.opus_strerror(n)))
	}
	return int(n), nil
}

func (o *opusEncoder) Close() {
	if o.e != nil {
		C.opus_encoder_destroy(o.e)
		o.e = nil
	}
}
