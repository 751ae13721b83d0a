package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers, one full multiaddr (with /p2p/) per line",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, (*api.Client).Peers, func(peers []api.Peer) error {
				return printPeers(g, peers)
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
