package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
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
			var in api.MixerInfo
			if set != "" || auto || topology != "" || meshMax != 0 {
				in, err = c.SetMixer(ctx, args[0], api.MixerChangeRequest{Pin: set, Auto: auto, Topology: topology, MeshMax: meshMax})
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

func printMixer(g *globals, in api.MixerInfo) {
	if in.Mixer == "" {
		fmt.Fprintf(g.out, "room %s: no mixer elected yet\n", in.Name)
	} else {
		fmt.Fprintf(g.out, "room %s: mixer %s (%s), term %d, since %s\n", in.Name, in.Nick, in.Mixer, in.Term, in.Since.Local().Format(time.TimeOnly))
		fmt.Fprintf(g.out, "reason: %s\n", in.Reason)
	}
	pin := "none (elected by score)"
	if in.Policy.Pin != "" {
		pin = in.Policy.Pin
		for _, m := range in.Members {
			if m.ID == pin {
				pin = m.Nick + " (" + pin + ")"
			}
		}
	}
	fmt.Fprintf(g.out, "topology: %s (mesh up to %d members); pin: %s\n\n", in.Topology, in.MeshMax, pin)
	tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tSCORE\tUPLOAD\tRTT\tCORES\tENCODE\tCOMPOSE\tREACH\tMEDIA OUT\tROLE")
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
			compose := "-"
			if r.ComposeMicros > 0 {
				compose = fmt.Sprintf("%.1f ms", float64(r.ComposeMicros)/1000)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f ms\t%d\t%.1f ms\t%s\t%s\t%s\t%s\n", m.Nick, m.Score, up, float64(r.RTTMicros)/1000,
				r.Cores, float64(r.EncodeMicros)/1000, compose, r.Reach, media, role)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t-\t-\t-\t-\t%s\n", m.Nick, m.Score, role)
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
