// Package api is the contract of the daemon's local HTTP API, which the
// f2f CLI and the browser page speak: the routes (routes.go), the request
// and response types (types.go), one error shape with stable codes and
// their sentinel errors (errors.go), the events (events.go), the chat line
// parser (chat.go) and the Go Client (client.go). README.md documents every
// route for a reader who does not read Go. It imports no package of the
// daemon: the daemon converts its own types to these.
package api
