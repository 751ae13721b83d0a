package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newIDCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print the daemon's peer ID, then one full listen multiaddr per line (how it is reachable on stderr)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, (*api.Client).ID, func(info api.ID) error {
				fmt.Fprintln(g.out, info.ID)
				for _, a := range info.Addresses {
					fmt.Fprintln(g.out, a)
				}
				if info.NAT.Summary != "" {
					fmt.Fprintln(g.err, "reachability:", info.NAT.Summary)
				}
				return nil
			})
		},
	}
}
