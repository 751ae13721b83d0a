package main

import (
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/internal/bench"
)

func newBenchMediaCmd(g *globals) *cobra.Command {
	var nodes int
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "media [--nodes N] [--window D]",
		Short: "Measure a media call of N daemons: the mixer's CPU and forwarding, the failover gap",
		Long: `Starts N f2f daemon processes (loopback, local profile, temporary repos), forms a
room (a star around the elected mixer above 4 members), and has every member
publish the test media (VP8 160x120 at 30 fps, Opus 20 ms) while one records.
Over --window it measures each daemon's CPU and the RTP packets the mixer
sends; then it kills the mixer (SIGKILL) and measures the time until the
others agree on a new one and the longest pause in the recorded video.
For the forwarding and mixing limits per core and the added latency per
hop, see go test -bench . ./media/ (README, "Tests and benchmarks").`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodes < 3 || nodes > 16 {
				return fmt.Errorf("--nodes must be between 3 and 16, got %d", nodes)
			}
			if window < time.Second || window > 10*time.Minute {
				return fmt.Errorf("--window must be between 1s and 10m, got %v", window)
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			dir, err := os.MkdirTemp("", "f2f-bench-media-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			r, err := bench.RunMediaBench(ctx, bin, dir, nodes, window)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(r)
			}
			fmt.Fprintf(g.out, "%d cores; %d daemons (%s), every one publishing, over %s\n", runtime.NumCPU(), nodes, r.Mode, window)
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "benchmark\tvalue\tgoal\tmet")
			fmt.Fprintf(tw, "mixer CPU\t%.1f %% of a core\t\t\n", 100*r.MixerCores)
			fmt.Fprintf(tw, "mixer CPU per participant\t%.2f %% of a core\t\t\n", 100*r.MixerCoresPerParticipant)
			fmt.Fprintf(tw, "other member CPU (median)\t%.1f %% of a core\t\t\n", 100*r.OtherCores)
			fmt.Fprintf(tw, "RTP packets sent by the mixer\t%.0f /s\t\t\n", r.ForwardedPPS)
			fmt.Fprintf(tw, "  per second of the mixer's CPU\t%.0f\t\t\n", r.PacketsPerCoreSecond)
			fmt.Fprintf(tw, "failover agreed after the mixer was killed\t%.0f ms\t<= 2000 ms\t%v\n", ms(r.Failover), r.Failover <= 2*time.Second)
			gap := "none >= 250 ms"
			if r.Gap > 0 {
				gap = fmt.Sprintf("%.0f ms", ms(r.Gap))
			}
			fmt.Fprintf(tw, "longest pause in received video after the kill\t%s\t<= 2000 ms\t%v\n", gap, r.Gap <= 2*time.Second)
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 6, "daemons in the room")
	cmd.Flags().DurationVar(&window, "window", 10*time.Second, "how long to measure CPU and packets")
	return cmd
}
