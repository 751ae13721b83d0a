package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
)

// TestOpenAndStage: `f2f open ROOM` prints a one-time login URL for that
// room (the token nowhere in it) that logs a browser in once; `f2f room
// stage` puts a shared file on the room's stage and refuses one that was
// not shared.
func TestOpenAndStage(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 60*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")
	startDaemon(ctx, t, repo)
	out := cliOK(ctx, t, repo, "room", "create", "lobby")
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	u := strings.TrimSpace(cliOK(ctx, t, repo, "open", "lobby"))
	token := strings.TrimSpace(string(readFile(t, repo, api.TokenFile)))
	addr := strings.TrimSpace(string(readFile(t, repo, api.APIFile)))
	if !strings.HasPrefix(u, "http://"+addr+"/login?code=") || !strings.HasSuffix(u, "#room="+url.QueryEscape(key)) || strings.Contains(u, token) {
		t.Fatalf("open printed %q", u)
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func() *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.Split(u, "#")[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := login(); r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 1 || r.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %v %q", r.StatusCode, r.Cookies(), r.Header.Get("Location"))
	}
	if r := login(); r.Header.Get("Location") != "/?login=expired" {
		t.Fatalf("second login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if res := cli(ctx, t, repo, "open", "nowhere"); res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "no joined room is called") {
		t.Fatalf("open of an unknown room: %d %q", res.Code, res.Stderr)
	}

	// The stage.
	if out := cliOK(ctx, t, repo, "room", "stage", "lobby"); !strings.Contains(out, "the stage is empty") {
		t.Fatalf("empty stage: %q", out)
	}
	writeFile(t, repo, "slide.txt", "the agenda\n")
	added := strings.TrimSpace(cliOK(ctx, t, repo, "file", "add", filepath.Join(repo, "slide.txt"), "--room", "lobby"))
	cid := added[strings.LastIndex(added, "\n")+1:]
	if out := cliOK(ctx, t, repo, "room", "stage", "lobby", "--open", cid); !strings.Contains(out, "*") || !strings.Contains(out, "slide.txt") {
		t.Fatalf("stage after --open: %q", out)
	}
	if log := cliOK(ctx, t, repo, "chat", "log", "lobby"); !strings.Contains(log, "put slide.txt on the stage") {
		t.Fatalf("the chat log lacks the stage change: %q", log)
	}
	res := cli(ctx, t, repo, "room", "stage", "lobby", "--open", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "was shared in this room") {
		t.Fatalf("stage of a file never shared: %d %q", res.Code, res.Stderr)
	}

	// A late joiner gets the same stage (it is room state, in the log).
	late := filepath.Join(t.TempDir(), "late")
	startDaemon(ctx, t, late, "--bootstrap", tcpAddr(t, idLines(ctx, t, repo)))
	cliOK(ctx, t, late, "room", "join", key)
	for {
		out := cliOK(ctx, t, late, "room", "stage", key)
		if strings.Contains(out, "*") && strings.Contains(out, "slide.txt") && strings.Contains(out, cid) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the late joiner's stage: %q", out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
