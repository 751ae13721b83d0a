package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The repo files a client reads: the daemon writes its API address to
// APIFile while it runs; TokenFile holds the token; a repo without
// ConfigFile is not initialised.
const (
	APIFile    = "api"
	TokenFile  = "api.token"
	ConfigFile = "config.json"
)

// Errors of the client itself (no daemon answered).
var (
	// ErrNotInitialised: the repo directory holds no repo.
	ErrNotInitialised = errors.New("repo not initialised")
	// ErrNoDaemon: no daemon serves the repo.
	ErrNoDaemon = errors.New("no daemon is running for this repo")
)

// Client talks to a running daemon through its local API.
type Client struct {
	repo  string
	base  string
	token string
	hc    *http.Client
}

// NewClient reads the repo's api and api.token files. It returns
// ErrNotInitialised when there is no repo at path and ErrNoDaemon when no
// daemon has written an api file.
func NewClient(repoPath string) (*Client, error) {
	if _, err := os.Stat(filepath.Join(repoPath, ConfigFile)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s (run `f2f init --repo %s`)", ErrNotInitialised, repoPath, repoPath)
		}
		return nil, fmt.Errorf("repo %s: %w", repoPath, err)
	}
	b, err := os.ReadFile(filepath.Join(repoPath, APIFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, noDaemon(repoPath)
		}
		return nil, fmt.Errorf("read api file: %w", err)
	}
	addr := strings.TrimSpace(string(b))
	if err := CheckAddr(addr); err != nil {
		return nil, fmt.Errorf("api file %s: %w", filepath.Join(repoPath, APIFile), err)
	}
	tok, err := ReadToken(repoPath)
	if err != nil {
		return nil, err
	}
	return NewClientAddr(repoPath, addr, tok), nil
}

// ReadToken reads a repo's API token.
func ReadToken(repoPath string) (string, error) {
	p := filepath.Join(repoPath, TokenFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("read API token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("API token file %s is empty", p)
	}
	return tok, nil
}

// CheckAddr checks that addr is a host:port on loopback, the only place
// the local API listens.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad API address %q: %v", addr, err)
	}
	if port == "" {
		return fmt.Errorf("bad API address %q: no port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("API address %q is not on loopback (the local API only binds to 127.0.0.0/8 or ::1)", addr)
	}
	return nil
}

// NewClientAddr returns a client for the API at addr with token.
func NewClientAddr(repoPath, addr, token string) *Client {
	return &Client{repo: repoPath, base: "http://" + addr, token: token,
		hc: &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}}
}

// Base is the API's base URL (http://host:port).
func (c *Client) Base() string { return c.base }

func noDaemon(repo string) error {
	return fmt.Errorf("%w: %s (start one with `f2f --repo %s daemon`)", ErrNoDaemon, repo, repo)
}

// maxAnswer bounds a JSON answer the client reads.
const maxAnswer = 64 << 20

// Do sends one request with in as its JSON body (nil: none) and decodes a
// JSON answer into out (nil: ignored). A failed request is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.Send(ctx, method, path, "application/json", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// Send sends one request with a body of content type ctype and returns a
// 2xx response; any other answer is an *Error.
func (c *Client) Send(ctx context.Context, method, path, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, noDaemon(c.repo)
		}
		return nil, fmt.Errorf("API request: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(e)
	if e.Message == "" {
		e.Message = resp.Status
	}
	if e.Code == "" { // not the daemon's answer (a proxy's, a plain text one)
		e.Code = CodeInternal
		if resp.StatusCode == http.StatusNotFound {
			e.Code = CodeNotFound
		}
	}
	if e.Code == CodeUnauthorized {
		e.Message = ErrUnauthorized.Error() + ": " + e.Message
	}
	return nil, e
}

// Version asks the daemon's version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	return v, c.Do(ctx, http.MethodGet, PathVersion, nil, &v)
}

// ID asks the daemon's peer ID and addresses.
func (c *Client) ID(ctx context.Context) (ID, error) {
	var v ID
	return v, c.Do(ctx, http.MethodGet, PathID, nil, &v)
}

// Peers lists the daemon's connected peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var v []Peer
	return v, c.Do(ctx, http.MethodGet, PathPeers, nil, &v)
}

// RoutingTable lists the peers in the daemon's DHT routing table.
func (c *Client) RoutingTable(ctx context.Context) ([]string, error) {
	var v []string
	return v, c.Do(ctx, http.MethodGet, PathRoutingTable, nil, &v)
}

