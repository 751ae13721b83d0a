package node

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

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

// MediaPublishRequest is the body of POST /api/v1/rooms/{room}/media/publish.
type MediaPublishRequest = media.PublishSpec

// MediaRecordRequest is the body of POST /api/v1/rooms/{room}/media/record.
type MediaRecordRequest struct {
	Dir string `json:"dir"`
}

// MediaMixRequest is the body of POST /api/v1/rooms/{room}/media/mix.
type MediaMixRequest struct {
	On bool `json:"on"`
}

func (s *apiServer) routeMedia(mux *http.ServeMux) {
	mux.HandleFunc("POST "+pathRoom+"/media/publish", s.handleMediaPublish)
	mux.HandleFunc("POST "+pathRoom+"/media/record", s.handleMediaRecord)
	mux.HandleFunc("POST "+pathRoom+"/media/stop", s.handleMediaStop)
	mux.HandleFunc("POST "+pathRoom+"/media/mix", s.handleMediaMix)
	mux.HandleFunc("GET "+pathRoom+"/media/stats", s.handleMediaStats)
}

func mediaStatus(err error) int {
	switch {
	case errors.Is(err, media.ErrBadMedia), errors.Is(err, media.ErrNoMediaFiles):
		return http.StatusBadRequest
	case errors.Is(err, media.ErrPublishing), errors.Is(err, media.ErrRecording),
		errors.Is(err, media.ErrNotJoined), errors.Is(err, media.ErrNothingToStop),
		errors.Is(err, media.ErrMixNeedsStar), errors.Is(err, media.ErrMixSelf):
		return http.StatusConflict
	case errors.Is(err, media.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return roomStatus(err)
}

func (s *apiServer) mediaRoom(w http.ResponseWriter, r *http.Request) (string, bool) {
	hash, err := s.n.rooms.RoomHash(r.Context(), r.PathValue("room"))
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return "", false
	}
	return hash, true
}

func (s *apiServer) handleMediaPublish(w http.ResponseWriter, r *http.Request) {
	var req MediaPublishRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	for _, p := range []string{req.Video, req.Audio} {
		if p != "" && !filepath.IsAbs(p) {
			writeError(w, http.StatusBadRequest, "file paths must be absolute (the daemon reads them): %s", p)
			return
		}
	}
	if err := s.n.media.Publish(hash, req); err != nil {
		status := mediaStatus(err)
		if status == http.StatusInternalServerError {
			status = http.StatusBadRequest // unreadable files
		}
		writeError(w, status, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, s.n.media.Stats(hash))
}

func (s *apiServer) handleMediaRecord(w http.ResponseWriter, r *http.Request) {
	var req MediaRecordRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	if req.Dir == "" || !filepath.IsAbs(req.Dir) {
		writeError(w, http.StatusBadRequest, "give an absolute directory to record into")
		return
	}
	if err := s.n.media.Record(hash, req.Dir); err != nil {
		status := mediaStatus(err)
		if status == http.StatusInternalServerError {
			status = http.StatusBadRequest
		}
		writeError(w, status, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, s.n.media.Stats(hash))
}

func (s *apiServer) handleMediaStop(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	res, err := s.n.media.Stop(hash)
	if err != nil && !res.Recorded && !res.Published {
		writeError(w, mediaStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *apiServer) handleMediaMix(w http.ResponseWriter, r *http.Request) {
	var req MediaMixRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	if err := s.n.media.SetMix(hash, req.On); err != nil {
		writeError(w, mediaStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, s.n.media.Stats(hash))
}

func (s *apiServer) handleMediaStats(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.mediaRoom(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.n.media.Stats(hash))
}

// MediaPublish starts publishing files (absolute paths) in a room.
func (c *Client) MediaPublish(ctx context.Context, room string, req MediaPublishRequest) (media.RoomStats, error) {
	var v media.RoomStats
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/media/publish"), req, &v)
}

// MediaRecord starts recording a room into dir (absolute).
func (c *Client) MediaRecord(ctx context.Context, room, dir string) (media.RoomStats, error) {
	var v media.RoomStats
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/media/record"), MediaRecordRequest{Dir: dir}, &v)
}

// MediaStop stops publishing and recording in a room.
func (c *Client) MediaStop(ctx context.Context, room string) (media.StopResult, error) {
	var v media.StopResult
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/media/stop"), nil, &v)
}

// MediaMix asks the room's mixer for one mixed audio stream (or not).
func (c *Client) MediaMix(ctx context.Context, room string, on bool) (media.RoomStats, error) {
	var v media.RoomStats
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/media/mix"), MediaMixRequest{On: on}, &v)
}

// MediaStats returns a room's media statistics.
func (c *Client) MediaStats(ctx context.Context, room string) (media.RoomStats, error) {
	var v media.RoomStats
	return v, c.do(ctx, http.MethodGet, roomPath(room, "/media/stats"), nil, &v)
}
