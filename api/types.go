package api

import (
	"encoding/json"
	"time"
)

// The API's request and response types. Their JSON is the contract: the
// daemon converts its packages' own types to these, so renaming a field
// in a leaf package cannot change what clients see. README.md lists which
// route takes and returns which.

// Version answers GET /api/v1/version.
type Version struct {
	Version string `json:"version"`
}

// ID answers GET /api/v1/id.
type ID struct {
	ID           string   `json:"id"`
	Addresses    []string `json:"addresses"`
	AgentVersion string   `json:"agent_version"`
	Protocols    []string `json:"protocols"`
	// Connecting is true while the daemon still dials its bootstrap and
	// known peers after starting.
	Connecting bool `json:"connecting"`
	// NAT says how the node is reachable.
	NAT NATStatus `json:"nat"`
}

// NATStatus says how a node is reachable through NATs.
type NATStatus struct {
	// Reachability is AutoNAT's verdict: "public", "private" (behind a
	// NAT or firewall) or "unknown".
	Reachability string `json:"reachability"`
	// Summary is the line `f2f id` and the page show.
	Summary string `json:"summary"`
	// PublicAddresses are the node's public addresses; RelayAddresses its
	// /p2p-circuit addresses through the relays it holds a reservation on.
	PublicAddresses []string `json:"public_addresses,omitempty"`
	RelayAddresses  []string `json:"relay_addresses,omitempty"`
	// Direct and Relayed count the connected peers by the best connection
	// to each (a hole-punched connection is direct).
	Direct  int `json:"direct"`
	Relayed int `json:"relayed"`
	// TURN are the addresses of the STUN and TURN server the node runs for
	// its rooms' members (public nodes only), with its live allocations
	// and relayed bytes.
	TURN            []string `json:"turn,omitempty"`
	TURNAllocations int      `json:"turn_allocations,omitempty"`
	TURNBytes       uint64   `json:"turn_bytes,omitempty"`
	// RelayServiceBytes is what the circuit relay service carried for
	// others (in and out).
	RelayServiceBytes uint64 `json:"relay_service_bytes,omitempty"`
}

// Peer is one connected peer (GET /api/v1/peers).
type Peer struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// Relayed: the connection goes through a relay (Addr is a
	// /p2p-circuit address); false for a direct or hole-punched one.
	Relayed        bool    `json:"relayed,omitempty"`
	Direction      string  `json:"direction"`
	LatencyMS      float64 `json:"latency_ms"`
	InRoutingTable bool    `json:"in_routing_table"`
}

// ConnectRequest is the body of POST /api/v1/connect.
type ConnectRequest struct {
	// Addr is a full multiaddr ending in /p2p/<peer id>.
	Addr string `json:"addr"`
}

// ConnectResponse answers POST /api/v1/connect.
type ConnectResponse struct {
	ID string `json:"id"`
}

// Event is one item of the events stream (GET /api/v1/events) and of the
// timeline (GET /api/v1/events/recent). Data's shape depends on Type (see
// the Event... constants).
type Event struct {
	Type string          `json:"type"`
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Decode decodes the event's data into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Data, v) }

// CreateRoomRequest is the body of POST /api/v1/rooms.
type CreateRoomRequest struct {
	Name     string `json:"name"`
	Password string `json:"password,omitempty"`
}

// JoinRoomRequest is the body of POST /api/v1/rooms/join.
type JoinRoomRequest struct {
	Key      string `json:"key"`
	Password string `json:"password,omitempty"`
}

// Room is a room the daemon knows.
type Room struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Hash     string `json:"hash"`
	Password bool   `json:"password"`
	Joined   bool   `json:"joined"`
	Nick     string `json:"nick"`
	// Members counts the members present, the node included.
	Members  int `json:"members"`
	Messages int `json:"messages"`
}

// LeaveResponse answers POST /api/v1/rooms/{room}/leave.
type LeaveResponse struct {
	Left bool `json:"left"`
}

// Member is one member of a room (GET /api/v1/rooms/{room}/peers).
type Member struct {
	ID        string    `json:"id"`
	Nick      string    `json:"nick"`
	Connected bool      `json:"connected"`
	RTTMS     float64   `json:"rtt_ms"`
	LastSeen  time.Time `json:"last_seen"`
	Gone      bool      `json:"gone"`
	// Proven: the member proved it knows a password room's password.
	Proven bool `json:"proven"`
}

