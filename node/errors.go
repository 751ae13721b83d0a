package node

import (
	"errors"

	"github.com/fluttershy/face2face/api"
)

// Sentinel errors. The CLI prints them as one line; callers test them with
// errors.Is.
var (
	// ErrRepoExists is returned by InitRepo when the directory already holds a repo.
	ErrRepoExists = errors.New("repo already initialised")
	// ErrNotInitialised is returned when a repo dir has no identity or config.
	ErrNotInitialised = api.ErrNotInitialised
	// ErrRepoLocked is returned when another daemon holds the repo's lock.
	ErrRepoLocked = errors.New("repo is locked by a running daemon")
	// ErrBadConfig wraps a config.json that cannot be read as a valid config.
	ErrBadConfig = errors.New("invalid config")
	// ErrBadKey wraps an identity.key that cannot be read as a private key.
	ErrBadKey = errors.New("invalid identity key")
	// ErrUnknownProfile is returned for a profile name InitRepo does not know.
	ErrUnknownProfile = errors.New("unknown profile")
	// ErrBadMultiaddr wraps a multiaddr that does not parse or lacks /p2p/.
	ErrBadMultiaddr = api.ErrBadMultiaddr
	// ErrSelfDial is returned when asked to connect a node to itself.
	ErrSelfDial = api.ErrSelfDial
	// ErrClosed is returned by a Node used after Close.
	ErrClosed = errors.New("node closed")
)
