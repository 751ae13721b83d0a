package node

import "github.com/fluttershy/face2face/internal/version"

// Version is face2face's version, reported by `f2f version`, the API and the
// libp2p user agent.
const Version = version.Version

// ReadyLine is the line `f2f daemon` prints on stdout once it listens and
// serves its API; scripts and testnet wait for it.
const ReadyLine = "daemon ready"
