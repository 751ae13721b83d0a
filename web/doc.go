// Package web holds the browser UI's static files: plain ES modules, a
// style sheet and small vendored libraries (htm + preact in one file, see
// vendor/), embedded in the binary and served by the node on its local
// API. There is no build step: `make vendor-js` refreshes the pinned
// vendored copies with npm, and nothing else needs npm.
package web

import "embed"

// FS holds the files the daemon serves under /ui/ (index.html at /).
//
//go:embed index.html *.js *.css vendor
var FS embed.FS
