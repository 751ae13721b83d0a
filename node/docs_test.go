package node

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/gorilla/websocket"

	"github.com/fluttershy/face2face/api"
)

// TestDocSyncWebSocket: a page's document WebSocket runs Automerge's sync
// protocol with the daemon (here automerge-go plays the page): the
// page's copy gets the daemon's text, and the page's edit reaches the
// daemon's copy; a text message that is no cursor ends the session.
func TestDocSyncWebSocket(t *testing.T) {
	ctx := testContext(t)
	n := startNode(t)
	c := newClient(t, n)
	room, err := c.CreateRoom(ctx, "lobby", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewDoc(ctx, room.Key, "notes", "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetDocText(ctx, room.Key, "notes", api.DocTextRequest{Text: "from the daemon\n"}); err != nil {
		t.Fatal(err)
	}
	u := "ws://" + n.APIAddr() + api.DocPath(api.PathDocSync, room.Key, "notes")
	h := http.Header{"Authorization": {"Bearer " + token(t, n)}}
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, h)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	defer ws.Close()
	doc := automerge.New()
	ss := automerge.NewSyncState(doc)
	// mu orders the page's writes: after the first exchange a reader
	// answers the daemon's messages, as the page does, while the test
	// writes too.
	var mu sync.Mutex
	send := func() error {
		for {
			m, ok := ss.GenerateMessage()
			if !ok {
				return nil
			}
			if err := ws.WriteMessage(websocket.BinaryMessage, m.Bytes()); err != nil {
				return err
			}
		}
	}
	flush := func() {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	text := func() string {
		v, err := doc.RootMap().Get("text")
		if err != nil || v.Kind() != automerge.KindText {
			return ""
		}
		s, _ := v.Text().Get()
		return s
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for text() != "from the daemon\n" {
		typ, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (text so far %q)", err, text())
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		if _, err := ss.ReceiveMessage(b); err != nil {
			t.Fatal(err)
		}
		flush()
	}
	v, _ := doc.RootMap().Get("text")
	if err := v.Text().Append("from the page\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Commit("page"); err != nil {
		t.Fatal(err)
	}
	flush()
	// The daemon's last answer may come after the text arrived and name
	// what it still needs: answer it, or the edit is never sent whole.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			typ, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.BinaryMessage {
				mu.Lock()
				if _, err := ss.ReceiveMessage(b); err == nil {
					_ = send()
				}
				mu.Unlock()
			}
		}
	}()
	defer func() { _ = ws.Close(); <-done }()
	waitFor(t, "the page's edit at the daemon", func() bool {
		d, err := c.Doc(ctx, room.Key, "notes")
		return err == nil && d.Text == "from the daemon\nfrom the page\n"
	})
	mu.Lock()
	err = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"nonsense"}`))
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session ended", func() bool { return n.Docs().Stats().Sessions == 0 })
	if d, _ := c.Doc(ctx, room.Key, "notes"); !strings.HasSuffix(d.Text, "from the page\n") {
		t.Fatalf("text %q", d.Text)
	}
}
