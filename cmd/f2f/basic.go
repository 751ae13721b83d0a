package main

import (
	"fmt"
	"runtime"

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
			return nil
		},
	}
}

func newConnectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "connect MULTIADDR",
		Short: "Connect the daemon to a peer by its full multiaddr (ending in /p2p/<peer id>)",
		Args:  exactArgs(1, "one multiaddr"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := node.ParsePeerAddr(args[0]); err != nil {
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
				return g.printJSON(node.ConnectResponse{ID: id})
			}
			fmt.Fprintf(g.out, "connected to %s\n", id)
			return nil
		},
	}
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this f2f binary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json {
				return g.printJSON(map[string]string{"version": node.Version, "go": runtime.Version(),
					"os": runtime.GOOS, "arch": runtime.GOARCH})
			}
			fmt.Fprintf(g.out, "f2f %s (%s %s/%s)\n", node.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
