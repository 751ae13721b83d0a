package node

import "errors"

// Sentinel errors. The CLI prints them as one line; callers test them with
// errors.Is.
var (
	// ErrRepoExists is returned by InitRepo when the directory already holds a repo.
	ErrRepoExists = errors.New("repo already initialised")
	// ErrNotInitialised is returned when a repo dir has no identity or config.
	ErrNotInitialised = errors.New("repo not initialised")
	// ErrRepoLocked is returned when another daemon holds the repo's lock.
	ErrRepoLocked = errors.New("repo is locked by a running daemon")
	// ErrBadConfig wraps a config.json that cannot be read as a valid config.
	ErrBadConfig = errors.New("invalid config")
	// ErrBadKey wraps an identity.key that cannot be read as a private key.
	ErrBadKey = errors.New("invalid identity key")
	// ErrUnknownProfile is returned for a profile name InitRepo does not know.
	ErrUnknownProfile = errors.New("unknown profile")
	// ErrNoDaemon is returned by clients when no daemon serves the repo.
	ErrNoDaemon = errors.New("no daemon is running for this repo")
	// ErrUnauthorized is returned by clients when the API rejects the token.
	ErrUnauthorized = errors.New("API token rejected")
	// ErrBadMultiaddr wraps a multiaddr that does not parse or lacks /p2p/.
	ErrBadMultiaddr = errors.New("bad multiaddr")
	// ErrSelfDial is returned when asked to connect a node to itself.
	ErrSelfDial = errors.New("cannot connect to self")
	// ErrClosed is returned by a Node used after Close.
	ErrClosed = errors.New("node closed")
)
