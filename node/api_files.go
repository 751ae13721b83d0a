package node

import (
	"bufio"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/gateway"
	"github.com/libp2p/go-libp2p/core/peer"

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

func (s *apiServer) routeFiles(mux *http.ServeMux) error {
	mux.HandleFunc("GET "+PathFiles, s.handleFiles)
	mux.HandleFunc("POST "+PathFileAdd, s.handleFileAdd)
	mux.HandleFunc("POST "+PathFileGet, s.handleFileGet)
	mux.HandleFunc("GET "+PathFileCat, s.handleFileCat)
	backend, err := gateway.NewBlocksBackend(blockservice.New(s.n.bstore, s.n.bswap))
	if err != nil {
		return err
	}
	gw := gateway.NewHandler(gateway.Config{DeserializedResponses: true, NoDNSLink: true}, backend)
	mux.Handle("GET "+PathGateway, gw)
	mux.Handle("HEAD "+PathGateway, gw)
	return nil
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

// mimeType names a file's media type from its name, else from its first
// bytes.
func mimeType(name string, head []byte) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		return t
	}
	return http.DetectContentType(head)
}

// handleFileAdd imports the request body: a file's bytes, or with dir=1 a
// tar stream of a directory. With room= it shares the result in that room.
func (s *apiServer) handleFileAdd(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, room, dir := q.Get("name"), q.Get("room"), q.Get("dir") == "1"
	ctx := r.Context()
	if !dir {
		if err := overlay.ValidFileName(name); err != nil {
			writeError(w, http.StatusBadRequest, "bad file name: %v", err)
			return
		}
	}
	if room != "" {
		if err := s.n.rooms.CheckJoined(ctx, room); err != nil {
			writeError(w, roomStatus(err), "%v", err)
			return
		}
	}
	var (
		res AddResult
		err error
	)
	if dir {
		res.MIME = DirMIME
		res.Entry, err = s.n.files.AddTar(ctx, r.Body, func(a files.Added) { res.Added = append(res.Added, a) })
	} else {
		br := bufio.NewReaderSize(r.Body, 64<<10)
		head, _ := br.Peek(512)
		res.MIME = mimeType(name, head)
		res.Entry, err = s.n.files.AddFile(ctx, name, br)
	}
	if err != nil {
		writeError(w, fileStatus(err), "add: %v", err)
		return
	}
	root, err := files.ParseCID(res.Entry.CID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if room != "" {
		msg, err := s.n.rooms.ShareFile(ctx, room, overlay.FileLink{CID: root, Name: res.Entry.Name, Size: res.Entry.Size, MIME: res.MIME})
		if err != nil {
			writeError(w, roomStatus(err), "added %s but could not share it: %v", root, err)
			return
		}
		res.Message = &msg
	}
	// Announced after sharing, when the room decided whether it may be.
	s.n.files.Provide(root)
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
	before := s.ledgers()
	e, err := s.n.files.Get(r.Context(), root, opt)
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
	send(GetEvent{Entry: &e, Sources: s.sources(before)})
}

// ledgers snapshots the bytes received from each connected peer.
func (s *apiServer) ledgers() map[peer.ID]uint64 {
	out := map[peer.ID]uint64{}
	for _, p := range s.n.host.Network().Peers() {
		if l := s.n.bswap.LedgerForPeer(p); l != nil {
			out[p] = l.Recv
		}
	}
	return out
}

// sources lists the peers whose received-bytes counters grew since before.
func (s *apiServer) sources(before map[peer.ID]uint64) []Source {
	var out []Source
	for p, n := range s.ledgers() {
		if n > before[p] {
			out = append(out, Source{Peer: p.String(), Bytes: n - before[p]})
		}
	}
	sortSources(out)
	return out
}

func sortSources(src []Source) {
	sort.Slice(src, func(i, j int) bool {
		if src[i].Bytes != src[j].Bytes {
			return src[i].Bytes > src[j].Bytes
		}
		return src[i].Peer < src[j].Peer
	})
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
