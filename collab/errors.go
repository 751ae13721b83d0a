package collab

import "errors"

// Errors of the document calls; node maps them to the API's codes.
var (
	ErrNoDoc     = errors.New("no such document")
	ErrExists    = errors.New("document exists")
	ErrWrongKind = errors.New("wrong document kind")
	ErrBadName   = errors.New("bad document name")
	ErrBadKind   = errors.New("unknown document kind")
	ErrBadTime   = errors.New("bad time")
	ErrBadItem   = errors.New("bad item")
	ErrNoItem    = errors.New("no such item")
	ErrTooLarge  = errors.New("document too large")
	ErrTooMany   = errors.New("too many documents")
	ErrStale     = errors.New("unknown base version")
	ErrClosed    = errors.New("documents closed")
)
