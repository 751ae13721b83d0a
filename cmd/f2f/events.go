package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

// eventPrinter prints node events: one JSON object per line with --json
// (NDJSON), else one readable line (a shared file: a few) each, with room
// names instead of room hashes.
type eventPrinter struct {
	g     *globals
	names map[string]string // room hash → name
}

func (p *eventPrinter) print(ev api.Event) error {
	if ev.Type == api.EventRoomJoined { // learn the names of rooms joined since
		var m struct{ Room, Name string }
		if ev.Decode(&m) == nil {
			p.names[m.Room] = m.Name
		}
	}
	if p.g.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(p.g.out, string(b))
		return err
	}
	_, err := fmt.Fprintf(p.g.out, "%s  %s\n", ev.Time.Local().Format("15:04:05.000"), p.text(ev))
	return err
}

// text is the readable form of one event.
func (p *eventPrinter) text(ev api.Event) string {
	var m map[string]any
	_ = ev.Decode(&m)
	str := func(k string) string {
		v, _ := m[k].(string)
		return textfmt.DisplayText(v)
	}
	num := func(k string) float64 {
		v, _ := m[k].(float64)
		return v
	}
	room := func() string {
		h := str("room")
		if n, ok := p.names[h]; ok && n != "" {
			return n
		}
		if len(h) > 12 {
			return "room " + h[:12]
		}
		return "room " + h
	}
	who := func() string {
		id := str("peer")
		if n := str("nick"); n != "" && n != "peer-"+strings.TrimPrefix(shortID(id), "…") {
			return n + " (" + shortID(id) + ")"
		}
		return "peer-" + strings.TrimPrefix(shortID(id), "…") // as default nicknames read
	}
	switch ev.Type {
	case api.EventPeerConnected:
		return "peer connected: " + str("peer")
	case api.EventPeerDisconnected:
		return "peer disconnected: " + str("peer")
	case api.EventBootstrapped:
		return fmt.Sprintf("start-up dialling done: %d bootstrap peer(s) reached, %d of %d known peer(s)",
			int(num("bootstrap_peers_reached")), int(num("known_peers_reached")), int(num("known_peers_tried")))
	case api.EventReachability:
		return "reachability: " + str("reachability")
	case api.EventRoomJoined:
		return fmt.Sprintf("joined room %q", str("name"))
	case api.EventRoomLeft:
		return fmt.Sprintf("left room %q", str("name"))
	case api.EventRoomForgotten:
		return fmt.Sprintf("forgot room %q", str("name"))
	case api.EventMemberJoined:
		return fmt.Sprintf("%s: %s joined", room(), who())
	case api.EventMemberLeft:
		return fmt.Sprintf("%s: %s left", room(), who())
	case api.EventMemberGone:
		return fmt.Sprintf("%s: %s is gone (no sign of life)", room(), who())
	case api.EventMixerChanged:
		mix, err := decodeEvent[api.MixerChange](ev)
		if err != nil {
			break
		}
		mixer := textfmt.DisplayText(mix.Nick)
		if mix.Mixer == "" {
			mixer = "nobody"
		}
		return fmt.Sprintf("%s: mixer is now %s (term %d): %s", room(), mixer, mix.Term, textfmt.DisplayText(mix.Reason))
	case api.EventChatMessage:
		cm, err := decodeEvent[api.ChatMessage](ev)
		if err != nil {
			break
		}
		if cm.Kind == "file" && cm.File != nil {
			return fmt.Sprintf("%s: file shared by %s: %s (%s) %s", room(), textfmt.DisplayText(cm.Nick),
				textfmt.DisplayText(cm.File.Name), textfmt.HumanSize(cm.File.Size), cm.File.CID)
		}
		line := textfmt.FormatChat(cm, nil)
		if _, rest, ok := strings.Cut(line, "  "); ok {
			line = rest // the event's own time is printed already
		}
		return fmt.Sprintf("%s: chat %s", room(), line)
	case "media.publish":
		var what []string
		for _, k := range []string{"video", "audio"} {
			if v := str(k); v != "" {
				what = append(what, k+" "+v)
			}
		}
		return fmt.Sprintf("%s: publishing %s", room(), strings.Join(what, ", "))
	case "media.record":
		return fmt.Sprintf("%s: recording into %s", room(), str("dir"))
	case "media.stop":
		return fmt.Sprintf("%s: media stopped", room())
	case "media.route":
		if star, _ := m["star"].(bool); star {
			return fmt.Sprintf("%s: media now flows through the mixer %s (star)", room(), shortID(str("mixer")))
		}
		return fmt.Sprintf("%s: media now flows member to member (mesh)", room())
	case api.EventMediaBrowser:
		if open, _ := m["open"].(bool); open {
			return fmt.Sprintf("%s: the browser page joined the call", room())
		}
		return fmt.Sprintf("%s: the browser page left the call", room())
	case "media.gap":
		s := fmt.Sprintf("%s: %s from %s paused %d ms", room(), str("kind"), shortID(str("origin")), int(num("ms")))
		if r, _ := m["reroute"].(bool); r {
			s += " (while rerouting)"
		}
		return s
	}
	// Any other event: its type and its fields as key=JSON.
	var parts []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(m[k])
		parts = append(parts, k+"="+textfmt.DisplayText(strings.Trim(string(b), `"`)))
	}
	return strings.TrimSpace(ev.Type + " " + strings.Join(parts, " "))
}

// shortID shortens a peer ID to its last 6 characters, as default
// nicknames do.
func shortID(id string) string {
	if len(id) > 10 {
		return "…" + id[len(id)-6:]
	}
	return id
}

func newEventsCmd(g *globals) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "events [--follow]",
		Short: "Print the node's timeline: connects, disconnects, joins, leaves, elections",
		Long: `Print the node's timeline (its last 1000 events), one readable line each:
peers connected and disconnected, rooms joined and left, members joining,
leaving and going quiet, mixer changes with their reason, chat messages and
shared files, media starting, stopping and pausing.

--follow keeps printing new events until Ctrl-C. --json prints one JSON object
per line (NDJSON: type, time, data), also with --follow.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ep := &eventPrinter{g: g, names: map[string]string{}}
			rctx, rcancel := apiCtx(cmd)
			rooms, err := c.Rooms(rctx)
			rcancel()
			if err != nil {
				return err
			}
			for _, r := range rooms {
				ep.names[r.Hash] = r.Name
			}
			if !follow {
				ctx, cancel := apiCtx(cmd)
				defer cancel()
				evs, err := c.RecentEvents(ctx)
				if err != nil {
					return err
				}
				for _, ev := range evs {
					if err := ep.print(ev); err != nil {
						return err
					}
				}
				return nil
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			var last time.Time
			err = c.Events(ctx, func(ev api.Event) error {
				if ev.Type == api.EventStreamReady {
					rctx, rcancel := apiCtx(cmd)
					defer rcancel()
					evs, err := c.RecentEvents(rctx)
					if err != nil {
						return err
					}
					for _, e := range evs {
						if err := ep.print(e); err != nil {
							return err
						}
						last = e.Time
					}
					return nil
				}
				if !ev.Time.After(last) {
					return nil // in the timeline already printed
				}

				return ep.print(ev)
			})
			if ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they happen")
	return cmd
}
