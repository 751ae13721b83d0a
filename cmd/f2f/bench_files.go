package main

import (
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/internal/bench"
)

// goalFileRatio: a get runs at least half as fast as a raw stream (issue 4).
const goalFileRatio = 0.5

func newBenchFilesCmd(g *globals) *cobra.Command {
	var (
		sizeMiB int
		nodes   int
	)
	cmd := &cobra.Command{
		Use:   "files [--size MiB] [--fanout N]",
		Short: "Measure file get throughput next to a raw libp2p stream, and a 1->N fan-out",
		Long: `Start two real nodes (loopback, local profile, temporary repos) in this process;
one adds --size MiB of random bytes, then the time for a raw libp2p stream of
the same size between the two hosts and for the other node's file get (the
root block over bitswap, the rest over the fast path /f2f/blocks/1 from the
peer that sent it, every block verified and stored) are measured; the ratio
compares them. The floor next to them: the same size moved by boxo's bitswap
alone between two plain go-libp2p hosts (in-memory blockstores, no face2face
code). Then --fanout nodes get the same file at once from one that added it,
and the time until the last has it all is reported, with the most peers any
one of them received blocks from. Nothing leaves the machine.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sizeMiB < 1 || sizeMiB > 4096 {
				return fmt.Errorf("--size must be between 1 and 4096 MiB, got %d", sizeMiB)
			}
			if nodes < 0 || nodes > 50 {
				return fmt.Errorf("--fanout must be between 0 and 50, got %d", nodes)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			dir, err := os.MkdirTemp("", "f2f-bench-files-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			r, err := bench.RunFileBench(ctx, dir, int64(sizeMiB)<<20, nodes)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]any{"cores": runtime.NumCPU(), "result": r})
			}
			fmt.Fprintf(g.out, "%d cores; %d MiB, loopback\n", runtime.NumCPU(), sizeMiB)
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "benchmark\ttime\tMB/s\tgoal\tmet")
			fmt.Fprintf(tw, "raw libp2p stream\t%.3f s\t%.0f\t\t\n", r.RawSec, r.RawMBps)
			fmt.Fprintf(tw, "bitswap alone (boxo, no face2face code)\t%.3f s\t%.0f\t\t\n", r.BareSec, r.BareMBps)
			fmt.Fprintf(tw, "file get\t%.3f s\t%.0f\t>= %.1fx raw (%.2fx; %.2fx bitswap alone)\t%v\n", r.GetSec, r.GetMBps, goalFileRatio, r.Ratio, r.GetOverBare, r.Ratio >= goalFileRatio)
			if nodes > 0 {
				fmt.Fprintf(tw, "fan-out 1->%d (up to %d sources each)\t%.3f s\t%.0f\t\t\n", nodes, r.FanoutSrcs, r.FanoutSec,
					float64(nodes)*float64(r.Size)/1e6/r.FanoutSec)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&sizeMiB, "size", 100, "file size in MiB")
	cmd.Flags().IntVar(&nodes, "fanout", 10, "how many nodes get the file at once (0: skip)")
	return cmd
}
