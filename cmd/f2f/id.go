package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newIDCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print the daemon's peer ID, then one full listen multiaddr per line",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			info, err := c.ID(ctx)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(info)
			}
			fmt.Fprintln(g.out, info.ID)
			for _, a := range info.Addresses {
				fmt.Fprintln(g.out, a)
			}
			return nil
		},
	}
}
