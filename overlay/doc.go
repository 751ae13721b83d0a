// Package overlay owns rooms over GossipSub: membership and authentication,
// chat (signed envelopes, history store and sync), presence, capability
// reports, the mixer election, the topology policy (mesh or star) and
// network-activity tracking.
//
// It never imports dht, files, media, node or cmd: what it needs from them
// (e.g. rendezvous) it declares as small interfaces that node satisfies.
package overlay
