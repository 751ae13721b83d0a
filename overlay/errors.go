package overlay

import "errors"

// Errors returned by room keys, room secrets and envelopes. Functions wrap
// them with a reason; test for them with errors.Is.
var (
	// ErrBadRoomKey means a room key string (or the name given for a new
	// room) is not valid: wrong prefix or version, bad encoding, unknown
	// flags, or a name that breaks the naming rules.
	ErrBadRoomKey = errors.New("bad room key")

	// ErrWrongPassword means the password does not match the room key's
	// password verifier. The wrapping error names the room:
	// `wrong password for room "NAME"`.
	ErrWrongPassword = errors.New("wrong password for room")

	// ErrPasswordRequired means the room needs a password and none was given.
	ErrPasswordRequired = errors.New("room requires a password")

	// ErrNoPasswordExpected means a password was given for an open room.
	ErrNoPasswordExpected = errors.New("room is open and takes no password")

	// ErrTooLarge means an encoded message or one of its parts exceeds its
	// size limit.
	ErrTooLarge = errors.New("message too large")

	// ErrMalformed means a message is not a valid encoding or one of its
	// fields breaks a rule (missing, duplicate, out of range).
	ErrMalformed = errors.New("malformed message")

	// ErrBadSignature means an envelope's signature does not verify against
	// the public key embedded in its author's peer ID.
	ErrBadSignature = errors.New("bad envelope signature")

	// ErrDecrypt means a sealed body could not be opened: it was tampered
	// with, sealed for other associated data, or sealed with another room's
	// key.
	ErrDecrypt = errors.New("cannot decrypt message")
)
