package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

func newMediaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "media",
		Short: "Live audio/video in a room: publish files, record, stats, mixed audio",
		Long: `Live media flows between members' daemons over WebRTC (pion), along the
room's topology: a mesh up to 4 members, a star around the elected mixer
above (the mixer forwards every track). When the mixer or the topology
changes, media reroutes by itself; f2f media stats shows the gaps.`,
	}
	cmd.AddCommand(newMediaPublishCmd(g), newMediaRecordCmd(g), newMediaStopCmd(g), newMediaStatsCmd(g), newMediaMixCmd(g))
	return cmd
}

func absOrEmpty(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}

func newMediaPublishCmd(g *globals) *cobra.Command {
	var video, audio string
	var loop bool
	cmd := &cobra.Command{
		Use:   "publish ROOM --video F.ivf [--audio F.ogg] [--loop]",
		Short: "Send a VP8 IVF video and/or an Ogg Opus audio file to the room at their real pace",
		Long: `Send a VP8 IVF video and/or an Ogg Opus audio file to the room's members
at the files' real pace (as a camera and microphone would). The daemon reads
the files. --loop starts them over at the end; f2f media stop ROOM stops.

Make such files with ffmpeg, e.g.:
  ffmpeg -i in.mp4 -c:v libvpx -b:v 500k -g 30 -an video.ivf
  ffmpeg -i in.mp4 -c:a libopus -b:a 48k -vn audio.ogg`,
		Args: exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if video == "" && audio == "" {
				return errors.New("give --video F.ivf and/or --audio F.ogg")
			}
			v, err := absOrEmpty(video)
			if err != nil {
				return err
			}
			a, err := absOrEmpty(audio)
			if err != nil {
				return err
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := c.MediaPublish(ctx, args[0], api.PublishRequest{Video: v, Audio: a, Loop: loop})
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(st)
			}
			fmt.Fprintf(g.out, "publishing in %s (%s, %d members)\n", args[0], st.Mode, st.Members)
			return nil
		},
	}
	cmd.Flags().StringVar(&video, "video", "", "VP8 IVF file")
	cmd.Flags().StringVar(&audio, "audio", "", "Ogg Opus file")
	cmd.Flags().BoolVar(&loop, "loop", false, "start over at the end of the files")
	return cmd
}

func newMediaRecordCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "record ROOM --dir D",
		Short: "Write every other publisher's tracks to D/<peer>-video.ivf and D/<peer>-audio.ogg",
		Long: `Record every remote publisher in the room: video to D/<peer>-video.ivf (VP8)
and audio to D/<peer>-audio.ogg (Opus), playable with ffmpeg, ffplay or VLC.
Mixed audio (f2f media mix) goes to D/mix-audio.ogg. A stream keeps its file
when the route changes. f2f media stop ROOM finishes the files.`,
		Args: exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("give --dir D")
			}
			d, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := c.MediaRecord(ctx, args[0], d)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(st)
			}
			fmt.Fprintf(g.out, "recording %s into %s\n", args[0], st.Recording)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the recordings into (created if missing)")
	return cmd
}

func newMediaStopCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stop ROOM",
		Short: "Stop publishing and recording in a room (finishes the recorded files)",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			res, err := c.MediaStop(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			var what []string
			if res.Published {
				what = append(what, "publishing")
			}
			if res.Recorded {
				what = append(what, "recording")
			}
			fmt.Fprintf(g.out, "stopped %s\n", strings.Join(what, " and "))
			for _, f := range res.Files {
				unit := "frames"
				if f.Kind == "audio" {
					unit = "packets"
				}
				fmt.Fprintf(g.out, "%s\t%d %s\t%d bytes\n", f.Path, f.Frames, unit, f.Bytes)
			}
			return nil
		},
	}
}

func newMediaMixCmd(g *globals) *cobra.Command {
	var video bool
	cmd := &cobra.Command{
		Use:   "mix ROOM on|off [--video]",
		Short: "Ask the room's mixer for one mixed audio stream (and with --video one composed picture)",
		Long: `In a star room, ask the mixer to send this node one mixed audio stream (every
other member's audio, decoded, mixed and encoded on the mixer) instead of one
stream per publisher: less download for a weak member. With --video the mixer
also composes the other members' video into one picture (a grid; the active
speaker or a screen share large; names under the tiles) and sends that one VP8
stream (640x360 at 15 fps by default, config.json media.compose_*) instead of
one video track per publisher. The mixer refuses composition its CPU budget
cannot sustain, with its reason. "off" goes back to one stream per publisher;
neither needs rejoining.`,
		Args: exactArgs(2, "a room key or name, and on or off"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[1] {
			case "on":
				on = true
			case "off":
				if video {
					return errors.New("--video goes with on (off stops mixed audio and composed video)")
				}
			default:
				return fmt.Errorf("want on or off, not %q", args[1])
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := c.MediaMix(ctx, args[0], api.MixRequest{On: on, Video: video})
			if err != nil {
				return err
			}
			// On: wait (at most 10 s) for the mixer's answer, as stats
			// show it; a refusal fails with the mixer's reason.
			answer := ""
			if on {
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				defer wcancel()
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				waiting := func() bool {
					return st.MixedBy == "" && st.MixRefused == "" || video && st.ComposedBy == "" && st.VideoRefused == ""
				}
				for waiting() && wctx.Err() == nil {
					select {
					case <-wctx.Done():
						continue
					case <-tick.C:
					}
					if st, err = c.MediaStats(ctx, args[0]); err != nil {
						return err
					}
				}
				if st.MixRefused != "" {
					if _, err := c.MediaMix(ctx, args[0], api.MixRequest{}); err != nil {
						return err
					}
					return fmt.Errorf("the mixer refused mixed audio: %s", textfmt.DisplayText(st.MixRefused))
				}
				if video && st.VideoRefused != "" {
					if _, err := c.MediaMix(ctx, args[0], api.MixRequest{On: true}); err != nil {
						return err
					}
					return fmt.Errorf("the mixer refused composed video (mixed audio stays on): %s", textfmt.DisplayText(st.VideoRefused))
				}
				answer = "; the mixer has not answered yet (it answers once it sends this node audio): see f2f media stats"
				if st.MixedBy != "" {
					answer = ", mixed by " + st.MixedBy
					if video && st.ComposedBy != "" {
						answer += ", video composed by " + st.ComposedBy
					}
				}
			}
			if g.json {
				return g.printJSON(st)
			}
			what := "mixed audio"
			if video {
				what = "mixed audio and composed video"
			}
			fmt.Fprintf(g.out, "%s %s for %s%s\n", what, args[1], args[0], answer)
			return nil
		},
	}
	cmd.Flags().BoolVar(&video, "video", false, "also one composed picture of the others' video")
	return cmd
}

func newMediaStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats ROOM",
		Short: "Per media edge: bitrate, packets, loss, jitter, RTT; per received stream: frames and gaps",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := c.MediaStats(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(st)
			}
			printMediaStats(g, st)
			return nil
		},
	}
}

