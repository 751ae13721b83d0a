package media

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pion/webrtc/v4"
)

// Topology is the media shape of a room as the election chose it.
type Topology struct {
	// Mixer is the elected mixer ("" while there is none).
	Mixer peer.ID
	// Star is true when publishers send to the mixer only and the mixer
	// forwards; false for a full mesh.
	Star bool
	// Members are the room's present members, the node included.
	Members []peer.ID
}

// Receivers returns the members self sends media to: every other member in
// a mesh (or in a star without a mixer); in a star the mixer, or every
// member for the mixer itself.
func (t Topology) Receivers(self peer.ID) []peer.ID {
	var out []peer.ID
	for _, p := range t.Members {
		if p == self {
			continue
		}
		if !t.Star || t.Mixer == "" || self == t.Mixer || p == t.Mixer {
			out = append(out, p)
		}
	}
	return out
}

// Rooms is what media needs to know about rooms; node satisfies it with the
// overlay service.
type Rooms interface {
	// JoinedHashes lists the rooms the node is in.
	JoinedHashes() []string
	// MediaTopology returns a joined room's topology.
	MediaTopology(hash string) (Topology, bool)
	// IsMember reports whether p may exchange media in the room (in a
	// password room: has proven the key).
	IsMember(hash string, p peer.ID) bool
}

// Event is published on the node's event stream.
type Event struct {
	Type string
	Data any
}

// Params are the media tunables.
type Params struct {
	// Tick is how often each room's sending edges are reconciled with the
	// topology (new members, a new mixer, mesh/star).
	Tick time.Duration
	// SignalTimeout bounds opening a signaling stream and each negotiation.
	SignalTimeout time.Duration
	// MaxSignalMsg is the largest signaling message accepted (an SDP offer
	// with 64 tracks is about 40 KiB).
	MaxSignalMsg int
	// SignalRate and SignalBurst limit signaling messages per stream.
	SignalRate  float64
	SignalBurst int
	// MaxCandidates is the most ICE candidates accepted per connection.
	MaxCandidates int
	// MaxInbound is the most connections accepted from peers per room.
	MaxInbound int
	// MaxTracks is the most remote tracks accepted per connection.
	MaxTracks int
	// MaxPacketRate caps RTP packets per second per received track; excess
	// is dropped and counted.
	MaxPacketRate float64
	// SourceSwitch is how long a forwarded stream's current path must be
	// silent before another path carrying the same publisher takes over.
	SourceSwitch time.Duration
	// GapReport is the smallest pause between received video frames that
	// is reported as a gap (and an event).
	GapReport time.Duration
	// RetryBackoff is the pause before a failed edge to a receiver is tried
	// again.
	RetryBackoff time.Duration
	// PLIInterval is the least time between keyframe requests sent upstream
	// per stream.
	PLIInterval time.Duration
	// ICEDisconnected and ICEFailed are pion's ICE timeouts.
	ICEDisconnected, ICEFailed time.Duration
	// DTLSRetransmit is how soon an unanswered DTLS handshake flight is
	// sent again (pion's default: 1 s).
	DTLSRetransmit time.Duration
	// Compose is the composed video the mixer makes for members that ask
	// for it (`f2f media mix ROOM on --video`).
	Compose ComposeParams
}

// ComposeParams are the composed video's size, rate and the mixer's
// budget for making it.
type ComposeParams struct {
	// Width and Height of the composed picture (even), FPS its frames per
	// second, Kbps each stream's VP8 bitrate.
	Width, Height, FPS, Kbps int
	// Budget is the CPU the mixer may spend composing, in cores: decoding
	// the inputs and composing and encoding every output. A member whose
	// stream would take the measured cost over it is refused, and outputs
	// are shed (the newest first) while the measured cost stays above it.
	Budget float64
}

// DefaultParams returns the defaults.
func DefaultParams() Params {
	return Params{
		Tick:            100 * time.Millisecond,
		SignalTimeout:   10 * time.Second,
		MaxSignalMsg:    64 << 10,
		SignalRate:      50,
		SignalBurst:     200,
		MaxCandidates:   64,
		MaxInbound:      64,
		MaxTracks:       64,
		MaxPacketRate:   2000,
		SourceSwitch:    300 * time.Millisecond,
		GapReport:       250 * time.Millisecond,
		RetryBackoff:    time.Second,
		PLIInterval:     500 * time.Millisecond,
		ICEDisconnected: 3 * time.Second,
		ICEFailed:       8 * time.Second,
		DTLSRetransmit:  250 * time.Millisecond,
		Compose:         ComposeParams{Width: 640, Height: 360, FPS: 15, Kbps: 600, Budget: 0.75},
	}
}

