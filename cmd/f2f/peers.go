package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers, one full multiaddr (with /p2p/) per line; relayed ones are /p2p-circuit addresses",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, (*api.Client).Peers, func(peers []api.Peer) error {
				if err := printPeers(g, peers); err != nil {
					return err
				}
				// How this node itself is reachable, on stderr (stdout
				// stays one multiaddr per line).
				c, ctx, cancel, err := g.api(cmd)
				if err != nil {
					return err
				}
				defer cancel()
				if info, err := c.ID(ctx); err == nil && info.NAT.Summary != "" {
					fmt.Fprintln(g.err, "reachability:", info.NAT.Summary)
				}
				return nil
			})
		},
	}
}

func printPeers(g *globals, peers []api.Peer) error {
	for _, p := range peers {
		fmt.Fprintf(g.out, "%s/p2p/%s\n", p.Addr, p.ID)
	}
	if len(peers) == 0 {
		fmt.Fprintln(g.err, "no peers connected: the daemon reached none of its bootstrap or known peers (connect one with `f2f connect MULTIADDR`)")
	}
	return nil
}
