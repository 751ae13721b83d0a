// Package election is a room's mixer election as a state machine: fed
// capability scores, election messages and clock ticks, it returns the
// messages to send and the mixer changes. It does no I/O and reads no
// clock; overlay wires it to the room's control topic.
//
// Every member scores the members' capability reports; the member that
// should be the mixer (the best score, or the pinned member, with
// hysteresis in favour of a live incumbent) asks for votes in a new term.
// Each member votes at most once per term, and only for the member it also
// sees as the one to elect; a candidate with votes from more than half of
// the members it sees alive (itself included) is the mixer of that term,
// announces it and renews its lease with heartbeats. A member that sees a
// higher term follows it.
//
// In a connected room every member sees the same members alive, so two
// majorities of one term share a voter, and a term has at most one mixer.
// Under a partition each side sees only itself and elects its own; after
// healing the higher term wins (two mixers of one term start a new term).
// A member that sees members arrive neither asks for votes nor counts a
// running candidacy as won until it has heard from each of them (at most
// LeaseTimeout; a mixer heartbeats every HeartbeatInterval), so that after
// a partition heals it learns the other side's term before a term is
// counted with only one side's votes. (Voters do not wait: in a large
// room some connection has nearly always just come back.) A
// member whose mixer went quiet while another mixer of a lower term
// heartbeats tells its term with its policy every 4 HeartbeatIntervals;
// a mixer that learns of a term above its own is
// elected again, above it, so that no member stays behind a term whose
// mixer is gone.
package election
