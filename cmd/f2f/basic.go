package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

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
			if len(peers) == 0 {
				fmt.Fprintln(g.err, "no peers connected: the daemon reached none of its bootstrap or known peers (connect one with `f2f connect MULTIADDR`)")
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
				if errors.Is(err, node.ErrNotInitialised) || cmd.Context().Err() != nil {
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
func waitReady(ctx context.Context, g *globals) (node.IDInfo, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := g.client()
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			var info node.IDInfo
			info, err = c.ID(rctx)
			cancel()
			if err == nil && !info.Connecting {
				return info, nil
			}
			if err == nil {
				err = errors.New("still connecting to its bootstrap and known peers")
			}
		}
		if errors.Is(err, node.ErrNotInitialised) {
			return node.IDInfo{}, err
		}
		select {
		case <-ctx.Done():
			return node.IDInfo{}, err
		case <-tick.C:
		}
	}
}
