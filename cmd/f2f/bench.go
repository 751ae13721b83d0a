package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/testnet"
)

// Goals the benchmarks are measured against (issue 2).
const (
	goalStartToReady = 500 * time.Millisecond
	goalIdleRSS      = 40 << 20
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmarks and print a table",
	}
	var (
		runs int
		idle time.Duration
	)
	daemon := &cobra.Command{
		Use:   "daemon [--runs N] [--idle D]",
		Short: "Measure daemon start-to-ready time, idle RSS and shutdown time",
		Long: `Start this f2f binary as a daemon on a fresh local-profile repo --runs times;
each time measure the time from exec to "ready" (host listening on TCP and
QUIC, API serving), the resident memory after --idle, and the time a clean
shutdown takes. Nothing leaves the machine.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 100 {
				return fmt.Errorf("--runs must be between 1 and 100, got %d", runs)
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "f2f-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			res, err := testnet.BenchDaemon(cmd.Context(), bin, dir, runs, idle)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]any{
					"runs": runs, "idle": idle.String(),
					"start_to_ready_ms_median": ms(testnet.Median(res.StartToReady)),
					"start_to_ready_ms_max":    ms(testnet.Max(res.StartToReady)),
					"idle_rss_mb_median":       mb(testnet.Median(res.IdleRSS)),
					"idle_rss_mb_max":          mb(testnet.Max(res.IdleRSS)),
					"shutdown_ms_median":       ms(testnet.Median(res.Shutdown)),
					"shutdown_ms_max":          ms(testnet.Max(res.Shutdown)),
				})
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "benchmark\truns\tmedian\tmax\tgoal\tmet")
			fmt.Fprintf(tw, "daemon start-to-ready\t%d\t%.0f ms\t%.0f ms\t<= %.0f ms\t%v\n", runs,
				ms(testnet.Median(res.StartToReady)), ms(testnet.Max(res.StartToReady)), ms(goalStartToReady),
				testnet.Median(res.StartToReady) <= goalStartToReady)
			fmt.Fprintf(tw, "daemon idle RSS (after %s)\t%d\t%.1f MiB\t%.1f MiB\t<= %.0f MiB\t%v\n", idle, runs,
				mb(testnet.Median(res.IdleRSS)), mb(testnet.Max(res.IdleRSS)), mb(int64(goalIdleRSS)),
				testnet.Median(res.IdleRSS) <= goalIdleRSS)
			fmt.Fprintf(tw, "daemon shutdown (SIGTERM to exit)\t%d\t%.0f ms\t%.0f ms\t\t\n", runs,
				ms(testnet.Median(res.Shutdown)), ms(testnet.Max(res.Shutdown)))
			return tw.Flush()
		},
	}
	daemon.Flags().IntVar(&runs, "runs", 5, "how many daemon starts")
	daemon.Flags().DurationVar(&idle, "idle", 5*time.Second, "how long the daemon idles before its RSS is read")
	cmd.AddCommand(daemon)
	return cmd
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(b int64) float64         { return float64(b) / (1 << 20) }