// ChatRequest is the body of POST /api/v1/rooms/{room}/chat: text, or a
// chat command (/nick, /me, /who, /mixer, /help; // sends a leading /).
type ChatRequest struct {
	Text string `json:"text"`
}

// CIDLink is a CID in IPLD's JSON form, {"/": "bafy..."}.
type CIDLink struct {
	CID string `json:"/"`
}

// FileLink is a shared file's link, as a chat message carries it.
type FileLink struct {
	CID  CIDLink `json:"cid"`
	Name string  `json:"name"`
	Size uint64  `json:"size"`
	MIME string  `json:"mime"`
}

// ChatMessage is one entry of a room's log. Kind is "chat", "me", "nick",
// "join", "leave", "file" (then File is set and Text is its name) or
// "stage" (then Stage is set and Text describes it).
type ChatMessage struct {
	Room    string    `json:"room"`
	Author  string    `json:"author"`
	Nick    string    `json:"nick"`
	Seq     uint64    `json:"seq"`
	Lamport uint64    `json:"lamport"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Text    string    `json:"text"`
	File    *FileLink `json:"file,omitempty"`
	// Stage is the change of a "stage" message (Text describes it).
	Stage *StageOp `json:"stage,omitempty"`
}

// StageOp is one change of a room's stage: op "open" (a shared file
// becomes a tab, and shows), "show" or "close".
type StageOp struct {
	Op   string   `json:"op"`
	File FileLink `json:"file"`
}

// StageTab is one open tab of a room's stage.
type StageTab struct {
	File FileLink  `json:"file"`
	By   string    `json:"by"`
	Nick string    `json:"nick"`
	Time time.Time `json:"time"`
}

// Stage is a room's stage (GET /api/v1/rooms/{room}/stage): the open tabs
// in the order they were opened, and the CID of the one showing.
type Stage struct {
	Room    string     `json:"room"`
	Tabs    []StageTab `json:"tabs"`
	Showing string     `json:"showing,omitempty"`
}

// StageRequest is the body of POST /api/v1/rooms/{room}/stage: op
// ("open", "show" or "close") on a file shared in the room, by CID.
type StageRequest struct {
	Op  string `json:"op"`
	CID string `json:"cid"`
}

// SendResult answers POST /api/v1/rooms/{room}/chat: the message sent,
// or a command's output.
type SendResult struct {
	Sent    bool         `json:"sent"`
	Message *ChatMessage `json:"message,omitempty"`
	Output  string       `json:"output,omitempty"`
}

// RoomStats are the room service's counters (GET /api/v1/rooms/stats).
type RoomStats struct {
	Accepted     uint64 `json:"accepted"`
	Malformed    uint64 `json:"malformed"`
	Oversize     uint64 `json:"oversize"`
	BadSig       uint64 `json:"bad_signature"`
	Foreign      uint64 `json:"foreign"`
	Replayed     uint64 `json:"replayed"`
	RateLimit    uint64 `json:"rate_limited"`
	Synced       uint64 `json:"synced"`
	ClockJump    uint64 `json:"clock_jump"`
	ElectIgnored uint64 `json:"elect_ignored"`
	NewAuthor    uint64 `json:"new_author_limited"`
	// VotesDirect and VotesPublished are the election votes taken
	// straight from voters and from the control topic.
	VotesDirect    uint64 `json:"votes_direct"`
	VotesPublished uint64 `json:"votes_published"`
}

// Reachability is a member's reachability as AutoNAT sees it: 0 unknown,
// 1 public, 2 private.
type Reachability uint8

// String names the reachability.
func (r Reachability) String() string {
	switch r {
	case 1:
		return "public"
	case 2:
		return "private"
	}
	return "unknown"
}

// CapReport is a member's capability report, what the election scores.
type CapReport struct {
	UploadBps         uint64       `json:"upload_bps"`
	RTTMicros         uint64       `json:"rtt_us"`
	Cores             uint64       `json:"cores"`
	EncodeMicros      uint64       `json:"encode_us"`
	Reach             Reachability `json:"reach"`
	UptimeSec         uint64       `json:"uptime_s"`
	Probed            uint64       `json:"probed"`
	MediaOutBps       uint64       `json:"media_out_bps,omitempty"`
	MediaEncodeMicros uint64       `json:"media_encode_us,omitempty"`
	// ComposeMicros is the member's CPU time to compose and encode one
	// frame of composed video (measured while composing, else calibrated).
	ComposeMicros uint64 `json:"compose_us,omitempty"`
	// Relayed counts the members it reaches only through a relay (such a
	// member is not elected while another can be); TURN lists its STUN and
	// TURN server's addresses.
	Relayed uint64   `json:"relayed,omitempty"`
	TURN    []string `json:"turn,omitempty"`
}

// Policy is a room's election policy.
type Policy struct {
	Seq      uint64 `json:"seq"`
	Setter   string `json:"setter,omitempty"`
	Pin      string `json:"pin,omitempty"`
	MeshMax  uint64 `json:"mesh_max,omitempty"`
	Topology string `json:"topology,omitempty"`
}

// MemberScore is one member's line of a room's election state.
type MemberScore struct {
	ID     string     `json:"id"`
	Nick   string     `json:"nick"`
	Score  uint64     `json:"score"`
	Report *CapReport `json:"report,omitempty"`
	Alive  bool       `json:"alive"`
	Mixer  bool       `json:"mixer"`
	Me     bool       `json:"me"`
}

// MixerChange is one change of a room's mixer (also the data of
// EventMixerChanged).
type MixerChange struct {
	Room   string    `json:"room"`
	Time   time.Time `json:"time"`
	Term   uint64    `json:"term"`
	Mixer  string    `json:"mixer"`
	Nick   string    `json:"nick"`
	Reason string    `json:"reason"`
}

// MixerInfo is a room's election state (GET /api/v1/rooms/{room}/mixer).
type MixerInfo struct {
	Room     string        `json:"room"`
	Name     string        `json:"name"`
	Term     uint64        `json:"term"`
	Mixer    string        `json:"mixer,omitempty"`
	Nick     string        `json:"nick,omitempty"`
	Since    time.Time     `json:"since,omitzero"`
	Reason   string        `json:"reason,omitempty"`
	Policy   Policy        `json:"policy"`
	Topology string        `json:"topology"`
	MeshMax  int           `json:"mesh_max"`
	Members  []MemberScore `json:"members"`
	History  []MixerChange `json:"history"`
	Won      []uint64      `json:"won_terms,omitempty"`
}

// Topology modes.
const (
	TopologyAuto = "auto"
	TopologyMesh = "mesh"
	TopologyStar = "star"
)

// MixerChangeRequest is the body of POST /api/v1/rooms/{room}/mixer; zero
// fields keep what is set.
type MixerChangeRequest struct {
	// Pin is a member's peer ID or nickname to pin as the mixer.
	Pin string `json:"pin,omitempty"`
	// Auto clears the pin: the election picks the mixer again.
	Auto bool `json:"auto,omitempty"`
	// Topology is auto, mesh or star.
	Topology string `json:"topology,omitempty"`
	// MeshMax overrides the largest mesh (1..64).
	MeshMax int `json:"mesh_max,omitempty"`
}

// ProbeRequest is the body of POST /api/v1/rooms/{room}/probe.
type ProbeRequest struct {
	// Peer is a member's peer ID or nickname; empty: every connected member.
	Peer string `json:"peer,omitempty"`
}

// ProbeResult is one measured upload.
type ProbeResult struct {
	Peer  string  `json:"peer"`
	Nick  string  `json:"nick"`
	Bytes int     `json:"bytes"`
	Secs  float64 `json:"seconds"`
	Bps   float64 `json:"bytes_per_s"`
	RTTMS float64 `json:"rtt_ms"`
	Error string  `json:"error,omitempty"`
}

// Edge kinds of a topology graph.
const (
	EdgeConn   = "connection"
	EdgeGossip = "gossip"
	EdgeMedia  = "media"
)

// GraphNode is a member in a topology graph. Role is "me", "mixer" or
// "member".
type GraphNode struct {
	ID      string `json:"id"`
	Nick    string `json:"nick"`
	Role    string `json:"role"`
	Mixer   bool   `json:"mixer,omitempty"`
	DHTSize uint64 `json:"dht_size,omitempty"`
}

// GraphEdge is an edge in a topology graph, as From reported it.
type GraphEdge struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Kind        string  `json:"kind"`
	Transport   string  `json:"transport,omitempty"`
	Outbound    bool    `json:"outbound,omitempty"`
	RTTMS       float64 `json:"rtt_ms,omitempty"`
	InBps       uint64  `json:"in_bps,omitempty"`
	OutBps      uint64  `json:"out_bps,omitempty"`
	BitswapSent uint64  `json:"bitswap_sent,omitempty"`
	BitswapRecv uint64  `json:"bitswap_recv,omitempty"`
}

// Graph is a topology graph (GET /api/v1/topo).
type Graph struct {
	Room     string      `json:"room"`
	Name     string      `json:"name"`
	Term     uint64      `json:"term"`
	Topology string      `json:"topology"`
	Time     time.Time   `json:"time"`
	Nodes    []GraphNode `json:"nodes"`
	Edges    []GraphEdge `json:"edges"`
}

// File is a complete file (or directory) of the daemon. Origin is
// "added" or "fetched".
type File struct {
	CID    string    `json:"cid"`
	Name   string    `json:"name"`
	Size   uint64    `json:"size"`
	Dir    bool      `json:"dir"`
	Origin string    `json:"origin"`
	Time   time.Time `json:"time"`
}

// Added is one file or directory an add stored.
type Added struct {
	Path string `json:"path"`
	CID  string `json:"cid"`
	Size uint64 `json:"size"`
	Dir  bool   `json:"dir"`
}

// AddResult answers POST /api/v1/files/add.
type AddResult struct {
	Entry File `json:"entry"`
	// Added lists a directory's files and directories, deepest first.
	Added []Added `json:"added,omitempty"`
	MIME  string  `json:"mime"`
	// Message is the chat message that shared the file (with room=).
	Message *ChatMessage `json:"message,omitempty"`
}

// Progress is how far a get is.
type Progress struct {
	Bytes  uint64 `json:"bytes"`
	Total  uint64 `json:"total"`
	Blocks int    `json:"blocks"`
}

// Source is a peer a get received blocks from.
type Source struct {
	Peer  string `json:"peer"`
	Bytes uint64 `json:"bytes"`
}

// GetEvent is one line of POST /api/v1/files/get's NDJSON answer:
// progress lines, then one line with Entry and Sources, or with Error and
// its Code (CodeNotFound, CodeStalled, CodeInvalid or CodeFailed).
type GetEvent struct {
	Progress *Progress `json:"progress,omitempty"`
	Entry    *File     `json:"entry,omitempty"`
	Sources  []Source  `json:"sources,omitempty"`
	Error    string    `json:"error,omitempty"`
	Code     string    `json:"code,omitempty"`
}

// RoomFile is a file shared in a room, and whether it is here.
type RoomFile struct {
	CID    CIDLink   `json:"cid"`
	Name   string    `json:"name"`
	Size   uint64    `json:"size"`
	MIME   string    `json:"mime"`
	Room   string    `json:"room"`
	Sharer string    `json:"sharer"`
	Nick   string    `json:"nick"`
	Time   time.Time `json:"time"`
	Local  bool      `json:"local"`
}

// PublishRequest is the body of POST /api/v1/rooms/{room}/media/publish:
// files on the daemon's machine.
type PublishRequest struct {
	Video string `json:"video,omitempty"` // an IVF (VP8) file
	Audio string `json:"audio,omitempty"` // an Ogg (Opus) file
	Loop  bool   `json:"loop,omitempty"`
}

// RecordRequest is the body of POST /api/v1/rooms/{room}/media/record.
type RecordRequest struct {
	Dir string `json:"dir"`
}

// MixRequest is the body of POST /api/v1/rooms/{room}/media/mix.
type MixRequest struct {
	On bool `json:"on"`
	// Video (with On) also asks for one composed picture of the others'
	// video instead of one video track per publisher.
	Video bool `json:"video,omitempty"`
}

// EdgeTrack is one track on a media connection.
type EdgeTrack struct {
	Origin   string  `json:"origin"`
	Kind     string  `json:"kind"`
	ID       string  `json:"id"`
	SSRC     uint32  `json:"ssrc"`
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"`
	Kbps     float64 `json:"kbps"`
	Lost     int64   `json:"lost"`
	JitterMS float64 `json:"jitter_ms"`
	RTTMS    float64 `json:"rtt_ms"`
	NACK     uint32  `json:"nack"`
	PLI      uint32  `json:"pli"`
	Frames   uint64  `json:"frames,omitempty"` // video frames received (receiving edges)
}

