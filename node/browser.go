package node

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/media"
)

// Limits of a page's media WebSocket.
const (
	maxBrowserSignal  = 256 << 10 // an SDP of many members' tracks
	browserWriteWait  = 10 * time.Second
	browserPingPeriod = 20 * time.Second
)

// wsSignaller carries a page's media signals over its WebSocket as
// api.MediaSignal JSON.
type wsSignaller struct {
	c *websocket.Conn
}

func (w wsSignaller) Send(m media.BrowserSignal) error {
	out := api.MediaSignal{Type: m.Type, SDP: m.SDP, Sending: m.Sending, Reason: m.Reason}
	if len(m.Tracks) > 0 {
		out.Tracks = make(map[string]api.MediaTrack, len(m.Tracks))
		for mid, t := range m.Tracks {
			out.Tracks[mid] = api.MediaTrack{Send: t.Send, Origin: t.Origin, Kind: t.Kind}
		}
	}
	if c := m.Cand; c != nil {
		out.Cand = &api.ICECandidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(browserWriteWait))
	return w.c.WriteJSON(out)
}

func (w wsSignaller) Recv() (media.BrowserSignal, error) {
	var in api.MediaSignal
	if err := w.c.ReadJSON(&in); err != nil {
		return media.BrowserSignal{}, err
	}
	m := media.BrowserSignal{Type: in.Type, SDP: in.SDP, Sending: in.Sending, Reason: in.Reason}
	if c := in.Cand; c != nil {
		m.Cand = &webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	return m, nil
}

func (w wsSignaller) Close() error { return w.c.Close() }

// handleMediaBrowser upgrades to the page's media WebSocket and runs its
// session until either side ends it. The guard has checked the session
// (or token) and that any Origin is the API's own.
func (s *apiServer) handleMediaBrowser(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	up := websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// The guard rejected any foreign Origin already.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c.SetReadLimit(maxBrowserSignal)
	// Pings keep the page's connection checked: a page that went away
	// without closing ends the session within two periods.
	_ = c.SetReadDeadline(time.Now().Add(2 * browserPingPeriod))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(2 * browserPingPeriod)) })
	sig := wsSignaller{c: c}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(browserPingPeriod)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(browserWriteWait)) != nil {
					return
				}
			}
		}
	}()
	err = s.n.media.ServeBrowser(r.Context(), hash, sig)
	if err != nil && !errors.Is(err, media.ErrTakenOver) {
		s.log.Debug("page media session ended", "room", hash, "err", err)
	}
}
