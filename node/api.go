package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fluttershy/face2face/api"
)

// maxRequestBody bounds a JSON request body.
const maxRequestBody = 1 << 20

type apiServer struct {
	n     *Node
	token string
	addr  string
	srv   *http.Server
	file  string
	done  chan struct{}
	log   *slog.Logger

	logins loginCodes
	ui     uiFiles
}

// newAPIServer listens on addr (falling back to a free port on the same host
// when addr is busy and not strict), writes the repo's api file and serves.
func newAPIServer(n *Node, addr string, strict bool) (*apiServer, error) {
	tok, err := api.ReadToken(n.repo.Path)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && !strict && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		n.log.Info("API port busy, taking a free one", "addr", addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("API listen on %s: %w", addr, unwrapListenErr(err))
	}
	s := &apiServer{n: n, token: tok, addr: ln.Addr().String(), file: filepath.Join(n.repo.Path, APIFile),
		done: make(chan struct{}), log: n.log.With("subsystem", "api")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathVersion, s.handleVersion)
	mux.HandleFunc("GET "+api.PathID, s.handleID)
	mux.HandleFunc("GET "+api.PathPeers, s.handlePeers)
	mux.HandleFunc("POST "+api.PathConnect, s.handleConnect)
	mux.HandleFunc("GET "+api.PathRoutingTable, s.handleRoutingTable)
	mux.HandleFunc("GET "+api.PathEvents, s.handleEvents)
	s.routeRooms(mux)
	s.routeFiles(mux)
	s.routeActivity(mux)
	s.routeMedia(mux)
	s.routeDocs(mux)
	s.routeUI(mux)
	s.srv = &http.Server{
		Handler:           s.guard(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return n.ctx },
	}
	if err := writeFileAtomic(s.file, []byte(s.addr+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("write api file: %w", err)
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server", "err", err)
		}
	}()
	return s, nil
}

// Close stops the server and removes the api file.
func (s *apiServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	if rerr := os.Remove(s.file); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// guard enforces the local API's rules before any handler runs: the Host
// header must name a loopback host (against DNS rebinding), an Origin
// header must be the API's own origin (no cross-origin browser requests),
// and the bearer token must match.
func (s *apiServer) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeError(w, api.CodeForbidden, "host %q is not a loopback address", r.Host)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Scheme != "http" || u.Host != r.Host {
				writeError(w, api.CodeForbidden, "cross-origin request from %q rejected", o)
				return
			}
		}
		// No page of ours or of the gateway tells another site where it
		// came from (a gateway URL may carry the token).
		w.Header().Set("Referrer-Policy", "no-referrer")
		if publicPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		fromQuery := false
		if !ok && r.URL.Path != api.PathLoginCode && s.sessionOK(r) {
			// The browser page: its session cookie stands for the token
			// (but cannot make login codes).
			tok, ok = s.token, true
		}
		if !ok && strings.HasPrefix(r.URL.Path, api.PathGateway) {
			// A browser opening a gateway link has no header: the token
			// comes in the link (then a cookie keeps it for the links of
			// the page) or in that cookie.
			if t := r.URL.Query().Get(api.GatewayTokenParam); t != "" {
				tok, ok, fromQuery = t, true, true
			} else if c, err := r.Cookie(api.GatewayCookie); err == nil {
				tok, ok = c.Value, true
			}
		}
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="f2f"`)
			writeError(w, api.CodeUnauthorized, "missing or wrong API token (see the repo's %s; a browser logs in with a link from `f2f open`)", TokenFile)
			return
		}
		if fromQuery {
			http.SetCookie(w, &http.Cookie{Name: api.GatewayCookie, Value: tok, Path: api.PathGateway,
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			if r.Header.Get("Sec-Fetch-Mode") == "navigate" {
				// A browser keeps the cookie: send it on to the same URL
				// without the token, so that the token leaves the address
				// bar, the history and any Referer.
				q := r.URL.Query()
				q.Del(api.GatewayTokenParam)
				u := *r.URL
				u.RawQuery = q.Encode()
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
				return
			}
			// Other clients (curl) may keep no cookies: the token stays in
			// the URL, and so in the directory redirect's Location.
		}
		// Bodies are small JSON, except a file being added.
		if r.URL.Path != api.PathFileAdd {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the API's error shape (see api.Error).
func writeError(w http.ResponseWriter, code api.Code, format string, args ...any) {
	writeJSON(w, code.Status(), api.Error{Message: fmt.Sprintf(format, args...), Code: code})
}

// writeErr answers with err, its code found by errorCode.
func writeErr(w http.ResponseWriter, err error) {
	writeError(w, errorCode(err), "%v", err)
}

func (s *apiServer) handleVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, api.Version{Version: Version})
}

func (s *apiServer) handleID(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.n.Info())
}

func (s *apiServer) handlePeers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.n.Peers())
}

func (s *apiServer) handleRoutingTable(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.n.RoutingTable())
}

func (s *apiServer) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req api.ConnectRequest
	if !decodeBody(w, r, &req) {
		return
	}
	id, err := s.n.Connect(r.Context(), req.Addr)
	if err != nil {
		code := errorCode(err)
		if code == api.CodeInternal {
			code = api.CodeFailed // the dial failed
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.ConnectResponse{ID: id.String()})
}

// handleEvents streams the node's events as server-sent events, one JSON
// Event per "data:" line, until the client goes or the node closes.
func (s *apiServer) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, api.CodeInternal, "streaming unsupported")
		return
	}
	ch, cancel := s.n.events.Subscribe(64)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "event: %s\ndata: {\"type\":%q}\n\n", api.EventStreamReady, api.EventStreamReady)
	fl.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		case ev, ok := <-ch:
			if !ok {
				return
			}
			b, err := json.Marshal(apiEvent(ev))
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			fl.Flush()
		}
	}
}
