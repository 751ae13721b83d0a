// Package dht owns face2face's Kademlia DHT: kad-dht set up either on the
// private "/f2f" protocol prefix (test and private networks) or as a client
// and server of the public Amino DHT, its bootstrap against configured peers,
// and room rendezvous through provider records (go-libp2p's routing
// discovery).
//
// It imports no other face2face package; node wires it to the rest.
package dht
