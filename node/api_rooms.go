package node

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/fluttershy/face2face/overlay"
)

// Room and chat API paths. {room} is a room key, hash or unique name,
// path-escaped.
const (
	PathRooms     = APIPrefix + "/rooms"
	PathRoomJoin  = APIPrefix + "/rooms/join"
	PathRoomStats = APIPrefix + "/rooms/stats"
	pathRoom      = APIPrefix + "/rooms/{room}"
)

// CreateRoomRequest is the body of POST /api/v1/rooms.
type CreateRoomRequest struct {
	Name     string `json:"name"`
	Password string `json:"password,omitempty"`
}

// JoinRoomRequest is the body of POST /api/v1/rooms/join.
type JoinRoomRequest struct {
	Key      string `json:"key"`
	Password string `json:"password,omitempty"`
}

// ChatRequest is the body of POST /api/v1/rooms/{room}/chat.
type ChatRequest struct {
	Text string `json:"text"`
}

func (s *apiServer) routeRooms(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathRooms, s.handleRooms)
	mux.HandleFunc("POST "+PathRooms, s.handleCreateRoom)
	mux.HandleFunc("POST "+PathRoomJoin, s.handleJoinRoom)
	mux.HandleFunc("GET "+PathRoomStats, s.handleRoomStats)
	mux.HandleFunc("GET "+pathRoom+"/peers", s.handleRoomPeers)
	mux.HandleFunc("POST "+pathRoom+"/leave", s.handleLeaveRoom)
	mux.HandleFunc("POST "+pathRoom+"/forget", s.handleForgetRoom)
	mux.HandleFunc("POST "+pathRoom+"/chat", s.handleChat)
	mux.HandleFunc("GET "+pathRoom+"/log", s.handleLog)
}

// roomStatus maps overlay errors to HTTP status codes.
func roomStatus(err error) int {
	switch {
	case errors.Is(err, overlay.ErrUnknownRoom):
		return http.StatusNotFound
	case errors.Is(err, overlay.ErrAmbiguousRoom), errors.Is(err, overlay.ErrNotJoined):
		return http.StatusConflict
	case errors.Is(err, overlay.ErrBadRoomKey), errors.Is(err, overlay.ErrWrongPassword),
		errors.Is(err, overlay.ErrPasswordRequired), errors.Is(err, overlay.ErrNoPasswordExpected),
		errors.Is(err, overlay.ErrMalformed), errors.Is(err, overlay.ErrUnknownCommand),
		errors.Is(err, overlay.ErrTooLarge):
		return http.StatusBadRequest
	case errors.Is(err, overlay.ErrServiceClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: %v", err)
		return false
	}
	return true
}

func (s *apiServer) handleRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.n.rooms.Rooms(r.Context())
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, rooms)
}

func (s *apiServer) handleCreateRoom(w http.ResponseWriter, r *http.Request) {
	var req CreateRoomRequest
	if !decodeBody(w, r, &req) {
		return
	}
	info, err := s.n.rooms.Create(r.Context(), req.Name, req.Password)
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *apiServer) handleJoinRoom(w http.ResponseWriter, r *http.Request) {
	var req JoinRoomRequest
	if !decodeBody(w, r, &req) {
		return
	}
	info, err := s.n.rooms.Join(r.Context(), req.Key, req.Password)
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *apiServer) handleRoomStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.n.rooms.Stats())
}

func (s *apiServer) handleRoomPeers(w http.ResponseWriter, r *http.Request) {
	peers, err := s.n.rooms.Peers(r.Context(), r.PathValue("room"))
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, peers)
}

func (s *apiServer) handleLeaveRoom(w http.ResponseWriter, r *http.Request) {
	if err := s.n.rooms.Leave(r.Context(), r.PathValue("room")); err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"left": true})
}

func (s *apiServer) handleForgetRoom(w http.ResponseWriter, r *http.Request) {
	info, err := s.n.rooms.Forget(r.Context(), r.PathValue("room"))
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *apiServer) handleChat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	if !decodeBody(w, r, &req) {
		return
	}
	res, err := s.n.rooms.Send(r.Context(), r.PathValue("room"), req.Text)
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *apiServer) handleLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad since %q: want RFC 3339 time", v)
			return
		}
		since = t
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "bad limit %q", v)
			return
		}
		limit = n
	}
	msgs, err := s.n.rooms.Log(r.Context(), r.PathValue("room"), since, limit)
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, msgs)
}
