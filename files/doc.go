// Package files owns content-addressed files: adding them as UnixFS DAGs
// with CIDv1, fetching them over bitswap with progress, and the access filter
// that decides which peers may fetch which blocks. It knows no rooms: "is
// this peer allowed?" is a func that node hands it.
//
// It works on the blockstore and bitswap that node owns, and never imports
// dht, overlay, media, node or cmd.
package files
