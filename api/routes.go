package api

import (
	"net/url"
	"strings"
)

// Prefix is the path prefix of every API route but the gateway and
// /metrics. Every request needs "Authorization: Bearer <token>" (the
// repo's api.token file), a loopback Host and no foreign Origin.
const Prefix = "/api/v1"

// Route paths. {room} is a room key, hash or unique local name,
// path-escaped (see RoomPath).
const (
	PathVersion      = Prefix + "/version"
	PathID           = Prefix + "/id"
	PathPeers        = Prefix + "/peers"
	PathConnect      = Prefix + "/connect"
	PathRoutingTable = Prefix + "/dht/routing-table"
	PathEvents       = Prefix + "/events"
	PathEventsRecent = Prefix + "/events/recent"
	PathTopo         = Prefix + "/topo"

	PathRooms     = Prefix + "/rooms"
	PathRoomJoin  = Prefix + "/rooms/join"
	PathRoomStats = Prefix + "/rooms/stats"
	PathRoom      = Prefix + "/rooms/{room}"
	PathRoomPeers = PathRoom + "/peers"
	PathLeave     = PathRoom + "/leave"
	PathForget    = PathRoom + "/forget"
	PathChat      = PathRoom + "/chat"
	PathLog       = PathRoom + "/log"
	PathMixer     = PathRoom + "/mixer"
	PathProbe     = PathRoom + "/probe"
	PathStage     = PathRoom + "/stage"
	// The room's collaborative documents.
	PathDocs        = PathRoom + "/docs"
	PathDoc         = PathRoom + "/docs/{doc}"
	PathDocText     = PathDoc + "/text"
	PathDocTodo     = PathDoc + "/todo"
	PathDocAgenda   = PathDoc + "/agenda"
	PathDocSnapshot = PathDoc + "/snapshot"
	// PathDocSync is a page's sync session with its daemon: a WebSocket
	// of Automerge sync messages (binary) and cursors (DocCursor JSON).
	PathDocSync  = PathDoc + "/sync"
	PathDocStats = Prefix + "/docs/stats"

	PathMediaPublish = PathRoom + "/media/publish"
	PathMediaRecord  = PathRoom + "/media/record"
	PathMediaStop    = PathRoom + "/media/stop"
	PathMediaMix     = PathRoom + "/media/mix"
	PathMediaStats   = PathRoom + "/media/stats"
	// PathMediaBrowser is the page's media session: a WebSocket of
	// MediaSignal messages (see README.md).
	PathMediaBrowser = PathRoom + "/media/browser"

	PathFiles   = Prefix + "/files"
	PathFileAdd = Prefix + "/files/add"
	PathFileGet = Prefix + "/files/get"
	PathFileCat = Prefix + "/files/cat"

	// PathGateway serves files to a browser: /ipfs/<cid>[/path]; the token
	// may come as ?token= (then a cookie, GatewayCookie, keeps it).
	PathGateway = "/ipfs/"
	// PathMetrics serves Prometheus metrics.
	PathMetrics = "/metrics"
)

// GatewayCookie carries the API token for gateway pages in a browser;
// GatewayTokenParam is the query parameter a gateway link carries it in.
const (
	GatewayCookie     = "f2f_token"
	GatewayTokenParam = "token"
)

// Route is one method and path of the API.
type Route struct {
	Method string
	Path   string
}

// Pattern is the route as a net/http ServeMux pattern.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Routes lists every route the daemon serves (README.md documents each).
var Routes = []Route{
	{"GET", PathVersion}, {"GET", PathID}, {"GET", PathPeers}, {"POST", PathConnect},
	{"GET", PathRoutingTable}, {"GET", PathEvents}, {"GET", PathEventsRecent}, {"GET", PathTopo},
	{"GET", PathRooms}, {"POST", PathRooms}, {"POST", PathRoomJoin}, {"GET", PathRoomStats},
	{"GET", PathRoomPeers}, {"POST", PathLeave}, {"POST", PathForget}, {"POST", PathChat}, {"GET", PathLog},
	{"GET", PathMixer}, {"POST", PathMixer}, {"POST", PathProbe}, {"GET", PathStage}, {"POST", PathStage},
	{"POST", PathMediaPublish}, {"POST", PathMediaRecord}, {"POST", PathMediaStop}, {"POST", PathMediaMix},
	{"GET", PathMediaStats}, {"GET", PathMediaBrowser},
	{"GET", PathDocs}, {"POST", PathDocs}, {"GET", PathDoc}, {"POST", PathDocText}, {"POST", PathDocTodo},
	{"POST", PathDocAgenda}, {"POST", PathDocSnapshot}, {"GET", PathDocSync}, {"GET", PathDocStats},
	{"GET", PathFiles}, {"POST", PathFileAdd}, {"POST", PathFileGet}, {"GET", PathFileCat},
	{"GET", PathGateway}, {"HEAD", PathGateway}, {"GET", PathMetrics},
	{"POST", PathLoginCode}, {"GET", PathLogin}, {"GET", PathUI}, {"GET", PathUIFiles},
}

// RoomPath fills a {room} path with a room reference.
func RoomPath(path, room string) string {
	return strings.Replace(path, "{room}", url.PathEscape(room), 1)
}

// DocPath fills a {room}/docs/{doc} path.
func DocPath(path, room, doc string) string {
	return strings.Replace(RoomPath(path, room), "{doc}", url.PathEscape(doc), 1)
}

// The browser UI's routes (outside Prefix, no bearer token: a browser logs
// in with a one-time code and then carries SessionCookie).
const (
	// PathUI is the page (GET /) and PathUIFiles its static files.
	PathUI      = "/"
	PathUIFiles = "/ui/"
	// PathLogin exchanges a one-time code (?code=) for SessionCookie and
	// sends the browser on to the page.
	PathLogin = "/login"
	// PathLoginCode makes a one-time login code (bearer token only).
	PathLoginCode = Prefix + "/login/code"
	// SessionCookie is the prefix of the browser's session cookie, named
	// f2f_session_<API port> (a browser keeps cookies per host, not per
	// port: two daemons of one machine must not overwrite each other's):
	// HttpOnly, SameSite=Strict, valid on the API, the gateway and the
	// media WebSocket.
	SessionCookie = "f2f_session"
)

// SessionCookieName is the session cookie's name for the API at addr
// (HOST:PORT).
func SessionCookieName(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return SessionCookie + "_" + addr[i+1:]
	}
	return SessionCookie
}
