package node

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/web"
)

// Login codes: one use each, short-lived, few at a time.
const (
	loginCodeTTL  = 2 * time.Minute
	maxLoginCodes = 32
	// sessionMaxAge is how long a browser keeps its session cookie.
	sessionMaxAge = 7 * 24 * time.Hour
)

// loginCodes holds the one-time codes `f2f open` asked for.
type loginCodes struct {
	mu    sync.Mutex
	codes map[string]time.Time // code -> expiry
}

func (l *loginCodes) issue(now time.Time) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.codes == nil {
		l.codes = map[string]time.Time{}
	}
	for c, exp := range l.codes {
		if now.After(exp) {
			delete(l.codes, c)
		}
	}
	for len(l.codes) >= maxLoginCodes { // drop the oldest
		var oldest string
		for c, exp := range l.codes {
			if oldest == "" || exp.Before(l.codes[oldest]) {
				oldest = c
			}
		}
		delete(l.codes, oldest)
	}
	l.codes[code] = now.Add(loginCodeTTL)
	return code
}

// redeem reports whether code is a live code, and spends it.
func (l *loginCodes) redeem(code string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	exp, ok := l.codes[code]
	delete(l.codes, code)
	return ok && now.Before(exp)
}

// A session cookie is "<id>.<mac>": a random id and its HMAC under the API
// token, so that it stays valid across daemon restarts (the token is the
// repo's) and never reveals the token.
func sessionMAC(token, id string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("f2f browser session v1\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newSessionValue(token string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	return id + "." + sessionMAC(token, id)
}

func validSession(token, v string) bool {
	id, mac, ok := strings.Cut(v, ".")
	if !ok || len(id) != 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(mac), []byte(sessionMAC(token, id))) == 1
}

// sessionOK reports whether r carries a valid session cookie and comes from
// the page itself: a browser names the site a request comes from
// (Sec-Fetch-Site), and the cookie counts only for our own origin or a
// navigation the user typed or opened ("none"). SameSite=Strict alone
// would still let another port of this host (the same site) use it.
func (s *apiServer) sessionOK(r *http.Request) bool {
	c, err := r.Cookie(api.SessionCookieName(s.addr))
	if err != nil || !validSession(s.token, c.Value) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// handleLoginCode makes a one-time login code and its URL.
func (s *apiServer) handleLoginCode(w http.ResponseWriter, r *http.Request) {
	code := s.logins.issue(time.Now())
	u := "http://" + s.addr + api.PathLogin + "?code=" + code
	writeJSON(w, http.StatusOK, api.LoginCode{Code: code, URL: u, Expires: time.Now().Add(loginCodeTTL)})
}

// handleLogin spends a one-time code for a session cookie and sends the
// browser to the page (the browser keeps the URL's #fragment, which names
// the room). A spent or unknown code leads to the page, which says so.
func (s *apiServer) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.logins.redeem(r.URL.Query().Get("code"), time.Now()) {
		http.Redirect(w, r, api.PathUI+"?login=expired", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: api.SessionCookieName(s.addr), Value: newSessionValue(s.token), Path: "/",
		MaxAge: int(sessionMaxAge / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, api.PathUI, http.StatusSeeOther)
}

// uiFile is one static file, with its gzip form when that is smaller.
type uiFile struct {
	body, gz []byte
	ctype    string
	etag     string
}

// uiFiles loads the embedded files once.
type uiFiles struct {
	once  sync.Once
	files map[string]*uiFile
}

func (u *uiFiles) get(name string) *uiFile {
	u.once.Do(func() {
		u.files = map[string]*uiFile{}
		_ = fs.WalkDir(web.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
				return nil
			}
			b, err := fs.ReadFile(web.FS, p)
			if err != nil {
				return nil
			}
			f := &uiFile{body: b, ctype: mime.TypeByExtension(path.Ext(p))}
			if f.ctype == "" {
				f.ctype = "application/octet-stream"
			}
			sum := sha256.Sum256(b)
			f.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(b)
			_ = zw.Close()
			if buf.Len() < len(b) {
				f.gz = buf.Bytes()
			}
			u.files[p] = f
			return nil
		})
	})
	return u.files[name]
}

// uiCSP keeps the page to its own origin: scripts, styles, connections
// (the API, its events and the media WebSocket) and frames (gateway files
// on the stage) come from the daemon only; media and images also from
// blob: (local previews). 'wasm-unsafe-eval' lets the page compile
// Automerge's WebAssembly (its own file, served from here); it allows no
// eval of JavaScript.
const uiCSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; frame-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// handleUI serves the page and its static files (no token: they hold no
// secret; the page logs in with its cookie).
func (s *apiServer) handleUI(w http.ResponseWriter, r *http.Request) {
	name := "index.html"
	if r.URL.Path != api.PathUI {
		name = strings.TrimPrefix(r.URL.Path, api.PathUIFiles)
	}
	f := s.ui.get(name)
	if f == nil || name == "index.html" && r.URL.Path != api.PathUI {
		writeError(w, api.CodeNotFound, "no such file %q", r.URL.Path)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache") // revalidate: a new daemon may serve a new page
	if name == "index.html" {
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
	}
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (s *apiServer) routeUI(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleUI)
	mux.HandleFunc("GET "+api.PathUIFiles, s.handleUI)
	mux.HandleFunc("GET "+api.PathLogin, s.handleLogin)
	mux.HandleFunc("POST "+api.PathLoginCode, s.handleLoginCode)
}

// publicPath reports whether a path is served without a token or session:
// the page, its files and the login.
func publicPath(p string) bool {
	return p == api.PathUI || p == api.PathLogin || strings.HasPrefix(p, api.PathUIFiles)
}