func (p Params) validate() error {
	switch {
	case p.Tick <= 0, p.SignalTimeout <= 0, p.SourceSwitch <= 0, p.GapReport <= 0,
		p.RetryBackoff <= 0, p.PLIInterval <= 0, p.ICEDisconnected <= 0, p.ICEFailed <= 0, p.DTLSRetransmit <= 0:
		return errors.New("media: durations must be positive")
	case p.MaxSignalMsg < 4<<10, p.SignalRate <= 0, p.SignalBurst < 1, p.MaxCandidates < 1,
		p.MaxInbound < 1, p.MaxTracks < 2, p.MaxPacketRate <= 0:
		return errors.New("media: limits must be positive")
	}
	return p.Compose.Validate()
}

// Validate checks the composed video's settings.
func (c ComposeParams) Validate() error {
	switch {
	case c.Width < 64 || c.Width > 1920 || c.Width%2 != 0 || c.Height < 64 || c.Height > 1080 || c.Height%2 != 0:
		return fmt.Errorf("media: the composed picture must be 64x64 to 1920x1080 in even sizes, not %dx%d", c.Width, c.Height)
	case c.FPS < 1 || c.FPS > 30:
		return fmt.Errorf("media: composed video at %d fps (want 1 to 30)", c.FPS)
	case c.Kbps < 100 || c.Kbps > 8000:
		return fmt.Errorf("media: composed video at %d kbit/s (want 100 to 8000)", c.Kbps)
	case !(c.Budget > 0 && c.Budget <= 64):
		return fmt.Errorf("media: a composition budget of %v cores (want more than 0, at most 64)", c.Budget)
	}
	return nil
}

// ICEConfig says which addresses and servers WebRTC may use.
type ICEConfig struct {
	// LoopbackOnly restricts ICE candidates to loopback addresses (the
	// local profile: nothing leaves the machine).
	LoopbackOnly bool
	// Servers are STUN/TURN URLs (optional), e.g. stun:stun.example.org:3478.
	Servers []string
	// Username and Credential authenticate to TURN servers.
	Username, Credential string
	// IPs, when set, restricts host candidates to these addresses.
	IPs []net.IP
	// room are the servers of the connection's room (WithRoomICE).
	room []webrtc.ICEServer
}

type config struct {
	params Params
	log    *slog.Logger
	rooms  Rooms
	events func(Event)
	ice    ICEConfig
	mixer  AudioMixer
	// names returns a member's name to draw under its tile.
	names func(hash string, p peer.ID) string
	// roomICE returns a room's own ICE servers (its public members' STUN
	// and TURN), added to ice's for that room's connections.
	roomICE func(hash string) []webrtc.ICEServer
}

// Option configures the service.
type Option func(*config) error

// WithNames sets how a member's name is found (drawn under its tile in
// composed video); by default a short form of its peer ID.
func WithNames(f func(hash string, p peer.ID) string) Option {
	return func(c *config) error { c.names = f; return nil }
}

// WithParams sets the tunables.
func WithParams(p Params) Option { return func(c *config) error { c.params = p; return nil } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("media: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithEvents sets the event sink.
func WithEvents(f func(Event)) Option { return func(c *config) error { c.events = f; return nil } }

// WithICE sets the ICE configuration.
func WithICE(ic ICEConfig) Option {
	return func(c *config) error {
		for _, u := range ic.Servers {
			if u == "" {
				return fmt.Errorf("media: empty ICE server URL")
			}
		}
		c.ice = ic
		return nil
	}
}

// WithRoomICE sets where a room's own ICE servers come from: the STUN and
// TURN servers its publicly reachable members run, with credentials.
func WithRoomICE(f func(hash string) []webrtc.ICEServer) Option {
	return func(c *config) error { c.roomICE = f; return nil }
}

// WithAudioMixer replaces the audio mixer (the default is libopus when the
// binary was built with the opus tag, else none).
func WithAudioMixer(m AudioMixer) Option { return func(c *config) error { c.mixer = m; return nil } }
