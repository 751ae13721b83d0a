// Package node is the only package that wires the others. It builds one Node
// from a repo dir (identity key, config, pebble datastore, libp2p host, DHT,
// GossipSub, blockstore and bitswap; overlay, files and media in later
// issues), owns Start and Close (teardown in reverse order of construction),
// and serves the local HTTP API with its events stream. It also holds the
// repo format (InitRepo, OpenRepo) and the API client the CLI uses.
package node
