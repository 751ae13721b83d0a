package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/media"
)

// Goals of issue 20: one core composes at least 4 outputs from 4 inputs,
// and composing adds at most 60 ms (p99).
const (
	goalOutputsPerCore = 4
	goalComposeLatency = 60 * time.Millisecond
)

func newBenchComposeCmd(g *globals) *cobra.Command {
	var inputs string
	var frames int
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "compose [--inputs 4,9] [--frames F] [--window D]",
		Short: "Measure the mixer's video composition: CPU per composed output and added latency",
		Long: `For each count of inputs (camera-like VP8 at 640x360, 30 fps, made here),
composes F frames of 640x360 at 15 fps one after the other (libvpx decode of
every input, the grid drawn, libvpx VP8 encode) and prints the CPU time of
decoding (shared by all outputs) and of composing and encoding one output
frame, and how many outputs one core sustains; then runs a composition with
its own clock for D with the inputs fed at their own pace and prints the
latency from an input frame decoded to the first composed frame showing it
sent (p50, p99). Goals: >= 4 outputs a core for 4 inputs, p99 <= 60 ms.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ns []int
			for _, f := range strings.Split(inputs, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 || n > 16 {
					return fmt.Errorf("--inputs: %q is not a count from 1 to 16", f)
				}
				ns = append(ns, n)
			}
			if frames < 1 || frames > 10000 {
				return fmt.Errorf("--frames must be between 1 and 10000, got %d", frames)
			}
			if window < time.Second || window > 10*time.Minute {
				return fmt.Errorf("--window must be between 1s and 10m, got %s", window)
			}
			var rows []media.CompositionCost
			for _, n := range ns {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				r, err := media.MeasureComposition(n, frames, window)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
			if g.json {
				var out []map[string]any
				for _, r := range rows {
					out = append(out, map[string]any{"inputs": r.Inputs, "decode_ms": ms(r.Decode), "frame_ms": ms(r.Frame),
						"outputs_per_core": r.OutputsPerCore, "latency_ms_p50": ms(r.LatencyP50), "latency_ms_p99": ms(r.LatencyP99)})
				}
				return g.printJSON(map[string]any{"cores": runtime.NumCPU(), "size": "640x360", "fps": 15, "runs": out})
			}
			fmt.Fprintf(g.out, "%d cores; composed 640x360 at 15 fps from 640x360 inputs at 30 fps\n", runtime.NumCPU())
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "inputs\tdecode/frame\tcompose+encode/output\toutputs/core\tlatency p50\tp99\tgoal\tmet")
			for _, r := range rows {
				goal, met := fmt.Sprintf("p99 <= %.0f ms", ms(goalComposeLatency)), r.LatencyP99 <= goalComposeLatency
				if r.Inputs == 4 {
					goal = fmt.Sprintf(">= %d outputs, %s", goalOutputsPerCore, goal)
					met = met && r.OutputsPerCore >= goalOutputsPerCore
				}
				fmt.Fprintf(tw, "%d\t%.1f ms\t%.1f ms\t%.1f\t%.0f ms\t%.0f ms\t%s\t%v\n", r.Inputs, ms(r.Decode), ms(r.Frame),
					r.OutputsPerCore, ms(r.LatencyP50), ms(r.LatencyP99), goal, met)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&inputs, "inputs", "4,9", "counts of inputs, comma-separated")
	cmd.Flags().IntVar(&frames, "frames", 150, "output frames timed one after the other")
	cmd.Flags().DurationVar(&window, "window", 10*time.Second, "how long the running composition is timed")
	return cmd
}
