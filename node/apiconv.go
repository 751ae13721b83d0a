package node

import (
	"errors"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/collab"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/overlay"
)

// The conversions from the leaf packages' types to the API's (package
// api). Each field is assigned by name, so a renamed or retyped field in a
// leaf breaks the build here instead of changing the API.

// errorCode maps an error of any layer to the API's stable code.
func errorCode(err error) api.Code {
	is := func(targets ...error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
	switch {
	case is(overlay.ErrUnknownRoom, overlay.ErrNoRoom):
		return api.CodeUnknownRoom
	case is(overlay.ErrUnknownMember, overlay.ErrNotMember):
		return api.CodeUnknownMember
	case is(overlay.ErrAmbiguousRoom):
		return api.CodeAmbiguousRoom
	case is(overlay.ErrNotJoined, media.ErrNotJoined):
		return api.CodeNotJoined
	case is(overlay.ErrBadRoomKey):
		return api.CodeBadRoomKey
	case is(overlay.ErrWrongPassword):
		return api.CodeWrongPassword
	case is(overlay.ErrPasswordRequired):
		return api.CodePasswordRequired
	case is(overlay.ErrNoPasswordExpected):
		return api.CodeNoPasswordExpected
	case is(api.ErrUnknownCommand):
		return api.CodeUnknownCommand
	case is(overlay.ErrTooLarge):
		return api.CodeTooLarge
	case is(overlay.ErrMalformed, files.ErrInvalidCID, files.ErrBadArchive,
		media.ErrBadMedia, media.ErrNoMediaFiles):
		return api.CodeInvalid
	case is(ErrBadMultiaddr):
		return api.CodeBadMultiaddr
	case is(ErrSelfDial):
		return api.CodeSelfDial
	case is(files.ErrNotLocal, files.ErrNotFound, files.ErrNoSuchPath):
		return api.CodeNotFound
	case is(files.ErrStalled):
		return api.CodeStalled
	case is(overlay.ErrProbeRefused):
		return api.CodeFailed
	case is(media.ErrPublishing, media.ErrRecording, media.ErrNothingToStop, media.ErrMixNeedsStar, media.ErrMixSelf, media.ErrNoMixing):
		return api.CodeConflict
	case is(collab.ErrNoDoc):
		return api.CodeUnknownDoc
	case is(collab.ErrTooLarge, collab.ErrTooMany):
		return api.CodeTooLarge
	case is(collab.ErrBadName, collab.ErrBadKind, collab.ErrBadTime, collab.ErrBadItem, collab.ErrWrongKind):
		return api.CodeInvalid
	case is(collab.ErrNoItem):
		return api.CodeNotFound
	case is(collab.ErrExists, collab.ErrStale):
		return api.CodeConflict
	case is(overlay.ErrServiceClosed, media.ErrClosed, ErrClosed, collab.ErrClosed):
		return api.CodeUnavailable
	}
	return api.CodeInternal
}

func apiRoom(r overlay.RoomInfo) api.Room {
	return api.Room{Key: r.Key, Name: r.Name, Hash: r.Hash, Password: r.Password, Joined: r.Joined, Nick: r.Nick,
		Members: r.Members, Messages: r.Messages}
}

func apiMember(m overlay.MemberInfo) api.Member {
	return api.Member{ID: m.ID, Nick: m.Nick, Connected: m.Connected, RTTMS: m.RTTMS, LastSeen: m.LastSeen, Gone: m.Gone,
		Proven: m.Proven}
}

func apiFileLink(l overlay.FileLink) api.FileLink {
	return api.FileLink{CID: api.CIDLink{CID: l.CID.String()}, Name: l.Name, Size: l.Size, MIME: l.MIME}
}

func apiChat(m overlay.ChatMessage) api.ChatMessage {
	out := api.ChatMessage{Room: m.Room, Author: m.Author, Nick: m.Nick, Seq: m.Seq, Lamport: m.Lamport, Time: m.Time,
		Kind: m.Kind, Text: m.Text}
	if m.File != nil {
		l := apiFileLink(*m.File)
		out.File = &l
	}
	if m.Stage != nil {
		out.Stage = &api.StageOp{Op: m.Stage.Op, File: apiFileLink(m.Stage.File)}
	}
	return out
}

func apiStage(st overlay.Stage) api.Stage {
	out := api.Stage{Room: st.Room, Showing: st.Showing, Tabs: make([]api.StageTab, 0, len(st.Tabs))}
	for _, t := range st.Tabs {
		out.Tabs = append(out.Tabs, api.StageTab{File: apiFileLink(t.File), By: t.By, Nick: t.Nick, Time: t.Time})
	}
	return out
}

func apiChatPtr(m *overlay.ChatMessage) *api.ChatMessage {
	if m == nil {
		return nil
	}
	c := apiChat(*m)
	return &c
}

func apiRoomStats(s overlay.Stats) api.RoomStats {
	return api.RoomStats{Accepted: s.Accepted, Malformed: s.Malformed, Oversize: s.Oversize, BadSig: s.BadSig,
		Foreign: s.Foreign, Replayed: s.Replayed, RateLimit: s.RateLimit, Synced: s.Synced, ClockJump: s.ClockJump,
		ElectIgnored: s.ElectIgnored, NewAuthor: s.NewAuthor, VotesDirect: s.VotesDirect, VotesPublished: s.VotesPublished}
}

func apiCapReport(c *overlay.CapReport) *api.CapReport {
	if c == nil {
		return nil
	}
	return &api.CapReport{UploadBps: c.UploadBps, RTTMicros: c.RTTMicros, Cores: c.Cores, EncodeMicros: c.EncodeMicros,
		Reach: api.Reachability(c.Reach), UptimeSec: c.UptimeSec, Probed: c.Probed, MediaOutBps: c.MediaOutBps, Relayed: c.Relayed, TURN: c.TURN,
		MediaEncodeMicros: c.MediaEncodeMicros, ComposeMicros: c.ComposeMicros}
}

func apiMixerChange(c overlay.MixerChange) api.MixerChange {
	return api.MixerChange{Room: c.Room, Time: c.Time, Term: c.Term, Mixer: c.Mixer, Nick: c.Nick, Reason: c.Reason}
}

func apiMixerInfo(in overlay.MixerInfo) api.MixerInfo {
	p := in.Policy
	out := api.MixerInfo{Room: in.Room, Name: in.Name, Term: in.Term, Mixer: in.Mixer, Nick: in.Nick, Since: in.Since,
		Reason: in.Reason, Topology: in.Topology, MeshMax: in.MeshMax, Won: in.Won,
		Policy:  api.Policy{Seq: p.Seq, MeshMax: p.MeshMax, Topology: p.Topology},
		Members: make([]api.MemberScore, 0, len(in.Members)), History: make([]api.MixerChange, 0, len(in.History))}
	if p.Setter != "" {
		out.Policy.Setter = p.Setter.String()
	}
	if p.Pin != "" {
		out.Policy.Pin = p.Pin.String()
	}
	for _, m := range in.Members {
		out.Members = append(out.Members, api.MemberScore{ID: m.ID, Nick: m.Nick, Score: m.Score, Report: apiCapReport(m.Report),
			Alive: m.Alive, Mixer: m.Mixer, Me: m.Me})
	}
	for _, c := range in.History {
		out.History = append(out.History, apiMixerChange(c))
	}
	return out
}

func apiProbe(r overlay.ProbeResult) api.ProbeResult {
	return api.ProbeResult{Peer: r.Peer, Nick: r.Nick, Bytes: r.Bytes, Secs: r.Secs, Bps: r.Bps, RTTMS: r.RTTMS, Error: r.Error}
}

func apiGraph(g overlay.Graph) api.Graph {
	out := api.Graph{Room: g.Room, Name: g.Name, Term: g.Term, Topology: g.Topology, Time: g.Time,
		Nodes: make([]api.GraphNode, 0, len(g.Nodes)), Edges: make([]api.GraphEdge, 0, len(g.Edges))}
	for _, n := range g.Nodes {
		out.Nodes = append(out.Nodes, api.GraphNode{ID: n.ID, Nick: n.Nick, Role: n.Role, Mixer: n.Mixer, DHTSize: n.DHTSize})
	}
	for _, e := range g.Edges {
		out.Edges = append(out.Edges, api.GraphEdge{From: e.From, To: e.To, Kind: e.Kind, Transport: e.Transport,
			Outbound: e.Outbound, RTTMS: e.RTTMS, InBps: e.InBps, OutBps: e.OutBps, BitswapSent: e.BitswapSent,
			BitswapRecv: e.BitswapRecv})
	}
	return out
}

func apiFile(e files.Entry) api.File {
	return api.File{CID: e.CID, Name: e.Name, Size: e.Size, Dir: e.Dir, Origin: e.Origin, Time: e.Time}
}

func apiAddResult(r AddResult) api.AddResult {
	out := api.AddResult{Entry: apiFile(r.Entry), MIME: r.MIME, Message: apiChatPtr(r.Message)}
	for _, a := range r.Added {
		out.Added = append(out.Added, api.Added{Path: a.Path, CID: a.CID, Size: a.Size, Dir: a.Dir})
	}
	return out
}

func apiRoomFile(f overlay.SharedFile, local bool) api.RoomFile {
	return api.RoomFile{CID: api.CIDLink{CID: f.CID.String()}, Name: f.Name, Size: f.Size, MIME: f.MIME, Room: f.Room,
		Sharer: f.Sharer, Nick: f.Nick, Time: f.Time, Local: local}
}

func apiRecorded(fs []media.RecordedFile) []api.RecordedFile {
	var out []api.RecordedFile
	for _, f := range fs {
		out = append(out, api.RecordedFile{Path: f.Path, Origin: f.Origin, Kind: f.Kind, Frames: f.Frames, Bytes: f.Bytes, Err: f.Err})
	}
	return out
}

func apiMediaStats(s media.RoomStats) api.MediaStats {
	out := api.MediaStats{Room: s.Room, Mode: s.Mode, Mixer: s.Mixer, Members: s.Members, Recording: s.Recording,
		Files: apiRecorded(s.Files), Edges: make([]api.EdgeStats, 0, len(s.Edges)), Streams: make([]api.StreamStats, 0, len(s.Streams)),
		MixWanted: s.MixWanted, MixedBy: s.MixedBy, MixRefused: s.MixRefused, MixAvailable: s.MixAvailable}
	if p := s.Publishing; p != nil {
		out.Publishing = &api.PublishStats{Video: p.Video, Audio: p.Audio, Loop: p.Loop, VideoFrames: p.VideoFrames,
			AudioPackets: p.AudioPackets, Seconds: p.Seconds, Done: p.Done, Browser: p.Browser, Screen: p.Screen}
	}
	if m := s.Mix; m != nil {
		out.Mix = &api.MixStats{Receivers: m.Receivers, Inputs: m.Inputs, Frames: m.Frames, EncodeUS: m.EncodeUS, DecodeUS: m.DecodeUS}
	}
	if c := s.Compose; c != nil {
		ac := api.ComposeStats(*c)
		out.Compose = &ac
	}
	out.VideoWanted, out.ComposedBy, out.VideoRefused = s.VideoWanted, s.ComposedBy, s.VideoRefused
	for _, g := range s.GridGaps {
		out.GridGaps = append(out.GridGaps, api.Gap{At: g.At, MS: g.MS, Origin: g.Origin, Kind: g.Kind, Via: g.Via, Reroute: g.Reroute})
	}
	for _, e := range s.Edges {
		es := api.EdgeStats{Peer: e.Peer, Direction: e.Direction, State: e.State, RTTMS: e.RTTMS, Path: e.Path, Tracks: make([]api.EdgeTrack, 0, len(e.Tracks))}
		for _, t := range e.Tracks {
			es.Tracks = append(es.Tracks, api.EdgeTrack{Origin: t.Origin, Kind: t.Kind, ID: t.ID, SSRC: t.SSRC, Packets: t.Packets,
				Bytes: t.Bytes, Kbps: t.Kbps, Lost: t.Lost, JitterMS: t.JitterMS, RTTMS: t.RTTMS, NACK: t.NACK, PLI: t.PLI, Frames: t.Frames})
		}
		out.Edges = append(out.Edges, es)
	}
	for _, st := range s.Streams {
		ss := api.StreamStats{Origin: st.Origin, Kind: st.Kind, ID: st.ID, Via: st.Via, Packets: st.Packets, Bytes: st.Bytes,
			Frames: st.Frames, Dropped: st.Dropped, MaxGap: st.MaxGap, LastMS: st.LastMS, Forwarded: st.Forwarded,
			PLISent: st.PLISent, Restarts: st.Restarts}
		for _, g := range st.Gaps {
			ss.Gaps = append(ss.Gaps, api.Gap{At: g.At, MS: g.MS, Origin: g.Origin, Kind: g.Kind, Via: g.Via, Reroute: g.Reroute})
		}
		out.Streams = append(out.Streams, ss)
	}
	return out
}

func apiStopResult(r media.StopResult) api.StopResult {
	return api.StopResult{Published: r.Published, Recorded: r.Recorded, Files: apiRecorded(r.Files)}
}

// apiEvent converts an event's data to the API's type where it is a leaf
// package's type (the others are maps of plain values).
func apiEvent(ev Event) Event {
	switch d := ev.Data.(type) {
	case overlay.ChatMessage:
		ev.Data = apiChat(d)
	case overlay.MixerChange:
		ev.Data = apiMixerChange(d)
	}
	return ev
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}
