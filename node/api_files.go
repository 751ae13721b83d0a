package node

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/overlay"
)

// File API paths.
const (
	PathFiles    = APIPrefix + "/files"
	PathFileAdd  = APIPrefix + "/files/add"
	PathFileGet  = APIPrefix + "/files/get"
	PathFileCat  = APIPrefix + "/files/cat"
	PathGateway  = "/ipfs/"
	gatewayToken = "token"
	// GatewayCookie carries the API token for gateway pages in a browser.
	GatewayCookie = "f2f_token"
	// DirMIME is the MIME type a shared directory's link carries.
	DirMIME = "inode/directory"
)

// AddResult answers POST /api/v1/files/add.
type AddResult struct {
	Entry files.Entry `json:"entry"`
	// Added lists a directory's files and directories, deepest first.
	Added []files.Added `json:"added,omitempty"`
	MIME  string        `json:"mime"`
	// Message is the chat message that shared the file (with room=).
	Message *overlay.ChatMessage `json:"message,omitempty"`
}

// GetEvent is one line of POST /api/v1/files/get's NDJSON answer: progress
// lines, then one line with Entry and Sources, or with Error.
type GetEvent struct {
	Progress *files.Progress `json:"progress,omitempty"`
	Entry    *files.Entry    `json:"entry,omitempty"`
	// Sources are the peers blocks came from during the get, with the
	// bytes each sent (bitswap's ledgers), most first.
	Sources []Source `json:"sources,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Code classifies Error: "not_found", "stalled", "invalid", "failed".
	Code string `json:"code,omitempty"`
}

// Source is a peer a get received blocks from.
type Source struct {
	Peer  string `json:"peer"`
	Bytes uint64 `json:"bytes"`
}

// RoomFile is a file shared in a room, and whether it is here.
type RoomFile struct {
	overlay.SharedFile
	Local bool `json:"local"`
}

func (s *apiServer) routeFiles(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathFiles, s.handleFiles)
	mux.HandleFunc("POST "+PathFileAdd, s.handleFileAdd)
	mux.HandleFunc("POST "+PathFileGet, s.handleFileGet)
	mux.HandleFunc("GET "+PathFileCat, s.handleFileCat)
	mux.HandleFunc("GET "+PathGateway, s.handleGateway)
	mux.HandleFunc("HEAD "+PathGateway, s.handleGateway)
}

func fileStatus(err error) int {
	switch {
	case errors.Is(err, files.ErrInvalidCID), errors.Is(err, files.ErrBadArchive), errors.Is(err, overlay.ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, files.ErrNotLocal), errors.Is(err, files.ErrNotFound):
		return http.StatusNotFound
	}
	return roomStatus(err)
}

// handleFileAdd imports the request body: a file's bytes, or with dir=1 a
// tar stream of a directory. With room= it shares the result in that room.
func (s *apiServer) handleFileAdd(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var (
		res AddResult
		err error
	)
	if q.Get("dir") == "1" {
		res, err = s.n.AddDir(r.Context(), q.Get("room"), r.Body)
	} else {
		res, err = s.n.AddFile(r.Context(), q.Get("name"), q.Get("room"), r.Body)
	}
	if err != nil {
		writeError(w, fileStatus(err), "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleFileGet fetches a file and streams progress as NDJSON.
func (s *apiServer) handleFileGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	root, err := files.ParseCID(q.Get("cid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	opt := files.GetOptions{Name: q.Get("name")}
	if opt.Name != "" {
		if err := overlay.ValidFileName(opt.Name); err != nil {
			writeError(w, http.StatusBadRequest, "bad file name: %v", err)
			return
		}
	}
	if t := q.Get("timeout"); t != "" {
		if opt.FindTimeout, err = time.ParseDuration(t); err != nil || opt.FindTimeout <= 0 {
			writeError(w, http.StatusBadRequest, "bad timeout %q", t)
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	send := func(ev GetEvent) {
		_ = enc.Encode(ev)
		if fl != nil {
			fl.Flush()
		}
	}
	var last time.Time
	opt.Progress = func(p files.Progress) {
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		send(GetEvent{Progress: &p})
	}
	e, sources, err := s.n.GetFile(r.Context(), root, opt)
	if err != nil {
		code := "failed"
		switch {
		case errors.Is(err, files.ErrNotFound):
			code = "not_found"
		case errors.Is(err, files.ErrStalled):
			code = "stalled"
		case errors.Is(err, files.ErrInvalidCID):
			code = "invalid"
		}
		send(GetEvent{Error: err.Error(), Code: code})
		return
	}
	send(GetEvent{Entry: &e, Sources: sources})
}

// handleFileCat streams a local file's bytes (a directory as tar).
func (s *apiServer) handleFileCat(w http.ResponseWriter, r *http.Request) {
	root, err := files.ParseCID(r.URL.Query().Get("cid"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	e, err := s.n.files.Stat(r.Context(), root)
	if err != nil {
		writeError(w, fileStatus(err), "%v", err)
		return
	}
	if e.Dir {
		w.Header().Set("Content-Type", "application/x-tar")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("X-F2F-Dir", map[bool]string{true: "1", false: "0"}[e.Dir])
	if _, err := s.n.files.Cat(r.Context(), root, w); err != nil {
		// Headers are out: end the body short; the client sees the
		// length mismatch or a broken tar.
		s.log.Warn("cat", "cid", root, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// handleFiles lists the local files, or with room= the room's shared files.
func (s *apiServer) handleFiles(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	room := r.URL.Query().Get("room")
	if room == "" {
		list, err := s.n.files.List(ctx)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, nonNil(list))
		return
	}
	shared, err := s.n.rooms.Files(ctx, room)
	if err != nil {
		writeError(w, roomStatus(err), "%v", err)
		return
	}
	out := make([]RoomFile, 0, len(shared))
	for _, f := range shared {
		local, err := s.n.files.Local(ctx, f.CID)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		out = append(out, RoomFile{SharedFile: f, Local: local})
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
