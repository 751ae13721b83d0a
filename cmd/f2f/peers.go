package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers, one full multiaddr (with /p2p/) per line",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			peers, err := c.Peers(ctx)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(peers)
			}
			for _, p := range peers {
				fmt.Fprintf(g.out, "%s/p2p/%s\n", p.Addr, p.ID)
			}
			if len(peers) == 0 {
				fmt.Fprintln(g.err, "no peers connected: the daemon reached none of its bootstrap or known peers (connect one with `f2f connect MULTIADDR`)")
			}
			return nil
		},
	}
}