// Connect makes the daemon dial addr (a full multiaddr with /p2p/) and
// returns the peer ID it reached.
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	var v ConnectResponse
	return v.ID, c.Do(ctx, http.MethodPost, PathConnect, ConnectRequest{Addr: addr}, &v)
}

// Events reads the daemon's events stream and calls fn for each event until
// ctx ends, the daemon closes the stream, or fn returns an error.
func (c *Client) Events(ctx context.Context, fn func(Event) error) error {
	resp, err := c.Send(ctx, http.MethodGet, PathEvents, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("bad event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return sc.Err()
}

// RecentEvents returns the node's event timeline, oldest first.
func (c *Client) RecentEvents(ctx context.Context) ([]Event, error) {
	var v []Event
	return v, c.Do(ctx, http.MethodGet, PathEventsRecent, nil, &v)
}

// CreateRoom creates and joins a room.
func (c *Client) CreateRoom(ctx context.Context, name, password string) (Room, error) {
	var v Room
	return v, c.Do(ctx, http.MethodPost, PathRooms, CreateRoomRequest{Name: name, Password: password}, &v)
}

// JoinRoom joins a room by its key.
func (c *Client) JoinRoom(ctx context.Context, key, password string) (Room, error) {
	var v Room
	return v, c.Do(ctx, http.MethodPost, PathRoomJoin, JoinRoomRequest{Key: key, Password: password}, &v)
}

// Rooms lists the daemon's rooms.
func (c *Client) Rooms(ctx context.Context) ([]Room, error) {
	var v []Room
	return v, c.Do(ctx, http.MethodGet, PathRooms, nil, &v)
}

// RoomPeers lists a room's members.
func (c *Client) RoomPeers(ctx context.Context, room string) ([]Member, error) {
	var v []Member
	return v, c.Do(ctx, http.MethodGet, RoomPath(PathRoomPeers, room), nil, &v)
}

// LeaveRoom leaves a room.
func (c *Client) LeaveRoom(ctx context.Context, room string) error {
	return c.Do(ctx, http.MethodPost, RoomPath(PathLeave, room), struct{}{}, nil)
}

// ForgetRoom drops a room and its log (leaving it first when joined).
func (c *Client) ForgetRoom(ctx context.Context, room string) (Room, error) {
	var v Room
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathForget, room), struct{}{}, &v)
}

// Chat sends chat text (or a chat command) to a room.
func (c *Client) Chat(ctx context.Context, room, text string) (SendResult, error) {
	var v SendResult
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathChat, room), ChatRequest{Text: text}, &v)
}

// Log returns a room's chat log from since on (zero: all), at most the last
// limit entries (0: all).
func (c *Client) Log(ctx context.Context, room string, since time.Time, limit int) ([]ChatMessage, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	p := RoomPath(PathLog, room)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var v []ChatMessage
	return v, c.Do(ctx, http.MethodGet, p, nil, &v)
}

// RoomStats returns the room service's drop counters.
func (c *Client) RoomStats(ctx context.Context) (RoomStats, error) {
	var v RoomStats
	return v, c.Do(ctx, http.MethodGet, PathRoomStats, nil, &v)
}

// Mixer returns a room's election state.
func (c *Client) Mixer(ctx context.Context, room string) (MixerInfo, error) {
	var v MixerInfo
	return v, c.Do(ctx, http.MethodGet, RoomPath(PathMixer, room), nil, &v)
}

// SetMixer changes a room's election policy for every member.
func (c *Client) SetMixer(ctx context.Context, room string, req MixerChangeRequest) (MixerInfo, error) {
	var v MixerInfo
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathMixer, room), req, &v)
}

// Probe measures the upload throughput to a member (peer ID or nickname)
// or, with member empty, to every connected member of a room.
func (c *Client) Probe(ctx context.Context, room, member string) ([]ProbeResult, error) {
	var v []ProbeResult
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathProbe, room), ProbeRequest{Peer: member}, &v)
}

// Topo returns the topology graph of a room, or with room empty, of the
// node's own connections.
func (c *Client) Topo(ctx context.Context, room string) (Graph, error) {
	p := PathTopo
	if room != "" {
		p += "?room=" + url.QueryEscape(room)
	}
	var v Graph
	return v, c.Do(ctx, http.MethodGet, p, nil, &v)
}

// AddFile sends r's bytes to be added as a file named name; with room set
// the daemon shares it there.
func (c *Client) AddFile(ctx context.Context, name, room string, r io.Reader) (AddResult, error) {
	q := url.Values{"name": {name}}
	if room != "" {
		q.Set("room", room)
	}
	return c.add(ctx, q, "application/octet-stream", r)
}

