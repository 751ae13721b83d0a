package api

// Event types of the events stream, with the shape of their data.
const (
	// EventStreamReady is the first event of every events stream: from
	// then on the client misses nothing. No data.
	EventStreamReady = "stream.ready"

	EventPeerConnected    = "peer.connected"    // {"peer"}
	EventPeerDisconnected = "peer.disconnected" // {"peer"}
	// EventBootstrapped: {"bootstrap_peers_reached", "known_peers_tried",
	// "known_peers_reached"} (numbers).
	EventBootstrapped = "dht.bootstrapped"
	EventReachability = "net.reachability" // {"reachability": "public"|"private"|"unknown"}

	EventRoomJoined    = "room.joined"        // {"room" (hash), "name"}
	EventRoomLeft      = "room.left"          // {"room", "name"}
	EventRoomForgotten = "room.forgotten"     // {"room", "name"}
	EventMemberJoined  = "room.member_joined" // {"room", "peer", "nick"}
	EventMemberLeft    = "room.member_left"   // {"room", "peer", "nick"}
	EventMemberGone    = "room.member_gone"   // {"room", "peer", "nick"}
	EventMixerChanged  = "room.mixer_changed" // MixerChange
	EventChatMessage   = "chat.message"       // ChatMessage

	EventMediaPublish = "media.publish" // {"room", "video", "audio"}
	EventMediaRecord  = "media.record"  // {"room", "dir"}
	EventMediaStop    = "media.stop"    // {"room"}
	// EventMediaRoute: the room's media changed between mesh and star, or
	// its mixer: {"room", "mixer", "star" (bool)}.
	EventMediaRoute = "media.route"
	// EventMediaGap: a received stream paused: {"room", "origin", "kind",
	// "ms", "via", "reroute" (bool)}.
	EventMediaGap = "media.gap"
	// EventMediaBrowser: this node's page opened or closed the room's
	// media session: {"room", "open" (bool)}.
	EventMediaBrowser = "media.browser"

	// Collaborative documents.
	EventDocCreated  = "doc.created"  // DocInfo
	EventDocChanged  = "doc.changed"  // {"room", "name", "kind", "peer" (empty: this node's own edit)}
	EventDocReminder = "doc.reminder" // Reminder
)
