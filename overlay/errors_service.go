package overlay

import "errors"

// Errors of the room service.
var (
	// ErrUnknownRoom is returned for a room reference that matches no room.
	ErrUnknownRoom = errors.New("unknown room")
	// ErrAmbiguousRoom is returned for a room name that several rooms share.
	ErrAmbiguousRoom = errors.New("ambiguous room name")
	// ErrNotJoined is returned when acting in a room the node has left.
	ErrNotJoined = errors.New("not joined to room")
	// ErrServiceClosed is returned after Close.
	ErrServiceClosed = errors.New("room service closed")
	// ErrNotMember is returned by the history and auth protocols to a peer
	// that is not (or not yet proven) a member of the room.
	ErrNotMember = errors.New("not a member of the room")
)