// EdgeStats is one media connection. Direction is "send" or "recv".
type EdgeStats struct {
	Peer      string      `json:"peer"`
	Direction string      `json:"direction"`
	State     string      `json:"state"`
	RTTMS     float64     `json:"rtt_ms"`
	Tracks    []EdgeTrack `json:"tracks"`
	// Path is the ICE path of the connection: "host" (direct), "srflx"
	// (direct through a NAT, hole-punched) or "relay" (through a room
	// member's TURN server); empty before ICE picks one.
	Path string `json:"path,omitempty"`
}

// Gap is a pause in a received stream.
type Gap struct {
	At      time.Time `json:"at"`
	MS      float64   `json:"ms"`
	Origin  string    `json:"origin"`
	Kind    string    `json:"kind"`
	Via     string    `json:"via"`
	Reroute bool      `json:"reroute,omitempty"`
}

// StreamStats is one stream the daemon receives.
type StreamStats struct {
	Origin    string  `json:"origin"`
	Kind      string  `json:"kind"`
	ID        string  `json:"id"`
	Via       string  `json:"via,omitempty"`
	Packets   uint64  `json:"packets"`
	Bytes     uint64  `json:"bytes"`
	Frames    uint64  `json:"frames,omitempty"`
	Dropped   uint64  `json:"dropped"`
	MaxGap    float64 `json:"max_gap_ms"`
	Gaps      []Gap   `json:"gaps,omitempty"`
	LastMS    float64 `json:"last_ms"`
	Forwarded int     `json:"forwarded_to"`
	PLISent   uint64  `json:"pli_sent"`
	Restarts  uint64  `json:"restarts,omitempty"`
}