// AddDir sends a directory as a tar stream (its first entry the directory
// itself) to be added; with room set the daemon shares it there.
func (c *Client) AddDir(ctx context.Context, room string, tarStream io.Reader) (AddResult, error) {
	q := url.Values{"dir": {"1"}}
	if room != "" {
		q.Set("room", room)
	}
	return c.add(ctx, q, "application/x-tar", tarStream)
}

func (c *Client) add(ctx context.Context, q url.Values, ctype string, body io.Reader) (AddResult, error) {
	var v AddResult
	resp, err := c.Send(ctx, http.MethodPost, PathFileAdd+"?"+q.Encode(), ctype, body)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&v); err != nil {
		return v, fmt.Errorf("decode add answer: %w", err)
	}
	return v, nil
}

// GetFile makes the daemon fetch a file by CID, calling progress (when not
// nil) as it goes. A failed get is an *Error with the get's code
// (CodeNotFound, CodeStalled, CodeInvalid or CodeFailed).
func (c *Client) GetFile(ctx context.Context, cid, name string, timeout time.Duration, progress func(Progress)) (GetEvent, error) {
	q := url.Values{"cid": {cid}}
	if name != "" {
		q.Set("name", name)
	}
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	resp, err := c.Send(ctx, http.MethodPost, PathFileGet+"?"+q.Encode(), "", nil)
	if err != nil {
		return GetEvent{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev GetEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return GetEvent{}, fmt.Errorf("bad get answer: %w", err)
		}
		switch {
		case ev.Error != "":
			return ev, &Error{Message: ev.Error, Code: Code(ev.Code), Status: resp.StatusCode}
		case ev.Entry != nil:
			return ev, nil
		case ev.Progress != nil && progress != nil:
			progress(*ev.Progress)
		}
	}
	if ctx.Err() != nil {
		return GetEvent{}, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return GetEvent{}, fmt.Errorf("get: %w", err)
	}
	return GetEvent{}, errors.New("get: the daemon ended the answer early")
}

// Cat streams a local file's bytes (a directory as tar, then dir is true).
func (c *Client) Cat(ctx context.Context, cid string) (body io.ReadCloser, dir bool, err error) {
	resp, err := c.Send(ctx, http.MethodGet, PathFileCat+"?"+url.Values{"cid": {cid}}.Encode(), "", nil)
	if err != nil {
		return nil, false, err
	}
	return resp.Body, resp.Header.Get("X-F2F-Dir") == "1", nil
}

// Files lists the daemon's complete local files.
func (c *Client) Files(ctx context.Context) ([]File, error) {
	var v []File
	return v, c.Do(ctx, http.MethodGet, PathFiles, nil, &v)
}

// RoomFiles lists the files shared in a room.
func (c *Client) RoomFiles(ctx context.Context, room string) ([]RoomFile, error) {
	var v []RoomFile
	return v, c.Do(ctx, http.MethodGet, PathFiles+"?"+url.Values{"room": {room}}.Encode(), nil, &v)
}

// GatewayURL is the browser link to a file on this daemon's gateway,
// token included (like a Jupyter link): keep it to yourself.
func (c *Client) GatewayURL(cid, name string) string {
	q := url.Values{GatewayTokenParam: {c.token}}
	if name != "" {
		q.Set("filename", name)
	}
	return c.base + PathGateway + url.PathEscape(cid) + "?" + q.Encode()
}

// MediaPublish publishes media files (on the daemon's machine) in a room.
func (c *Client) MediaPublish(ctx context.Context, room string, req PublishRequest) (MediaStats, error) {
	var v MediaStats
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathMediaPublish, room), req, &v)
}

// MediaRecord starts recording a room into dir (absolute).
func (c *Client) MediaRecord(ctx context.Context, room, dir string) (MediaStats, error) {
	var v MediaStats
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathMediaRecord, room), RecordRequest{Dir: dir}, &v)
}

// MediaStop stops publishing and recording in a room.
func (c *Client) MediaStop(ctx context.Context, room string) (StopResult, error) {
	var v StopResult
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathMediaStop, room), nil, &v)
}

// MediaMix asks the room's mixer for one mixed audio stream (and with
// Video one composed picture), or not.
func (c *Client) MediaMix(ctx context.Context, room string, req MixRequest) (MediaStats, error) {
	var v MediaStats
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathMediaMix, room), req, &v)
}

// MediaStats returns a room's media statistics.
func (c *Client) MediaStats(ctx context.Context, room string) (MediaStats, error) {
	var v MediaStats
	return v, c.Do(ctx, http.MethodGet, RoomPath(PathMediaStats, room), nil, &v)
}

