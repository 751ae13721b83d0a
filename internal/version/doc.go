// Package version holds face2face's version, shared by the daemon and the
// CLI.
package version