// PublishStats is what the daemon publishes.
type PublishStats struct {
	Video        string  `json:"video,omitempty"`
	Audio        string  `json:"audio,omitempty"`
	Loop         bool    `json:"loop"`
	VideoFrames  uint64  `json:"video_frames"`
	AudioPackets uint64  `json:"audio_packets"`
	Seconds      float64 `json:"seconds"`
	Done         bool    `json:"done"`
	// Browser: the tracks come from this node's page (camera, microphone;
	// Screen while it shares its screen), not from files.
	Browser bool `json:"browser,omitempty"`
	Screen  bool `json:"screen,omitempty"`
}

// MixStats is the mixer's audio mixing.
type MixStats struct {
	Receivers int     `json:"receivers"`
	Inputs    int     `json:"inputs"`
	Frames    uint64  `json:"frames"`
	EncodeUS  float64 `json:"encode_us"`
	DecodeUS  float64 `json:"decode_us"`
}

// RecordedFile is one file a recording wrote.
type RecordedFile struct {
	Path   string `json:"path"`
	Origin string `json:"origin"`
	Kind   string `json:"kind"`
	Frames uint64 `json:"frames"`
	Bytes  int64  `json:"bytes"`
	Err    string `json:"error,omitempty"`
}

// MediaStats is a room's media state (GET /api/v1/rooms/{room}/media/stats,
// and the answer of the media POST routes).
type MediaStats struct {
	Room         string         `json:"room"`
	Mode         string         `json:"mode"`
	Mixer        string         `json:"mixer,omitempty"`
	Members      int            `json:"members"`
	Publishing   *PublishStats  `json:"publishing,omitempty"`
	Recording    string         `json:"recording,omitempty"`
	Files        []RecordedFile `json:"files,omitempty"`
	Edges        []EdgeStats    `json:"edges"`
	Streams      []StreamStats  `json:"streams"`
	Mix          *MixStats      `json:"mix,omitempty"`
	MixWanted    bool           `json:"mix_wanted"`
	MixedBy      string         `json:"mixed_by,omitempty"`
	MixRefused   string         `json:"mix_refused,omitempty"`
	MixAvailable string         `json:"mix_unavailable,omitempty"`
	// Compose is the composed video this node makes as the mixer.
	Compose *ComposeStats `json:"compose,omitempty"`
	// VideoWanted: this node asked for composed video; ComposedBy: the
	// mixer that composes for it; VideoRefused: why the mixer does not;
	// GridGaps: the pauses in composed video when the mixer changed.
	VideoWanted  bool   `json:"video_wanted,omitempty"`
	ComposedBy   string `json:"composed_by,omitempty"`
	VideoRefused string `json:"video_refused,omitempty"`
	GridGaps     []Gap  `json:"grid_gaps,omitempty"`
}

