package node

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fluttershy/face2face/api"
)

// noRedirect sends one request without following redirects.
func noRedirect(t *testing.T, n *Node, method, path string, edit func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, "http://"+n.APIAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	tr := &http.Transport{Proxy: nil}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestBrowserLogin: `f2f open`'s code logs a browser in once, with an
// HttpOnly SameSite=Strict cookie that is not the token; the cookie opens
// the API from the page's own origin only and cannot make more codes.
func TestBrowserLogin(t *testing.T) {
	n := startNode(t)
	tok, err := api.ReadToken(n.RepoPath())
	if err != nil {
		t.Fatal(err)
	}
	// The page is public and locked to its origin.
	page := apiDo(t, n, "GET", "/", nil, nil)
	if page.code != 200 || !strings.Contains(string(page.body), "/ui/app.js") {
		t.Fatalf("GET /: %d %q", page.code, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("GET /: CSP %q", csp)
	}
	if r := apiDo(t, n, "GET", "/ui/nope.js", nil, nil); r.code != 404 {
		t.Fatalf("GET /ui/nope.js: %d", r.code)
	}
	// Without a code or cookie the API is closed.
	if r := apiDo(t, n, "GET", api.PathRooms, nil, nil); r.code != 401 {
		t.Fatalf("rooms without auth: %d", r.code)
	}
	if r := apiDo(t, n, "POST", api.PathLoginCode, strings.NewReader("{}"), nil); r.code != 401 {
		t.Fatalf("login code without the token: %d", r.code)
	}
	r := apiDo(t, n, "POST", api.PathLoginCode, strings.NewReader("{}"), bearer(tok))
	var lc api.LoginCode
	if err := json.Unmarshal(r.body, &lc); err != nil || r.code != 200 || lc.Code == "" {
		t.Fatalf("login code: %d %q %v", r.code, r.body, err)
	}
	if strings.Contains(lc.URL, tok) || !strings.HasPrefix(lc.URL, "http://"+n.APIAddr()+"/login?code=") {
		t.Fatalf("login URL %q", lc.URL)
	}
	login := noRedirect(t, n, "GET", "/login?code="+lc.Code, nil)
	var session *http.Cookie
	for _, c := range login.Cookies() {
		if c.Name == api.SessionCookieName(n.APIAddr()) {
			session = c
		}
	}
	if login.StatusCode != http.StatusSeeOther || login.Header.Get("Location") != "/" || session == nil {
		t.Fatalf("login: %d %q cookies %v", login.StatusCode, login.Header.Get("Location"), login.Cookies())
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, tok) {
		t.Fatalf("session cookie %+v", session)
	}
	// The code is spent.
	again := noRedirect(t, n, "GET", "/login?code="+lc.Code, nil)
	if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != "/?login=expired" || len(again.Cookies()) != 0 {
		t.Fatalf("second login: %d %q %v", again.StatusCode, again.Header.Get("Location"), again.Cookies())
	}
	withCookie := func(site, origin string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(session)
			if site != "" {
				r.Header.Set("Sec-Fetch-Site", site)
			}
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
		}
	}
	if r := apiDo(t, n, "GET", api.PathRooms, nil, withCookie("same-origin", "http://"+n.APIAddr())); r.code != 200 {
		t.Fatalf("rooms with the cookie: %d %q", r.code, r.body)
	}
	for _, c := range []struct{ site, origin string }{
		{"same-site", ""}, {"cross-site", ""}, {"", "http://evil.example"}, {"", "http://127.0.0.1:1"},
	} {
		r := apiDo(t, n, "POST", api.PathRooms, strings.NewReader(`{"name":"x"}`), withCookie(c.site, c.origin))
		if r.code != 401 && r.code != 403 {
			t.Errorf("create a room with the cookie from site %q origin %q: %d %q", c.site, c.origin, r.code, r.body)
		}
	}
	if r := apiDo(t, n, "POST", api.PathLoginCode, strings.NewReader("{}"), withCookie("same-origin", "")); r.code != 401 {
		t.Fatalf("login code with the cookie: %d", r.code)
	}
	forged := *session
	forged.Value = strings.Repeat("0", 32) + "." + strings.Split(session.Value, ".")[1]
	if r := apiDo(t, n, "GET", api.PathRooms, nil, func(r *http.Request) { r.AddCookie(&forged) }); r.code != 401 {
		t.Fatalf("forged cookie: %d", r.code)
	}
}

// TestUIFilesCompressed: the page's modules are served gzip-compressed
// with an ETag, and unchanged on revalidation.
func TestUIFilesCompressed(t *testing.T) {
	n := startNode(t)
	r := apiDo(t, n, "GET", "/ui/vendor/htm-preact-standalone.module.js", nil, func(r *http.Request) {
		r.Header.Set("Accept-Encoding", "gzip")
	})
	if r.code != 200 || r.header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("vendored module: %d %v", r.code, r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), "export{") {
		t.Fatalf("gunzipped module: %v %q", err, b[:min(len(b), 80)])
	}
	etag := r.header.Get("ETag")
	if r := apiDo(t, n, "GET", "/ui/vendor/htm-preact-standalone.module.js", nil, func(r *http.Request) {
		r.Header.Set("If-None-Match", etag)
	}); r.code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", r.code)
	}
}
