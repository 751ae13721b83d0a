package node

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
)

func (s *apiServer) routeRooms(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathRooms, s.handleRooms)
	mux.HandleFunc("POST "+api.PathRooms, s.handleCreateRoom)
	mux.HandleFunc("POST "+api.PathRoomJoin, s.handleJoinRoom)
	mux.HandleFunc("GET "+api.PathRoomStats, s.handleRoomStats)
	mux.HandleFunc("GET "+api.PathRoomPeers, s.handleRoomPeers)
	mux.HandleFunc("POST "+api.PathLeave, s.handleLeaveRoom)
	mux.HandleFunc("POST "+api.PathForget, s.handleForgetRoom)
	mux.HandleFunc("POST "+api.PathChat, s.handleChat)
	mux.HandleFunc("GET "+api.PathLog, s.handleLog)
	mux.HandleFunc("GET "+api.PathStage, s.handleStage)
	mux.HandleFunc("POST "+api.PathStage, s.handleSetStage)
}

func (s *apiServer) handleStage(w http.ResponseWriter, r *http.Request) {
	st, err := s.n.rooms.Stage(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiStage(st))
}

// handleSetStage changes the stage: the file must have been shared in the
// room (its link gives the tab its name and type).
func (s *apiServer) handleSetStage(w http.ResponseWriter, r *http.Request) {
	var req api.StageRequest
	if !decodeBody(w, r, &req) {
		return
	}
	room := r.PathValue("room")
	if req.Op != overlay.StageOpen && req.Op != overlay.StageShow && req.Op != overlay.StageClose {
		writeError(w, api.CodeInvalid, "stage op %q: want open, show or close", req.Op)
		return
	}
	shared, err := s.n.rooms.Files(r.Context(), room)
	if err != nil {
		writeErr(w, err)
		return
	}
	i := slices.IndexFunc(shared, func(f overlay.SharedFile) bool { return f.CID.String() == req.CID })
	if i < 0 {
		writeError(w, api.CodeNotFound, "no file %q was shared in this room (share it first)", req.CID)
		return
	}
	if _, err := s.n.rooms.SetStage(r.Context(), room, overlay.StageOp{Op: req.Op, File: shared[i].FileLink}); err != nil {
		writeErr(w, err)
		return
	}
	s.handleStage(w, r)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, api.CodeBadRequest, "bad request body: %v", err)
		return false
	}
	return true
}

func (s *apiServer) handleRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.n.rooms.Rooms(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, mapSlice(rooms, apiRoom))
}

func (s *apiServer) handleCreateRoom(w http.ResponseWriter, r *http.Request) {
	var req api.CreateRoomRequest
	if !decodeBody(w, r, &req) {
		return
	}
	info, err := s.n.rooms.Create(r.Context(), req.Name, req.Password)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiRoom(info))
}

func (s *apiServer) handleJoinRoom(w http.ResponseWriter, r *http.Request) {
	var req api.JoinRoomRequest
	if !decodeBody(w, r, &req) {
		return
	}
	info, err := s.n.rooms.Join(r.Context(), req.Key, req.Password)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiRoom(info))
}

func (s *apiServer) handleRoomStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, apiRoomStats(s.n.rooms.Stats()))
}

func (s *apiServer) handleRoomPeers(w http.ResponseWriter, r *http.Request) {
	peers, err := s.n.rooms.Peers(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, mapSlice(peers, apiMember))
}

func (s *apiServer) handleLeaveRoom(w http.ResponseWriter, r *http.Request) {
	if err := s.n.rooms.Leave(r.Context(), r.PathValue("room")); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.LeaveResponse{Left: true})
}

func (s *apiServer) handleForgetRoom(w http.ResponseWriter, r *http.Request) {
	info, err := s.n.rooms.Forget(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := s.n.docs.Forget(r.Context(), info.Hash); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiRoom(info))
}

func (s *apiServer) handleChat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if !decodeBody(w, r, &req) {
		return
	}
	res, err := s.n.Chat(r.Context(), r.PathValue("room"), req.Text)
	if err != nil {
		writeErr(w, err)
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
			writeError(w, api.CodeBadRequest, "bad since %q: want RFC 3339 time", v)
			return
		}
		since = t
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, api.CodeBadRequest, "bad limit %q", v)
			return
		}
		limit = n
	}
	msgs, err := s.n.rooms.Log(r.Context(), r.PathValue("room"), since, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := mapSlice(msgs, apiChat)
	// This node's agenda reminders are lines of its log too.
	if hash, err := s.n.rooms.RoomHash(r.Context(), r.PathValue("room")); err == nil {
		from := since
		if limit > 0 && len(out) == limit {
			from = out[0].Time
		}
		if rs, err := s.n.docs.Reminders(hash, from); err == nil && len(rs) > 0 {
			for _, rm := range rs {
				// Before the first message written after it; the log's
				// own order stays.
				i := slices.IndexFunc(out, func(m api.ChatMessage) bool { return m.Time.After(rm.Fired) })
				if i < 0 {
					i = len(out)
				}
				out = slices.Insert(out, i, reminderChat(rm))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
