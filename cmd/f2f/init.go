package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/node"
)

func newInitCmd(g *globals) *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "init [--profile local]",
		Short: "Create the repo: identity key, API token and config",
		Long: `Create the repo dir with a new Ed25519 identity (identity.key, 0600), an API
token (api.token, 0600) and config.json. Fails when the repo already exists.

Profiles:
  default  real use: all interfaces, public IPFS bootstrap peers and the public
           Amino DHT, mDNS, NAT port mapping
  local    loopback only, no bootstrap peers, no mDNS, no NAT port mapping: the
           node never sends a packet off the machine (tests, demo, quickstart)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.repoPath()
			if err != nil {
				return err
			}
			cfg, err := node.InitRepo(p, profile)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]string{"repo": p, "peer_id": cfg.PeerID, "profile": cfg.Profile})
			}
			fmt.Fprintf(g.out, "initialised repo %s (profile %s)\npeer ID: %s\n", p, cfg.Profile, cfg.PeerID)
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", node.ProfileDefault, "config profile: default or local")
	return cmd
}
