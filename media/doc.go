// Package media owns live audio and video over pion/webrtc: the API setup,
// SDP/ICE signaling over libp2p streams, publishing and recording tracks,
// SFU forwarding and audio mixing on the elected mixer, and stats.
//
// It never imports dht, overlay, files, node or cmd: the elected mixer and
// the chosen topology reach it through small interfaces that node
// satisfies.
package media
