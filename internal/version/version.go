package version

// Version is face2face's version, reported by `f2f version`, the API and the
// libp2p user agent.
const Version = "0.1.0"
