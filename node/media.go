package node

import (
	"net"
	"net/http"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/overlay"
)

// mediaRooms lets media see the overlay's rooms without importing it.
type mediaRooms struct{ ov *overlay.Service }

func (m mediaRooms) JoinedHashes() []string { return m.ov.JoinedHashes() }

func (m mediaRooms) IsMember(hash string, p peer.ID) bool { return m.ov.IsMember(hash, p) }

func (m mediaRooms) MediaTopology(hash string) (media.Topology, bool) {
	t, ok := m.ov.Topology(hash)
	if !ok {
		return media.Topology{}, false
	}
	return media.Topology{Mixer: t.Mixer, Star: t.Mode == overlay.TopologyStar, Members: t.Members}, true
}

// mediaICE is the media ICE configuration from config.json; the local
// profile keeps WebRTC on loopback.
func mediaICE(c *Config) media.ICEConfig {
	ic := media.ICEConfig{
		// The local profile stays on loopback (even in a config.json older
		// than the media settings) unless ice_addresses names the addresses
		// to use (as the test across network namespaces does).
		LoopbackOnly: c.Media.LoopbackOnly || c.Profile == ProfileLocal && len(c.Media.ICEAddresses) == 0,
		Servers:      c.Media.ICEServers,
		Username:     c.Media.ICEUsername,
		Credential:   c.Media.ICECredential,
	}
	for _, s := range c.Media.ICEAddresses {
		if ip := net.ParseIP(s); ip != nil {
			ic.IPs = append(ic.IPs, ip)
		}
	}
	return ic
}

// Media returns the node's media service.
func (n *Node) Media() *media.Service { return n.media }

func (s *apiServer) routeMedia(mux *http.ServeMux) {
	mux.HandleFunc("POST "+api.PathMediaPublish, s.handleMediaPublish)
	mux.HandleFunc("POST "+api.PathMediaRecord, s.handleMediaRecord)
	mux.HandleFunc("POST "+api.PathMediaStop, s.handleMediaStop)
	mux.HandleFunc("POST "+api.PathMediaMix, s.handleMediaMix)
	mux.HandleFunc("GET "+api.PathMediaStats, s.handleMediaStats)
	mux.HandleFunc("GET "+api.PathMediaBrowser, s.handleMediaBrowser)
}

func (s *apiServer) mediaRoom(w http.ResponseWriter, r *http.Request) (string, bool) {
	hash, err := s.n.rooms.RoomHash(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return "", false
	}
	return hash, true
}

func (s *apiServer) handleMediaPublish(w http.ResponseWriter, r *http.Request) {
	var req api.PublishRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	for _, p := range []string{req.Video, req.Audio} {
		if p != "" && !filepath.IsAbs(p) {
			writeError(w, api.CodeInvalid, "file paths must be absolute (the daemon reads them): %s", p)
			return
		}
	}
	if err := s.n.media.Publish(hash, media.PublishSpec{Video: req.Video, Audio: req.Audio, Loop: req.Loop}); err != nil {
		code := errorCode(err)
		if code == api.CodeInternal {
			code = api.CodeInvalid // unreadable files
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, apiMediaStats(s.n.media.Stats(hash)))
}

func (s *apiServer) handleMediaRecord(w http.ResponseWriter, r *http.Request) {
	var req api.RecordRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	if req.Dir == "" || !filepath.IsAbs(req.Dir) {
		writeError(w, api.CodeInvalid, "give an absolute directory to record into")
		return
	}
	if err := s.n.media.Record(hash, req.Dir); err != nil {
		code := errorCode(err)
		if code == api.CodeInternal {
			code = api.CodeInvalid // an unwritable directory
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, apiMediaStats(s.n.media.Stats(hash)))
}

func (s *apiServer) handleMediaStop(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	res, err := s.n.media.Stop(hash)
	if err != nil && !res.Recorded && !res.Published {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiStopResult(res))
}

func (s *apiServer) handleMediaMix(w http.ResponseWriter, r *http.Request) {
	var req api.MixRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	if err := s.n.media.SetMix(hash, req.On, req.Video); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiMediaStats(s.n.media.Stats(hash)))
}

func (s *apiServer) handleMediaStats(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, apiMediaStats(s.n.media.Stats(hash)))
}