// ComposeStats is the mixer's video composition: receivers and inputs,
// output frames and decoded input frames, the picture's size and rate,
// the CPU of one output frame (recent) and the means of its parts, the
// latency from an input frame decoded to the first composed frame
// showing it sent, the CPU budget a second, and the active speaker.
type ComposeStats struct {
	Receivers    int     `json:"receivers"`
	Inputs       int     `json:"inputs"`
	Frames       uint64  `json:"frames"`
	Decoded      uint64  `json:"decoded"`
	Size         string  `json:"size"`
	FPS          int     `json:"fps"`
	FrameMS      float64 `json:"frame_ms"`
	ComposeMS    float64 `json:"compose_ms"`
	EncodeMS     float64 `json:"encode_ms"`
	DecodeMS     float64 `json:"decode_ms"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	BudgetMS     float64 `json:"budget_ms"`
	Speaker      string  `json:"speaker,omitempty"`
}

// StopResult answers POST /api/v1/rooms/{room}/media/stop.
type StopResult struct {
	Published bool `json:"published"`
	Recorded  bool `json:"recorded"`
	// Files are the recorded files, closed and complete.
	Files []RecordedFile `json:"files,omitempty"`
}

// LoginCode answers POST /api/v1/login/code: a one-time code and the URL
// that logs a browser in with it (GET /login?code=), valid until Expires.
type LoginCode struct {
	Code    string    `json:"code"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

// MediaSignal is one message of a page's media session (the WebSocket at
// PathMediaBrowser). The daemon always offers: "offer" (SDP with every
// candidate, Tracks saying what each mid carries), answered by the page's
// "answer"; the page trickles "cand"; "sending" says which of the page's
// tracks (camera, mic, screen) it sends now; "closed" ends the session
// with Reason (e.g. another tab took the call over).
type MediaSignal struct {
	Type    string                `json:"type"`
	SDP     string                `json:"sdp,omitempty"`
	Cand    *ICECandidate         `json:"cand,omitempty"`
	Tracks  map[string]MediaTrack `json:"tracks,omitempty"`
	Sending map[string]bool       `json:"sending,omitempty"`
	Reason  string                `json:"reason,omitempty"`
}

// MediaTrack is what one transceiver of the page's connection carries:
// with Send, the page's own track (Kind camera, mic or screen); else a
// member's track (Origin its peer ID, Kind video, audio, screen or mix).
type MediaTrack struct {
	Send   bool   `json:"send,omitempty"`
	Origin string `json:"origin,omitempty"`
	Kind   string `json:"kind"`
}

// ICECandidate is a browser's RTCIceCandidateInit.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// DocInfo describes one of a room's collaborative documents (GET
// /api/v1/rooms/{room}/docs): its kind ("notes", "todo" or "agenda"), its
// stored size in bytes and its current version (Automerge heads).
type DocInfo struct {
	Room    string    `json:"room"`
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Size    int       `json:"size"`
	Heads   []string  `json:"heads"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated,omitzero"`
}

// DocCreateRequest is the body of POST /api/v1/rooms/{room}/docs.
type DocCreateRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"` // notes (the default), todo or agenda
}

