package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/internal/demo"
	"github.com/fluttershy/face2face/testnet"
)

func newDemoCmd(g *globals) *cobra.Command {
	var (
		nodes int
		shape string
		dur   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo [--nodes N] [--shape star|chain|random]",
		Short: "Run a self-contained local multi-node network and narrate it (until Ctrl-C)",
		Long: `Start N real face2face nodes on loopback, each with its own temporary repo
and the local profile (nothing leaves this machine, no internet needed), and
narrate how they find each other through the DHT. Runs until Ctrl-C (or
--duration), then stops the nodes and removes their repos.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodes < 2 || nodes > 50 {
				return fmt.Errorf("--nodes must be between 2 and 50, got %d", nodes)
			}
			sh, err := testnet.ParseShape(shape)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if dur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, dur)
				defer cancel()
			}
			cli := "f2f"
			if exe, err := os.Executable(); err == nil {
				cli = exe
			}
			return demo.Demo(ctx, g.out, demo.DemoParams{Nodes: nodes, Shape: sh, CLI: cli})
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 5, "how many nodes (2-50)")
	cmd.Flags().StringVar(&shape, "shape", "star", "whom each node bootstraps to: star (node0), chain (the previous node) or random")
	cmd.Flags().DurationVar(&dur, "duration", 0, "stop after this long (default: run until Ctrl-C)")
	return cmd
}
