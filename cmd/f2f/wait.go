package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newWaitCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait [--timeout 30s]",
		Short: "Wait until the repo's daemon serves its API (after `f2f daemon &`)",
		Long: `Wait until the repo's daemon answers on its local API and has dialled its
bootstrap and known peers, then print its peer ID.

Use it after starting a daemon in the background, so that the next command
finds it ready:  f2f daemon &  f2f wait  f2f id
Fails after --timeout when no daemon became ready.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return fmt.Errorf("bad --timeout %s (want a positive duration such as 30s)", timeout)
			}
			p, err := g.repoPath()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			info, err := waitReady(ctx, g)
			if err != nil {
				if errors.Is(err, api.ErrNotInitialised) || cmd.Context().Err() != nil {
					return err
				}
				return fmt.Errorf("no daemon became ready at %s within %s (start one with `f2f --repo %s daemon &`): %v", p, timeout, p, err)
			}
			if g.json {
				return g.printJSON(info)
			}
			fmt.Fprintf(g.out, "daemon ready: %s\n", info.ID)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait")
	return cmd
}

// waitReady polls the repo's daemon until it answers /id or ctx ends; it
// returns at once when the repo does not exist.
func waitReady(ctx context.Context, g *globals) (api.ID, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := g.client()
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			var info api.ID
			info, err = c.ID(rctx)
			cancel()
			if err == nil && !info.Connecting {
				return info, nil
			}
			if err == nil {
				err = errors.New("still connecting to its bootstrap and known peers")
			}
		}
		if errors.Is(err, api.ErrNotInitialised) {
			return api.ID{}, err
		}
		select {
		case <-ctx.Done():
			return api.ID{}, err
		case <-tick.C:
		}
	}
}