func short(id string) string {
	if len(id) > 12 {
		return "…" + id[len(id)-8:]
	}
	return id
}

func printMediaStats(g *globals, st api.MediaStats) {
	mixer := "none"
	if st.Mixer != "" {
		mixer = short(st.Mixer)
	}
	fmt.Fprintf(g.out, "room %s: %s, %d members, mixer %s\n", short(st.Room), st.Mode, st.Members, mixer)
	if p := st.Publishing; p != nil && p.Browser {
		screen := ""
		if p.Screen {
			screen = ", sharing the screen"
		}
		fmt.Fprintf(g.out, "publishing from the page: %d camera frames, %d microphone packets in %.0f s%s\n",
			p.VideoFrames, p.AudioPackets, p.Seconds, screen)
	} else if p != nil {
		fmt.Fprintf(g.out, "publishing: %d video frames, %d audio packets in %.0f s (loop %v, done %v)\n",
			p.VideoFrames, p.AudioPackets, p.Seconds, p.Loop, p.Done)
	}
	if st.Recording != "" {
		fmt.Fprintf(g.out, "recording into %s\n", st.Recording)
	}
	if st.MixWanted {
		switch {
		case st.MixedBy != "":
			fmt.Fprintf(g.out, "mixed audio from %s\n", short(st.MixedBy))
		case st.MixRefused != "":
			fmt.Fprintf(g.out, "mixed audio refused by the mixer: %s\n", textfmt.DisplayText(st.MixRefused))
		default:
			fmt.Fprintln(g.out, "mixed audio asked for")
		}
	}
	if m := st.Mix; m != nil {
		fmt.Fprintf(g.out, "mixing for %d members from %d inputs: %d frames, encode %.0f µs, decode %.0f µs per stream-frame\n",
			m.Receivers, m.Inputs, m.Frames, m.EncodeUS, m.DecodeUS)
	}
	if st.VideoWanted {
		switch {
		case st.ComposedBy != "":
			fmt.Fprintf(g.out, "composed video from %s\n", short(st.ComposedBy))
		case st.VideoRefused != "":
			fmt.Fprintf(g.out, "composed video refused by the mixer: %s\n", textfmt.DisplayText(st.VideoRefused))
		default:
			fmt.Fprintln(g.out, "composed video asked for")
		}
	}
	for _, gp := range st.GridGaps {
		fmt.Fprintf(g.out, "composed video paused %.0f ms when %s took over\n", gp.MS, short(gp.Via))
	}
	if c := st.Compose; c != nil {
		speaker := ""
		if c.Speaker != "" {
			speaker = ", speaker " + short(c.Speaker)
		}
		fmt.Fprintf(g.out, "composing %s at %d fps for %d members from %d inputs: %d frames, %.1f ms a frame (compose %.1f, encode %.1f; decode %.1f per input frame), latency p50 %.0f / p99 %.0f ms, budget %.0f ms/s%s\n",
			c.Size, c.FPS, c.Receivers, c.Inputs, c.Frames, c.FrameMS, c.ComposeMS, c.EncodeMS, c.DecodeMS, c.LatencyP50MS, c.LatencyP99MS, c.BudgetMS, speaker)
	}
	tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EDGE\tPEER\tSTATE\tTRACK\tKBPS\tPACKETS\tLOST\tJITTER MS\tRTT MS\tNACK\tPLI")
	for _, e := range st.Edges {
		if len(e.Tracks) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t\t\t\t\t\t\t\n", e.Direction, short(e.Peer), e.State)
		}
		for _, t := range e.Tracks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%.1f\t%d\t%d\t%.2f\t%.2f\t%d\t%d\n", e.Direction, short(e.Peer), e.State,
				short(t.Origin), t.ID, t.Kbps, t.Packets, t.Lost, t.JitterMS, t.RTTMS, t.NACK, t.PLI)
		}
	}
	_ = tw.Flush()
	tw = tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tVIA\tPACKETS\tFRAMES\tFORWARDED TO\tMAX GAP MS\tGAPS\tRESTARTS")
	for _, s := range st.Streams {
		fmt.Fprintf(tw, "%s/%s\t%s\t%d\t%d\t%d\t%.0f\t%d\t%d\n", short(s.Origin), s.ID, short(s.Via), s.Packets, s.Frames, s.Forwarded, s.MaxGap, len(s.Gaps), s.Restarts)
	}
	_ = tw.Flush()
}
