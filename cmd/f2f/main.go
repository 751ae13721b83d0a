// Command f2f is the face2face node: `f2f daemon` runs a node, the other
// commands talk to a running daemon through its local API (see README.md
// for the CLI reference).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

// globals holds the global flags. It lives in main's stack, not in a package
// variable, so commands can be built more than once (tests).
type globals struct {
	repo string
	json bool
	out  io.Writer
	err  io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{out: stdout, err: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "f2f: %v\n", oneLine(err))
		return 1
	}
	return 0
}

func oneLine(err error) string {
	s := err.Error()
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "f2f",
		Short: "face2face: a fully decentralized peer-to-peer conference node",
		Long: `face2face is a fully decentralized conference node. Every participant runs
the same daemon (f2f daemon); the other commands talk to it through its local API.

Start with:  f2f init --profile local && f2f daemon
Or watch a whole local network:  f2f demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.PersistentFlags().StringVar(&g.repo, "repo", "", "repo dir (default $F2F_REPO, else ~/.face2face)")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "machine-readable JSON output")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v (see `%s --help`)", err, c.CommandPath())
	})
	root.AddCommand(
		newInitCmd(g), newDaemonCmd(g), newIDCmd(g), newPeersCmd(g), newConnectCmd(g),
		newVersionCmd(g), newWaitCmd(g), newRoomCmd(g), newChatCmd(g), newFileCmd(g), newDemoCmd(g), newBenchCmd(g),
		newMixerCmd(g), newTopoCmd(g), newEventsCmd(g), newMediaCmd(g), newOpenCmd(g),
		newDocCmd(g), newTodoCmd(g), newAgendaCmd(g),
	)
	return root
}

func (g *globals) repoPath() (string, error) { return api.RepoPath(g.repo) }

// client returns an API client for the repo's running daemon.
func (g *globals) client() (*api.Client, error) {
	p, err := g.repoPath()
	if err != nil {
		return nil, err
	}
	return api.NewClient(p)
}

// api returns a client of the repo's daemon and the context for one API
// call (apiCtx); the caller defers cancel when err is nil.
func (g *globals) api(cmd *cobra.Command) (*api.Client, context.Context, context.CancelFunc, error) {
	c, err := g.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := apiCtx(cmd)
	return c, ctx, cancel, nil
}

// show makes one API call and prints its answer: the JSON with --json,
// else what print writes. call is a method expression ((*api.Client).ID)
// or a closure of that shape.
func show[T any](cmd *cobra.Command, g *globals, call func(*api.Client, context.Context) (T, error), print func(T) error) error {
	c, ctx, cancel, err := g.api(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	v, err := call(c, ctx)
	if err != nil {
		return err
	}
	if g.json {
		return g.printJSON(v)
	}
	return print(v)
}

// table writes a header and rows as aligned columns (tab-separated in).
func (g *globals) table(header string, rows func(w io.Writer)) error {
	tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

// printJSON writes v as indented JSON.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// apiCtx bounds one CLI request to the daemon.
func apiCtx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), time.Minute)
}

// exactArgs is cobra.ExactArgs with a message that names the command.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %s (see `%s --help`)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%s takes no arguments, got %q (see `%s --help`)", cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}

var errInterrupted = errors.New("interrupted")

// signalContext ends ctx on SIGINT or SIGTERM.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
}

// decodeEvent decodes an event's data as a T.
func decodeEvent[T any](ev api.Event) (T, error) {
	var v T
	return v, ev.Decode(&v)
}