// TodoItem is one item of a todo document; Due is zero for none.
type TodoItem struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Done     bool      `json:"done"`
	Assignee string    `json:"assignee,omitempty"`
	Due      time.Time `json:"due,omitzero"`
}

// AgendaItem is one item of an agenda: a title, when it starts, how many
// minutes it takes and who leads it.
type AgendaItem struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	At      time.Time `json:"at"`
	Minutes int       `json:"minutes"`
	Owner   string    `json:"owner,omitempty"`
}

// Doc is a document's content (GET /api/v1/rooms/{room}/docs/{doc}):
// Text for notes, Todo for a todo list, Start and Agenda for an agenda.
// With ?format=markdown the answer is the Markdown rendering instead.
type Doc struct {
	DocInfo
	Text   string       `json:"text,omitempty"`
	Todo   []TodoItem   `json:"todo,omitempty"`
	Start  time.Time    `json:"start,omitzero"`
	Agenda []AgendaItem `json:"agenda,omitempty"`
}

// DocTextRequest is the body of POST .../docs/{doc}/text: the notes' new
// text, edited from Old as it was at the version Base (the heads of GET
// .../docs/{doc}). The daemon turns the difference into Automerge splices
// on top of Base, so what others wrote meanwhile is kept. Without Base the
// text replaces the current one.
type DocTextRequest struct {
	Base []string `json:"base,omitempty"`
	Old  string   `json:"old,omitempty"`
	Text string   `json:"text"`
}

