// Package collab owns a room's collaborative documents: Automerge
// documents of three kinds (notes: one text; todo: items with text, done,
// assignee and due; agenda: a meeting start and items with a time, a
// duration and an owner), kept in SQLite (a snapshot plus every
// acknowledged change), synced between the room's members over
// /f2f/doc/1 with Automerge's sync protocol, and the agenda's reminders.
//
// It knows rooms only as hashes and asks a Rooms value (that node wires to
// the overlay) who the members are; it never imports dht, overlay, files,
// media, node or cmd.
package collab
