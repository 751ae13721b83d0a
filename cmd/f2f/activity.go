package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

func newMixerCmd(g *globals) *cobra.Command {
	var set, topology string
	var auto bool
	var meshMax int
	cmd := &cobra.Command{
		Use:   "mixer ROOM [--set PEER | --auto] [--topology auto|mesh|star] [--mesh-max K]",
		Short: "Show a room's mixer, term, scores and reason; pin a mixer for everyone",
		Long: `Show a room's elected mixer: its term, why it was elected, the topology
(mesh up to --mesh-max members, default 4, star around the mixer above), and
every member's score with the capability report behind it.

--set PEER pins PEER (a peer ID or nickname) as the mixer for every member
until --auto lets the election pick again. --topology and --mesh-max override
the room's topology policy for everyone. /mixer does the same in a chat.`,
		Args: exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if set != "" && auto {
				return errors.New("give either --set PEER or --auto, not both")
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var in overlay.MixerInfo
			if set != "" || auto || topology != "" || meshMax != 0 {
				in, err = c.SetMixer(ctx, args[0], overlay.MixerChangeRequest{Pin: set, Auto: auto, Topology: topology, MeshMax: meshMax})
			} else {
				in, err = c.Mixer(ctx, args[0])
			}
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(in)
			}
			printMixer(g, in)
			return nil
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "pin this member (peer ID or nickname) as the mixer for everyone")
	cmd.Flags().BoolVar(&auto, "auto", false, "remove the pin: the election picks the mixer")
	cmd.Flags().StringVar(&topology, "topology", "", "force the room's topology: auto, mesh or star")
	cmd.Flags().IntVar(&meshMax, "mesh-max", 0, "largest room run as a mesh (default 4)")
	return cmd
}

func printMixer(g *globals, in overlay.MixerInfo) {
	if in.Mixer == "" {
		fmt.Fprintf(g.out, "room %s: no mixer elected yet\n", in.Name)
	} else {
		fmt.Fprintf(g.out, "room %s: mixer %s (%s), term %d, since %s\n", in.Name, in.Nick, in.Mixer, in.Term, in.Since.Local().Format(time.TimeOnly))
		fmt.Fprintf(g.out, "reason: %s\n", in.Reason)
	}
	pin := "none (elected by score)"
	if in.Policy.Pin != "" {
		pin = in.Policy.Pin.String()
		for _, m := range in.Members {
			if m.ID == pin {
				pin = m.Nick + " (" + pin + ")"
			}
		}
	}
	fmt.Fprintf(g.out, "topology: %s (mesh up to %d members); pin: %s\n\n", in.Topology, in.MeshMax, pin)
	tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tSCORE\tUPLOAD\tRTT\tCORES\tENCODE\tREACH\tMEDIA OUT\tROLE")
	for _, m := range in.Members {
		role := ""
		switch {
		case m.Mixer && m.Me:
			role = "mixer (me)"
		case m.Mixer:
			role = "mixer"
		case m.Me:
			role = "me"
		case !m.Alive:
			role = "away"
		}
		if r := m.Report; r != nil {
			up := "not measured"
			if r.UploadBps > 0 {
				up = fmt.Sprintf("%s (%d peers)", rateText(float64(r.UploadBps)), r.Probed)
			}
			media := "-"
			if r.MediaOutBps > 0 {
				media = rateText(float64(r.MediaOutBps))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f ms\t%d\t%.1f ms\t%s\t%s\t%s\n", m.Nick, m.Score, up, float64(r.RTTMicros)/1000,
				r.Cores, float64(r.EncodeMicros)/1000, r.Reach, media, role)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\t-\t-\t%s\n", m.Nick, m.Score, role)
		}
	}
	_ = tw.Flush()
	if len(in.History) > 0 {
		fmt.Fprintln(g.out, "\nhistory:")
		for _, h := range in.History {
			fmt.Fprintf(g.out, "  %s  term %d  %s  %s\n", h.Time.Local().Format(time.TimeOnly), h.Term, h.Nick, h.Reason)
		}
	}
}

func newRoomProbeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "probe ROOM [PEER]",
		Short: "Measure upload throughput to a member (or to every connected member) over /f2f/bwprobe/1",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("%s takes a room and optionally a member (see `%s --help`)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			member := ""
			if len(args) == 2 {
				member = args[1]
			}
			res, err := c.Probe(ctx, args[0], member)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "MEMBER\tUPLOAD\tBYTES\tTIME\tRTT\tERROR")
			failed := 0
			for _, r := range res {
				if r.Error != "" {
					failed++
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f s\t%.1f ms\t%s\n", r.Nick, rateText(r.Bps), r.Bytes, r.Secs, r.RTTMS, r.Error)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if failed == len(res) {
				return errors.New("every probe failed")
			}
			return nil
		},
	}
}

func newTopoCmd(g *globals) *cobra.Command {
	var room, format string
	cmd := &cobra.Command{
		Use:   "topo [--room ROOM] [--format json|dot|svg]",
		Short: "Print who is connected to whom: a room's members or this node's peers, as JSON, DOT or SVG",
		Long: `Print the topology graph. With --room, every member of the room, labelled by
nickname and role (me, mixer, member), and the edges each member reported in
its latest telemetry: connections (transport, RTT, bytes/s), its GossipSub
mesh, and media (an arrow from sender to receiver with its bytes/s). Without --room, this node and its connected peers,
with bitswap traffic per peer.

--format json (the default; also --json), dot (Graphviz) or svg (drawn here,
no external tool needed):  f2f topo --room ROOM --format svg > room.svg`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json && format == "" {
				format = "json"
			}
			if format == "" {
				format = "json"
			}
			if format != "json" && format != "dot" && format != "svg" {
				return fmt.Errorf("unknown format %q (want json, dot or svg)", format)
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			gr, err := c.Topo(ctx, room)
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				return writeDOT(g.out, gr)
			case "svg":
				return writeSVG(g.out, gr)
			}
			return g.printJSON(gr)
		},
	}
	cmd.Flags().StringVar(&room, "room", "", "a room key or name (default: this node's own connections)")
	cmd.Flags().StringVar(&format, "format", "", "json, dot or svg")
	return cmd
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
			err = c.Events(ctx, func(ev node.Event) error {
				if ev.Type == node.EventStreamReady {
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
