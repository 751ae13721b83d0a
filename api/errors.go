package api

import (
	"errors"
	"net/http"
)

// Code is an error's stable, machine-readable name: clients branch on it
// (the Go client through errors.Is with the Err... sentinels), never on
// the message, which is for people and may change.
type Code string

// Error codes, with the HTTP status each is sent with.
const (
	CodeBadRequest         Code = "bad_request"          // 400: a body, query or path that does not parse
	CodeUnauthorized       Code = "unauthorized"         // 401: missing or wrong token
	CodeForbidden          Code = "forbidden"            // 403: not a loopback host, or a cross-origin request
	CodeNotFound           Code = "not_found"            // 404: no such file, path or route
	CodeUnknownRoom        Code = "unknown_room"         // 404
	CodeUnknownMember      Code = "unknown_member"       // 404: no such member present
	CodeUnknownDoc         Code = "unknown_doc"          // 404: no such document in the room
	CodeAmbiguousRoom      Code = "ambiguous_room"       // 409: a name that several rooms have
	CodeNotJoined          Code = "not_joined"           // 409
	CodeBadRoomKey         Code = "bad_room_key"         // 400
	CodeWrongPassword      Code = "wrong_password"       // 400
	CodePasswordRequired   Code = "password_required"    // 400
	CodeNoPasswordExpected Code = "no_password_expected" // 400
	CodeUnknownCommand     Code = "unknown_command"      // 400: a chat command
	CodeTooLarge           Code = "too_large"            // 400
	CodeInvalid            Code = "invalid"              // 400: a value the daemon refuses (bad CID, name, archive, media file)
	CodeBadMultiaddr       Code = "bad_multiaddr"        // 400
	CodeSelfDial           Code = "self_dial"            // 400
	CodeConflict           Code = "conflict"             // 409: the room's media state does not allow it (already publishing, nothing to stop, ...)
	CodeStalled            Code = "stalled"              // 504: a get found no block for too long
	CodeFailed             Code = "failed"               // 502: the network did not deliver (dial, get)
	CodeUnavailable        Code = "unavailable"          // 503: the daemon is shutting down
	CodeInternal           Code = "internal"             // 500
)

// Sentinel errors, one per code: an *Error from the Client matches its
// code's sentinel with errors.Is.
var (
	ErrBadRequest         = errors.New("bad request")
	ErrUnauthorized       = errors.New("API token rejected")
	ErrForbidden          = errors.New("request forbidden")
	ErrNotFound           = errors.New("not found")
	ErrUnknownRoom        = errors.New("unknown room")
	ErrUnknownMember      = errors.New("no such member present")
	ErrUnknownDoc         = errors.New("no such document")
	ErrAmbiguousRoom      = errors.New("ambiguous room name")
	ErrNotJoined          = errors.New("room not joined")
	ErrBadRoomKey         = errors.New("bad room key")
	ErrWrongPassword      = errors.New("wrong password")
	ErrPasswordRequired   = errors.New("password required")
	ErrNoPasswordExpected = errors.New("room has no password")
	ErrUnknownCommand     = errors.New("unknown chat command")
	ErrTooLarge           = errors.New("too large")
	ErrInvalid            = errors.New("invalid value")
	ErrBadMultiaddr       = errors.New("bad multiaddr")
	ErrSelfDial           = errors.New("cannot connect to self")
	ErrConflict           = errors.New("conflict")
	ErrStalled            = errors.New("stalled")
	ErrFailed             = errors.New("failed")
	ErrUnavailable        = errors.New("daemon unavailable")
	ErrInternal           = errors.New("internal error")
)

var codes = map[Code]struct {
	status int
	err    error
}{
	CodeBadRequest:         {http.StatusBadRequest, ErrBadRequest},
	CodeUnauthorized:       {http.StatusUnauthorized, ErrUnauthorized},
	CodeForbidden:          {http.StatusForbidden, ErrForbidden},
	CodeNotFound:           {http.StatusNotFound, ErrNotFound},
	CodeUnknownRoom:        {http.StatusNotFound, ErrUnknownRoom},
	CodeUnknownMember:      {http.StatusNotFound, ErrUnknownMember},
	CodeUnknownDoc:         {http.StatusNotFound, ErrUnknownDoc},
	CodeAmbiguousRoom:      {http.StatusConflict, ErrAmbiguousRoom},
	CodeNotJoined:          {http.StatusConflict, ErrNotJoined},
	CodeBadRoomKey:         {http.StatusBadRequest, ErrBadRoomKey},
	CodeWrongPassword:      {http.StatusBadRequest, ErrWrongPassword},
	CodePasswordRequired:   {http.StatusBadRequest, ErrPasswordRequired},
	CodeNoPasswordExpected: {http.StatusBadRequest, ErrNoPasswordExpected},
	CodeUnknownCommand:     {http.StatusBadRequest, ErrUnknownCommand},
	CodeTooLarge:           {http.StatusBadRequest, ErrTooLarge},
	CodeInvalid:            {http.StatusBadRequest, ErrInvalid},
	CodeBadMultiaddr:       {http.StatusBadRequest, ErrBadMultiaddr},
	CodeSelfDial:           {http.StatusBadRequest, ErrSelfDial},
	CodeConflict:           {http.StatusConflict, ErrConflict},
	CodeStalled:            {http.StatusGatewayTimeout, ErrStalled},
	CodeFailed:             {http.StatusBadGateway, ErrFailed},
	CodeUnavailable:        {http.StatusServiceUnavailable, ErrUnavailable},
	CodeInternal:           {http.StatusInternalServerError, ErrInternal},
}

// Codes returns every error code.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Status is the HTTP status a code is sent with (500 for an unknown one).
func (c Code) Status() int {
	if x, ok := codes[c]; ok {
		return x.status
	}
	return http.StatusInternalServerError
}

// Error is the JSON body of every failed request, and the error the Client
// returns for it: {"error": "people's text", "code": "stable_code"}.
type Error struct {
	Message string `json:"error"`
	Code    Code   `json:"code"`
	// Status is the HTTP status it came with (not in the body).
	Status int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the code's sentinel, so that errors.Is(err, ErrUnknownRoom)
// holds for an *Error with CodeUnknownRoom.
func (e *Error) Unwrap() error {
	if x, ok := codes[e.Code]; ok {
		return x.err
	}
	return nil
}
