package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/collab"
	"github.com/fluttershy/face2face/internal/textfmt"
	"github.com/fluttershy/face2face/overlay"
)

// docRooms lets collab see the overlay's rooms without importing it.
type docRooms struct{ ov *overlay.Service }

func (d docRooms) JoinedHashes() []string { return d.ov.JoinedHashes() }

func (d docRooms) IsMember(hash string, p peer.ID) bool { return d.ov.IsMember(hash, p) }

func (d docRooms) Members(hash string) []peer.ID {
	t, ok := d.ov.Topology(hash)
	if !ok {
		return nil
	}
	return t.Members
}

// Docs returns the node's document service.
func (n *Node) Docs() *collab.Service { return n.docs }

func (s *apiServer) routeDocs(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathDocs, s.handleDocs)
	mux.HandleFunc("POST "+api.PathDocs, s.handleNewDoc)
	mux.HandleFunc("GET "+api.PathDoc, s.handleDoc)
	mux.HandleFunc("POST "+api.PathDocText, s.handleDocText)
	mux.HandleFunc("POST "+api.PathDocTodo, s.handleDocTodo)
	mux.HandleFunc("POST "+api.PathDocAgenda, s.handleDocAgenda)
	mux.HandleFunc("POST "+api.PathDocSnapshot, s.handleDocSnapshot)
	mux.HandleFunc("GET "+api.PathDocSync, s.handleDocSync)
	mux.HandleFunc("GET "+api.PathDocStats, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, api.DocStats(s.n.docs.Stats()))
	})
}

// docRoom resolves the {room} of a document call to a joined room's hash.
func (s *apiServer) docRoom(w http.ResponseWriter, r *http.Request) (string, bool) {
	hash, err := s.n.rooms.RoomHash(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return "", false
	}
	if !s.n.docs.Joined(hash) {
		writeErr(w, fmt.Errorf("%w: join the room to read or edit its documents", overlay.ErrNotJoined))
		return "", false
	}
	return hash, true
}

func (s *apiServer) handleDocs(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, mapSlice(s.n.docs.List(hash), apiDocInfo))
}

func (s *apiServer) handleNewDoc(w http.ResponseWriter, r *http.Request) {
	var req api.DocCreateRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	kind, err := collab.ParseKind(req.Kind)
	if err != nil {
		writeErr(w, err)
		return
	}
	info, err := s.n.docs.Create(r.Context(), hash, req.Name, kind)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiDocInfo(info))
}

func (s *apiServer) handleDoc(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	v, err := s.n.docs.Get(hash, r.PathValue("doc"))
	if err != nil {
		writeErr(w, err)
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, http.StatusOK, apiDoc(v))
	case "markdown":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		_, _ = w.Write([]byte(collab.Markdown(v, time.Local)))
	default:
		writeError(w, api.CodeBadRequest, "format %q: want json or markdown", f)
	}
}

func (s *apiServer) handleDocText(w http.ResponseWriter, r *http.Request) {
	var req api.DocTextRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	v, err := s.n.docs.SetText(r.Context(), hash, r.PathValue("doc"), req.Base, req.Old, req.Text)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiDoc(v))
}

// parseUserTime reads a time a user gave in the daemon's time zone.
func parseUserTime(s string) (time.Time, error) {
	return collab.ParseTime(s, time.Now(), time.Local)
}

