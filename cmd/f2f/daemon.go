package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/node"
)

func newDaemonCmd(g *globals) *cobra.Command {
	var (
		listen      []string
		bootstrap   []string
		noBootstrap bool
		mdnsOn      bool
		apiAddr     string
		logLevel    string
		libp2pMet   bool
	)
	cmd := &cobra.Command{
		Use:   "daemon [--listen MA]... [--api HOST:PORT] [--bootstrap MA]... [--no-bootstrap] [--mdns=false] [--libp2p-metrics]",
		Short: "Run the node: libp2p host, DHT, GossipSub, blockstore and bitswap, local API",
		Long: `Run the face2face node until SIGINT or SIGTERM.

Flags override the repo's config.json for this run only. The daemon writes the
address of its local API to the repo's api file (a free port when the
configured one is busy) and prints "` + node.ReadyLine + `" once it serves.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if noBootstrap && len(bootstrap) > 0 {
				return errors.New("--bootstrap and --no-bootstrap conflict")
			}
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			p, err := g.repoPath()
			if err != nil {
				return err
			}
			// Log lines wait until the banner is out (a room rejoined or a
			// peer dialled during start would otherwise come first).
			logw := &gatedWriter{w: g.err}
			defer logw.open()
			logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
			opts := []node.Option{node.WithLogger(logger)}
			if len(listen) > 0 {
				opts = append(opts, node.WithListenAddrs(listen...))
			}
			if noBootstrap {
				opts = append(opts, node.WithBootstrap())
			} else if len(bootstrap) > 0 {
				opts = append(opts, node.WithBootstrap(bootstrap...))
			}
			if cmd.Flags().Changed("mdns") {
				opts = append(opts, node.WithMDNS(mdnsOn))
			}
			if apiAddr != "" {
				opts = append(opts, node.WithAPIAddr(apiAddr))
			}
			if libp2pMet {
				opts = append(opts, node.WithLibp2pMetrics())
			}
			return runDaemon(cmd.Context(), g, p, opts, logw.open)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&listen, "listen", nil, "swarm listen multiaddr (repeatable; replaces the config's)")
	f.StringArrayVar(&bootstrap, "bootstrap", nil, "bootstrap peer multiaddr with /p2p/ (repeatable; replaces the config's)")
	f.BoolVar(&noBootstrap, "no-bootstrap", false, "do not bootstrap to any peer")
	f.BoolVar(&mdnsOn, "mdns", false, "mDNS discovery on the local network (default: as config.json says)")
	f.StringVar(&apiAddr, "api", "", "local API HOST:PORT on loopback (default from config: "+node.DefaultAPIAddr+")")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.BoolVar(&libp2pMet, "libp2p-metrics", false, "add go-libp2p's own metrics to /metrics (about 1.5 MiB more memory)")
	return cmd
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("bad --log-level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}

func runDaemon(ctx context.Context, g *globals, repo string, opts []node.Option, bannerOut func()) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	n, err := node.New(repo, opts...)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		n.Close()
		return err
	}
	info := n.Info()
	if g.json {
		_ = g.printJSON(map[string]any{"id": info.ID, "addresses": info.Addresses,
			"api": "http://" + n.APIAddr(), "repo": repo, "status": "ready"})
	} else {
		fmt.Fprintf(g.out, "face2face %s\npeer ID: %s\nrepo: %s\nswarm listening on:\n  %s\nAPI: http://%s\n%s\n",
			node.Version, info.ID, repo, strings.Join(info.Addresses, "\n  "), n.APIAddr(), node.ReadyLine)
	}
	bannerOut()

	select {
	case s := <-sigs:
		fmt.Fprintf(g.err, "received %s, shutting down (again to force)\n", s)
	case <-ctx.Done():
	}
	done := make(chan error, 1)
	go func() { done <- n.Close() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		fmt.Fprintln(g.err, "daemon stopped")
		return nil
	case <-sigs:
		return fmt.Errorf("forced exit: %w", errInterrupted)
	case <-time.After(20 * time.Second):
		return errors.New("shutdown took longer than 20s; exiting anyway")
	}
}

// gatedWriter holds what is written to it until open, then writes it all
// to w and passes later writes straight through. It keeps at most 1 MiB.
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	opened bool
	buf    bytes.Buffer
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened {
		return g.w.Write(b)
	}
	if g.buf.Len()+len(b) <= 1<<20 {
		g.buf.Write(b)
	}
	return len(b), nil
}

func (g *gatedWriter) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		g.opened = true
		_, _ = g.w.Write(g.buf.Bytes())
		g.buf.Reset()
	}
}
