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

// goalFailover: the members agree on a new mixer within 2 s of the old
// one failing (issue 5).
const goalFailover = 2 * time.Second

func newBenchElectionCmd(g *globals) *cobra.Command {
	var nodes, runs int
	cmd := &cobra.Command{
		Use:   "election [--nodes N] [--runs R]",
		Short: "Measure the time to agree on a mixer after joining and after the mixer fails",
		Long: `Each run starts N real nodes (loopback, local profile, temporary repos, simulated
uplinks of different speeds) in this process, has them join one room, and
measures the time from the last join until every member agrees on a mixer.
Once every capability report is in and the election settled, the mixer is
stopped, and the time until the others agree on a new mixer is measured.
Prints p50 and p99 over the runs. Nothing leaves the machine.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodes < 2 || nodes > 32 {
				return fmt.Errorf("--nodes must be between 2 and 32, got %d", nodes)
			}
			if runs < 1 || runs > 1000 {
				return fmt.Errorf("--runs must be between 1 and 1000, got %d", runs)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			dir, err := os.MkdirTemp("", "f2f-bench-election-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			r, err := bench.RunElectionBench(ctx, dir, nodes, runs)
			if err != nil {
				return err
			}
			p := func(ds []time.Duration, q float64) float64 { return ms(bench.Percentile(ds, q)) }
			if g.json {
				return g.printJSON(map[string]any{"cores": runtime.NumCPU(), "nodes": nodes, "runs": runs,
					"join_ms_p50": p(r.Join, 0.5), "join_ms_p99": p(r.Join, 0.99),
					"failover_ms_p50": p(r.Failover, 0.5), "failover_ms_p99": p(r.Failover, 0.99)})
			}
			fmt.Fprintf(g.out, "%d cores; %d nodes, %d runs, loopback\n", runtime.NumCPU(), nodes, runs)
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "benchmark\tp50\tp99\tgoal\tmet")
			fmt.Fprintf(tw, "mixer agreed after joining\t%.0f ms\t%.0f ms\t\t\n", p(r.Join, 0.5), p(r.Join, 0.99))
			fmt.Fprintf(tw, "failover agreed after the mixer stopped\t%.0f ms\t%.0f ms\t<= %.0f ms\t%v\n",
				p(r.Failover, 0.5), p(r.Failover, 0.99), ms(goalFailover), bench.Percentile(r.Failover, 0.99) <= goalFailover)
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 6, "members of the room")
	cmd.Flags().IntVar(&runs, "runs", 10, "how many elections")
	return cmd
}