func (s *apiServer) handleDocTodo(w http.ResponseWriter, r *http.Request) {
	var req api.TodoRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	name := r.PathValue("doc")
	var (
		it  collab.TodoItem
		err error
	)
	switch req.Op {
	case "add":
		var due time.Time
		if req.Due != "" {
			if due, err = parseUserTime(req.Due); err != nil {
				writeErr(w, err)
				return
			}
		}
		it, err = s.n.docs.TodoAdd(r.Context(), hash, name, collab.TodoItem{Text: req.Text, Assignee: req.Assignee, Due: due})
	case "done", "undone":
		it, err = s.n.docs.TodoDone(r.Context(), hash, name, req.Item, req.Op == "done")
	default:
		writeError(w, api.CodeInvalid, "todo op %q: want add, done or undone", req.Op)
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	t := apiTodo(it)
	s.writeDocItem(w, hash, name, api.DocItemResult{Todo: &t})
}

// writeDocItem answers a todo or agenda change with the document after it.
func (s *apiServer) writeDocItem(w http.ResponseWriter, hash, name string, res api.DocItemResult) {
	v, err := s.n.docs.Get(hash, name)
	if err != nil {
		writeErr(w, err)
		return
	}
	res.Doc = apiDoc(v)
	writeJSON(w, http.StatusOK, res)
}

func (s *apiServer) handleDocAgenda(w http.ResponseWriter, r *http.Request) {
	var req api.AgendaRequest
	if !decodeBody(w, r, &req) {
		return
	}
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	name := r.PathValue("doc")
	var at time.Time
	if req.At != "" {
		var err error
		if at, err = parseUserTime(req.At); err != nil {
			writeErr(w, err)
			return
		}
	}
	var res api.DocItemResult
	switch req.Op {
	case "start":
		if _, err := s.n.docs.AgendaStart(r.Context(), hash, name, at); err != nil {
			writeErr(w, err)
			return
		}
	case "add":
		it, err := s.n.docs.AgendaAdd(r.Context(), hash, name, collab.AgendaItem{Title: req.Title, At: at, Minutes: req.Minutes, Owner: req.Owner})
		if err != nil {
			writeErr(w, err)
			return
		}
		a := apiAgenda(it)
		res.Agenda = &a
	default:
		writeError(w, api.CodeInvalid, "agenda op %q: want start or add", req.Op)
		return
	}
	s.writeDocItem(w, hash, name, res)
}

// handleDocSnapshot adds the document's save and its Markdown as files,
// shared in the room like any file.
func (s *apiServer) handleDocSnapshot(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	name := r.PathValue("doc")
	save, info, err := s.n.docs.Save(hash, name)
	if err != nil {
		writeErr(w, err)
		return
	}
	v, err := s.n.docs.Get(hash, name)
	if err != nil {
		writeErr(w, err)
		return
	}
	var out api.DocSnapshot
	for _, f := range []struct {
		name string
		data []byte
	}{{info.Name + ".automerge", save}, {info.Name + ".md", []byte(collab.Markdown(v, time.Local))}} {
		res, err := s.n.AddFile(r.Context(), f.name, hash, bytes.NewReader(f.data))
		if err != nil {
			writeErr(w, err)
			return
		}
		a := apiAddResult(res)
		out.Files = append(out.Files, api.FileLink{CID: api.CIDLink{CID: a.Entry.CID}, Name: f.name, Size: a.Entry.Size, MIME: a.MIME})
	}
	writeJSON(w, http.StatusOK, out)
}

// Limits of a page's document WebSocket.
const maxDocSyncMessage = 4<<20 + 4096

// wsDocPeer carries a page's document session: Automerge sync messages
// as binary messages, cursors as api.DocCursor text.
type wsDocPeer struct{ c *websocket.Conn }

func (p wsDocPeer) SendSync(msg []byte) error {
	_ = p.c.SetWriteDeadline(time.Now().Add(browserWriteWait))
	return p.c.WriteMessage(websocket.BinaryMessage, msg)
}

func (p wsDocPeer) SendCursor(from string, cursor []byte) error {
	var c api.DocCursor
	if json.Unmarshal(cursor, &c) != nil {
		return nil
	}
	c.Type, c.Peer = "cursor", from
	_ = p.c.SetWriteDeadline(time.Now().Add(browserWriteWait))
	return p.c.WriteJSON(c)
}

func (p wsDocPeer) Close() error { return p.c.Close() }

func (p wsDocPeer) Recv() (sync []byte, cursor []byte, err error) {
	typ, b, err := p.c.ReadMessage()
	if err != nil {
		return nil, nil, err
	}
	if typ == websocket.BinaryMessage {
		return b, nil, nil
	}
	var c api.DocCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Type != "cursor" {
		return nil, nil, errors.New("a page's text message is no cursor")
	}
	out, _ := json.Marshal(api.DocCursor{Anchor: c.Anchor, Head: c.Head})
	return nil, out, nil
}

// handleDocSync upgrades to a page's document WebSocket and runs its sync
// session (the guard checked the session and the Origin).
func (s *apiServer) handleDocSync(w http.ResponseWriter, r *http.Request) {
	hash, ok := s.docRoom(w, r)
	if !ok {
		return
	}
	name := r.PathValue("doc")
	if _, err := s.n.docs.Get(hash, name); err != nil {
		writeErr(w, err)
		return
	}
	up := websocket.Upgrader{HandshakeTimeout: 10 * time.Second, CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	defer c.Close()
	c.SetReadLimit(maxDocSyncMessage)
	_ = c.SetReadDeadline(time.Now().Add(2 * browserPingPeriod))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(2 * browserPingPeriod)) })
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		t := time.NewTicker(browserPingPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(browserWriteWait)) != nil {
					return
				}
			}
		}
	}()
	if err := s.n.docs.ServePage(ctx, hash, name, wsDocPeer{c}); err != nil && !websocket.IsCloseError(err, websocket.CloseGoingAway, websocket.CloseNormalClosure) {
		s.log.Info("a page's document session ended", "doc", name, "err", err)
	}
}