// ParsePeerAddr parses a full multiaddr ending in /p2p/<peer id>; errors
// wrap ErrBadMultiaddr.
func ParsePeerAddr(s string) (*peer.AddrInfo, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w \"\": empty (was it printed by `f2f id` of a daemon that was not ready yet? `f2f wait` waits for one)", ErrBadMultiaddr)
	}
	m, err := ma.NewMultiaddr(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadMultiaddr, s, err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return nil, fmt.Errorf("%w %q: it must end in /p2p/<peer id>", ErrBadMultiaddr, s)
	}
	return ai, nil
}

// EnvRepo names the environment variable with the repo dir.
const EnvRepo = "F2F_REPO"

// RepoPath resolves the repo dir: flag, else $F2F_REPO, else ~/.face2face.
func RepoPath(flag string) (string, error) {
	p := flag
	if p == "" {
		p = os.Getenv(EnvRepo)
	}
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --repo given, $%s unset and no home dir: %w", EnvRepo, err)
		}
		p = filepath.Join(home, ".face2face")
	}
	return filepath.Abs(p)
}

// LoginCode makes a one-time code whose URL logs a browser in to the page.
func (c *Client) LoginCode(ctx context.Context) (LoginCode, error) {
	var v LoginCode
	return v, c.Do(ctx, http.MethodPost, PathLoginCode, struct{}{}, &v)
}

// Stage returns a room's stage (its shared tabs).
func (c *Client) Stage(ctx context.Context, room string) (Stage, error) {
	var v Stage
	return v, c.Do(ctx, http.MethodGet, RoomPath(PathStage, room), nil, &v)
}

// SetStage opens, shows or closes a shared file's tab on a room's stage.
func (c *Client) SetStage(ctx context.Context, room, op, cid string) (Stage, error) {
	var v Stage
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathStage, room), StageRequest{Op: op, CID: cid}, &v)
}

// Docs lists a room's documents.
func (c *Client) Docs(ctx context.Context, room string) ([]DocInfo, error) {
	var v []DocInfo
	return v, c.Do(ctx, http.MethodGet, RoomPath(PathDocs, room), nil, &v)
}

// NewDoc creates a document (kind "notes", "todo" or "agenda"; "" is
// notes).
func (c *Client) NewDoc(ctx context.Context, room, name, kind string) (DocInfo, error) {
	var v DocInfo
	return v, c.Do(ctx, http.MethodPost, RoomPath(PathDocs, room), DocCreateRequest{Name: name, Kind: kind}, &v)
}

// Doc reads a document.
func (c *Client) Doc(ctx context.Context, room, name string) (Doc, error) {
	var v Doc
	return v, c.Do(ctx, http.MethodGet, DocPath(PathDoc, room, name), nil, &v)
}

// DocMarkdown reads a document rendered as Markdown.
func (c *Client) DocMarkdown(ctx context.Context, room, name string) (string, error) {
	resp, err := c.Send(ctx, http.MethodGet, DocPath(PathDoc, room, name)+"?format=markdown", "", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return string(b), err
}

// SetDocText edits a notes document (see DocTextRequest).
func (c *Client) SetDocText(ctx context.Context, room, name string, req DocTextRequest) (Doc, error) {
	var v Doc
	return v, c.Do(ctx, http.MethodPost, DocPath(PathDocText, room, name), req, &v)
}

// Todo changes a todo document.
func (c *Client) Todo(ctx context.Context, room, name string, req TodoRequest) (DocItemResult, error) {
	var v DocItemResult
	return v, c.Do(ctx, http.MethodPost, DocPath(PathDocTodo, room, name), req, &v)
}

// Agenda changes an agenda.
func (c *Client) Agenda(ctx context.Context, room, name string, req AgendaRequest) (DocItemResult, error) {
	var v DocItemResult
	return v, c.Do(ctx, http.MethodPost, DocPath(PathDocAgenda, room, name), req, &v)
}

// DocSnapshot adds a document's save and Markdown rendering as files and
// shares them in the room.
func (c *Client) DocSnapshot(ctx context.Context, room, name string) (DocSnapshot, error) {
	var v DocSnapshot
	return v, c.Do(ctx, http.MethodPost, DocPath(PathDocSnapshot, room, name), nil, &v)
}

// DocStats asks the document sync counters.
func (c *Client) DocStats(ctx context.Context) (DocStats, error) {
	var v DocStats
	return v, c.Do(ctx, http.MethodGet, PathDocStats, nil, &v)
}
