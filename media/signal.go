package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-msgio"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"
)

// ID is the signaling protocol: SDP offers and answers and trickled ICE
// candidates for one PeerConnection, over one libp2p stream that lives as
// long as the connection. The sender of media opens the stream and is
// always the offerer; the receiver answers.
const ID = "/f2f/signal/1"

// Signal message types.
const (
	sigHello  = "hello"  // first message: the room
	sigOffer  = "offer"  // sender → receiver
	sigAnswer = "answer" // receiver → sender
	sigCand   = "cand"   // both ways: a trickled ICE candidate
	sigPrefs  = "prefs"  // receiver → sender: what it wants (mixed audio, composed video)
	sigMixed  = "mixed"  // sender → receiver: whether it mixes (and composes) for it
	sigError  = "error"  // either way, then the stream closes
)

// signalMsg is one message on /f2f/signal/1, JSON in a varint-length frame.
type signalMsg struct {
	Type   string                   `json:"t"`
	Room   string                   `json:"room,omitempty"`
	SDP    string                   `json:"sdp,omitempty"`
	Cand   *webrtc.ICECandidateInit `json:"cand,omitempty"`
	Mix    *bool                    `json:"mix,omitempty"`
	Reason string                   `json:"reason,omitempty"`
	// Video: in prefs, whether the receiver wants composed video; in
	// mixed (from the mixer only), whether it composes for it, VReason
	// why not.
	Video   *bool  `json:"video,omitempty"`
	VReason string `json:"vreason,omitempty"`
}

func (m *signalMsg) validate() error {
	switch m.Type {
	case sigHello:
		if len(m.Room) == 0 || len(m.Room) > 128 {
			return errors.New("hello without a valid room")
		}
	case sigOffer, sigAnswer:
		if m.SDP == "" {
			return fmt.Errorf("%s without SDP", m.Type)
		}
	case sigCand:
		if m.Cand == nil || len(m.Cand.Candidate) > 1024 {
			return errors.New("candidate missing or too long")
		}
	case sigPrefs, sigMixed:
		if m.Mix == nil {
			return fmt.Errorf("%s without mix", m.Type)
		}
		if len(m.Reason) > 512 || len(m.VReason) > 512 {
			return fmt.Errorf("%s with a reason over 512 bytes", m.Type)
		}
	case sigError:
		if len(m.Reason) > 512 {
			m.Reason = m.Reason[:512]
		}
	default:
		return fmt.Errorf("unknown signal message type %q", m.Type)
	}
	return nil
}

// sigConn frames signal messages on a stream: reads from one goroutine,
// writes from any (serialized), reads rate-limited.
type sigConn struct {
	r   msgio.ReadCloser
	wmu sync.Mutex
	w   msgio.WriteCloser
	lim *rate.Limiter
	// wd bounds each write by wt: a peer that stops reading cannot block
	// a writer for longer.
	wd interface{ SetWriteDeadline(time.Time) error }
	wt time.Duration
}

func newSigConn(rw io.ReadWriter, p Params) *sigConn {
	c := &sigConn{
		r:   msgio.NewVarintReaderSize(rw, p.MaxSignalMsg),
		w:   msgio.NewVarintWriter(rw),
		lim: rate.NewLimiter(rate.Limit(p.SignalRate), p.SignalBurst),
	}
	if d, ok := rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
		c.wd, c.wt = d, p.SignalTimeout
	}
	return c
}

var errSignalRate = errors.New("signaling messages arrive too fast")

func (c *sigConn) read() (*signalMsg, error) {
	b, err := c.r.ReadMsg()
	if err != nil {
		return nil, err
	}
	defer c.r.ReleaseMsg(b)
	if !c.lim.Allow() {
		return nil, errSignalRate
	}
	return decodeSignal(b)
}

// decodeSignal decodes and checks one signaling frame.
func decodeSignal(b []byte) (*signalMsg, error) {
	var m signalMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad signal message: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (c *sigConn) write(m signalMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wd != nil {
		_ = c.wd.SetWriteDeadline(time.Now().Add(c.wt))
	}
	return c.w.WriteMsg(b)
}

// pump reads messages on a goroutine of its own (counted in wg) until the
// stream fails, which it reports on the error channel, or ctx ends.
func (c *sigConn) pump(ctx context.Context, wg *sync.WaitGroup) (<-chan *signalMsg, <-chan error) {
	msgs := make(chan *signalMsg)
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := c.read()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return msgs, errc
}

// sendCandidates trickles pc's local ICE candidates to the other side.
func (c *sigConn) sendCandidates(pc *webrtc.PeerConnection) {
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		ci := ic.ToJSON()
		_ = c.write(signalMsg{Type: sigCand, Cand: &ci})
	})
}

// trickle takes the other side's ICE candidates for one connection (at
// most max), holding them until its remote description is set.
var errTooManyCandidates = errors.New("too many ICE candidates")

type trickle struct {
	max     int
	n       int
	ready   bool // the remote description is set
	pending []webrtc.ICECandidateInit
}

func (t *trickle) add(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) error {
	if t.n++; t.n > t.max {
		return errTooManyCandidates
	}
	if !t.ready {
		t.pending = append(t.pending, c)
		return nil
	}
	if err := pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("add candidate: %w", err)
	}
	return nil
}

// flush adds the held candidates once the remote description is set.
func (t *trickle) flush(pc *webrtc.PeerConnection) error {
	t.ready = true
	for _, c := range t.pending {
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("add candidate: %w", err)
		}
	}
	t.pending = nil
	return nil
}
