package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newConnectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "connect MULTIADDR",
		Short: "Connect the daemon to a peer by its full multiaddr (ending in /p2p/<peer id>)",
		Args:  exactArgs(1, "one multiaddr"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := api.ParsePeerAddr(args[0]); err != nil {
				return err
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			id, err := c.Connect(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(api.ConnectResponse{ID: id})
			}
			fmt.Fprintf(g.out, "connected to %s\n", id)
			return nil
		},
	}
}