func apiDocInfo(i collab.Info) api.DocInfo {
	return api.DocInfo{Room: i.Room, Name: i.Name, Kind: string(i.Kind), Size: i.Size, Heads: i.Heads, Created: i.Created, Updated: i.Updated}
}

func apiTodo(t collab.TodoItem) api.TodoItem { return api.TodoItem(t) }

func apiAgenda(a collab.AgendaItem) api.AgendaItem { return api.AgendaItem(a) }

func apiDoc(v collab.View) api.Doc {
	if v.Heads == nil {
		v.Heads = []string{}
	}
	return api.Doc{DocInfo: apiDocInfo(v.Info), Text: v.Text, Todo: mapSlice(v.Todo, apiTodo), Start: v.Start,
		Agenda: mapSlice(v.Agenda, apiAgenda)}
}

func apiReminder(r collab.Reminder) api.Reminder {
	return api.Reminder{Room: r.Room, Doc: r.Doc, Key: r.Key, Title: r.Title, At: r.At, Fired: r.Fired}
}

// reminderChat is a reminder as a line of the room's chat log on this
// node (kind "reminder", no author: nobody sent it).
func reminderChat(r collab.Reminder) api.ChatMessage {
	return api.ChatMessage{Room: r.Room, Seq: uint64(r.ID), Time: r.Fired, Kind: "reminder", Nick: "reminder",
		Text: fmt.Sprintf("%s: %s (%s)", r.Doc, r.Title, r.At.Local().Format("15:04"))}
}

// The documents the chat commands and the CLI's todo and agenda commands
// use unless told otherwise.
const (
	DefaultTodoDoc   = "todo"
	DefaultAgendaDoc = "agenda"
	// chatAgendaMinutes is how long an item /agenda add adds takes.
	chatAgendaMinutes = 10
)

// docChat runs /todo and /agenda: the room's "todo" and "agenda"
// documents, made on first use.
func (n *Node) docChat(ctx context.Context, room string, c api.ChatCommand) (string, error) {
	hash, err := n.rooms.RoomHash(ctx, room)
	if err != nil {
		return "", err
	}
	if !n.docs.Joined(hash) {
		return "", overlay.ErrNotJoined
	}
	verb, rest, _ := strings.Cut(c.Arg, " ")
	rest = strings.TrimSpace(rest)
	name, kind := DefaultTodoDoc, collab.KindTodo
	if c.Name == api.ChatAgenda {
		name, kind = DefaultAgendaDoc, collab.KindAgenda
	}
	if _, err := n.docs.Create(ctx, hash, name, kind); err != nil {
		return "", err
	}
	switch {
	case c.Name == api.ChatTodo && verb == "add":
		it, err := n.docs.TodoAdd(ctx, hash, name, collab.TodoItem{Text: rest})
		if err != nil {
			return "", err
		}
		return "added: " + it.Text, nil
	case c.Name == api.ChatTodo && (verb == "done" || verb == "undone"):
		it, err := n.docs.TodoDone(ctx, hash, name, rest, verb == "done")
		if err != nil {
			return "", err
		}
		return verb + ": " + it.Text, nil
	case c.Name == api.ChatAgenda && verb == "start":
		at, err := parseUserTime(rest)
		if err != nil {
			return "", err
		}
		if _, err := n.docs.AgendaStart(ctx, hash, name, at); err != nil {
			return "", err
		}
	case c.Name == api.ChatAgenda && verb == "add":
		it := collab.AgendaItem{Title: rest, Minutes: chatAgendaMinutes}
		if first, title, ok := strings.Cut(rest, " "); ok {
			if at, err := parseUserTime(first); err == nil {
				it.At, it.Title = at, title
			}
		}
		if _, err := n.docs.AgendaAdd(ctx, hash, name, it); err != nil {
			return "", err
		}
	case verb != "":
		return "", fmt.Errorf("%w /%s %s (see /help)", api.ErrUnknownCommand, c.Name, verb)
	}
	v, err := n.docs.Get(hash, name)
	if err != nil {
		return "", err
	}
	if c.Name == api.ChatTodo {
		return textfmt.FormatTodo(apiDoc(v)), nil
	}
	return textfmt.FormatAgenda(apiDoc(v)), nil
}
