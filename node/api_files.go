package node

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/overlay"
)

// DirMIME is the MIME type a shared directory's link carries.
const DirMIME = "inode/directory"

// AddResult is what AddFile and AddDir did (the API's is api.AddResult).
type AddResult struct {
	Entry files.Entry `json:"entry"`
	// Added lists a directory's files and directories, deepest first.
	Added []files.Added `json:"added,omitempty"`
	MIME  string        `json:"mime"`
	// Message is the chat message that shared the file (with room=).
	Message *overlay.ChatMessage `json:"message,omitempty"`
}

// Source is a peer a get received blocks from.
type Source = api.Source

func (s *apiServer) routeFiles(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathFiles, s.handleFiles)
	mux.HandleFunc("POST "+api.PathFileAdd, s.handleFileAdd)
	mux.HandleFunc("POST "+api.PathFileGet, s.handleFileGet)
	mux.HandleFunc("GET "+api.PathFileCat, s.handleFileCat)
	mux.HandleFunc("GET "+api.PathGateway, s.handleGateway)
	mux.HandleFunc("HEAD "+api.PathGateway, s.handleGateway)
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
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiAddResult(res))
}

// handleFileGet fetches a file and streams progress as NDJSON.
func (s *apiServer) handleFileGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	root, err := files.ParseCID(q.Get("cid"))
	if err != nil {
		writeError(w, api.CodeInvalid, "%v", err)
		return
	}
	opt := files.GetOptions{Name: q.Get("name")}
	if opt.Name != "" {
		if err := overlay.ValidFileName(opt.Name); err != nil {
			writeError(w, api.CodeInvalid, "bad file name: %v", err)
			return
		}
	}
	if t := q.Get("timeout"); t != "" {
		if opt.FindTimeout, err = time.ParseDuration(t); err != nil || opt.FindTimeout <= 0 {
			writeError(w, api.CodeBadRequest, "bad timeout %q", t)
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	send := func(ev api.GetEvent) {
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
		send(api.GetEvent{Progress: &api.Progress{Bytes: p.Bytes, Total: p.Total, Blocks: p.Blocks}})
	}
	e, sources, err := s.n.GetFile(r.Context(), root, opt)
	if err != nil {
		code := errorCode(err)
		switch code {
		case api.CodeNotFound, api.CodeStalled, api.CodeInvalid:
		default:
			code = api.CodeFailed
		}
		send(api.GetEvent{Error: err.Error(), Code: string(code)})
		return
	}
	entry := apiFile(e)
	send(api.GetEvent{Entry: &entry, Sources: sources})
}

// handleFileCat streams a local file's bytes (a directory as tar).
func (s *apiServer) handleFileCat(w http.ResponseWriter, r *http.Request) {
	root, err := files.ParseCID(r.URL.Query().Get("cid"))
	if err != nil {
		writeError(w, api.CodeInvalid, "%v", err)
		return
	}
	e, err := s.n.files.Stat(r.Context(), root)
	if err != nil {
		writeErr(w, err)
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
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, mapSlice(list, apiFile))
		return
	}
	shared, err := s.n.rooms.Files(ctx, room)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]api.RoomFile, 0, len(shared))
	for _, f := range shared {
		local, err := s.n.files.Local(ctx, f.CID)
		if err != nil {
			writeErr(w, err)
			return
		}
		out = append(out, apiRoomFile(f, local))
	}
	writeJSON(w, http.StatusOK, out)
}