// TodoRequest is the body of POST .../docs/{doc}/todo: op "add" (Text,
// Assignee, Due) or "done" / "undone" (Item: its number in the list or a
// prefix of its id). Due is a time as TimeHelp says; empty for none.
type TodoRequest struct {
	Op       string `json:"op"`
	Text     string `json:"text,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Due      string `json:"due,omitempty"`
	Item     string `json:"item,omitempty"`
}

// AgendaRequest is the body of POST .../docs/{doc}/agenda: op "start"
// (At: the meeting's start) or "add" (Title, At, Minutes, Owner; without
// At the item follows the last one). Times as TimeHelp says, read in the
// daemon's time zone.
type AgendaRequest struct {
	Op      string `json:"op"`
	Title   string `json:"title,omitempty"`
	At      string `json:"at,omitempty"`
	Minutes int    `json:"minutes,omitempty"`
	Owner   string `json:"owner,omitempty"`
}

// TimeHelp says which times the todo and agenda calls read.
const TimeHelp = "2006-01-02 15:04, 15:04 (today), RFC 3339, or +10m (from now)"

// DocItemResult answers POST .../todo and .../agenda: the item added or
// changed, and the document after.
type DocItemResult struct {
	Todo   *TodoItem   `json:"todo,omitempty"`
	Agenda *AgendaItem `json:"agenda,omitempty"`
	Doc    Doc         `json:"doc"`
}

// DocSnapshot answers POST .../docs/{doc}/snapshot: the files added and
// shared in the room's chat (the Automerge save, NAME.automerge, and its
// Markdown rendering, NAME.md).
type DocSnapshot struct {
	Files []FileLink `json:"files"`
}

// DocCursor is a page's cursor or selection in a notes document, carried
// as text on the document's sync WebSocket: Anchor and Head are Automerge
// cursors (opaque strings the page gets from @automerge/automerge);
// the daemon fills Peer on the cursors it passes to a page.
type DocCursor struct {
	Type   string `json:"type"` // "cursor"
	Peer   string `json:"peer,omitempty"`
	Anchor string `json:"anchor"`
	Head   string `json:"head"`
}

// DocStats are the document sync counters (GET /api/v1/docs/stats).
type DocStats struct {
	FramesIn  uint64 `json:"frames_in"`
	FramesOut uint64 `json:"frames_out"`
	BytesIn   uint64 `json:"bytes_in"`
	BytesOut  uint64 `json:"bytes_out"`
	Rejected  uint64 `json:"rejected"`
	Oversize  uint64 `json:"oversize"`
	Refused   uint64 `json:"refused"`
	Pushed    uint64 `json:"pushed"`
	Synced    uint64 `json:"synced"`
	Sessions  int    `json:"sessions"`
}

// Reminder is an agenda reminder this node gave (event doc.reminder, and
// a "reminder" line in the room's chat log): the meeting's start (Key
// "start") or an item, at its time.
type Reminder struct {
	Room  string    `json:"room"`
	Doc   string    `json:"doc"`
	Key   string    `json:"key"`
	Title string    `json:"title"`
	At    time.Time `json:"at"`
	Fired time.Time `json:"fired"`
}
