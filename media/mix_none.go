//go:build !opus || !cgo

package media

// defaultMixer: this build has no Opus codec (build with -tags opus and
// libopus installed to mix audio).
func defaultMixer() AudioMixer { return noMixer{} }

// noMixer is the mixer of a build without libopus.
type noMixer struct{}

func (noMixer) Available() error                    { return ErrNoMixing }
func (noMixer) NewDecoder() (OpusDecoder, error)    { return nil, ErrNoMixing }
func (noMixer) NewEncoder(int) (OpusEncoder, error) { return nil, ErrNoMixing }
