package overlay

import "errors"

// Errors returned by Store. Methods wrap them with context; test for them
// with errors.Is.
var (
	// ErrNoRoom means the store has no room with the given hash.
	ErrNoRoom = errors.New("no such room")

	// ErrUnstorable means Store.Put was given an envelope the store cannot
	// hold: nil, an empty room or author, a seq of 0, a seq or lamport above
	// math.MaxInt64 (SQLite integers are signed 64-bit), or an empty raw
	// encoding.
	ErrUnstorable = errors.New("envelope cannot be stored")
)
