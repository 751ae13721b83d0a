package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

func newRoomProbeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "probe ROOM [PEER]",
		Short: "Measure upload throughput to a member (or to every connected member) over /f2f/bwprobe/1",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("%s takes a room and optionally a member (see `%s --help`)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			member := ""
			if len(args) == 2 {
				member = args[1]
			}
			call := func(c *api.Client, ctx context.Context) ([]api.ProbeResult, error) {
				return c.Probe(ctx, args[0], member)
			}
			return show(cmd, g, call, func(res []api.ProbeResult) error {
				failed := 0
				err := g.table("MEMBER\tUPLOAD\tBYTES\tTIME\tRTT\tERROR", func(w io.Writer) {
					for _, r := range res {
						if r.Error != "" {
							failed++
						}
						fmt.Fprintf(w, "%s\t%s\t%d\t%.3f s\t%.1f ms\t%s\n", r.Nick, rateText(r.Bps), r.Bytes, r.Secs, r.RTTMS, r.Error)
					}
				})
				if err == nil && failed == len(res) {
					err = errors.New("every probe failed")
				}
				return err
			})
		},
	}
}

// passwordFlags are --password and --password-file.
type passwordFlags struct {
	password string
	file     string
}

func (p *passwordFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.password, "password", "", "room password (visible in the process list; prefer --password-file)")
	cmd.Flags().StringVar(&p.file, "password-file", "", "read the room password from the first line of this file")
}

func (p *passwordFlags) get() (string, error) {
	if p.password != "" && p.file != "" {
		return "", errors.New("--password and --password-file conflict")
	}
	if p.file == "" {
		return p.password, nil
	}
	b, err := os.ReadFile(p.file)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", fmt.Errorf("password file %s is empty", p.file)
	}
	return line, nil
}

func newRoomCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "room",
		Short: "Create, join, list and leave rooms (found through the DHT)",
	}
	cmd.AddCommand(newRoomCreateCmd(g), newRoomJoinCmd(g), newRoomLsCmd(g), newRoomPeersCmd(g), newRoomLeaveCmd(g), newRoomForgetCmd(g), newRoomProbeCmd(g), newRoomStageCmd(g))
	return cmd
}

func printRoom(g *globals, info api.Room, verb string) error {
	if g.json {
		return g.printJSON(info)
	}
	lock := ""
	if info.Password {
		lock = " (password)"
	}
	fmt.Fprintf(g.out, "%s room %q%s; members are found through the DHT\nroom key (all another user needs%s):\n%s\n",
		verb, info.Name, lock, map[bool]string{true: ", plus the password", false: ""}[info.Password], info.Key)
	return nil
}

func newRoomCreateCmd(g *globals) *cobra.Command {
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "create NAME [--password P | --password-file F]",
		Short: "Create a room and join it; prints its room key (last line)",
		Args:  exactArgs(1, "the room name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := pw.get()
			if err != nil {
				return err
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			existing, err := c.Rooms(ctx)
			if err != nil {
				return err
			}
			same := 0
			for _, r := range existing {
				if r.Name == args[0] {
					same++
				}
			}
			info, err := c.CreateRoom(ctx, args[0], password)
			if err != nil {
				return err
			}
			if same > 0 {
				fmt.Fprintf(g.err, "warning: you already have %d other room(s) named %q; while more than one is joined, give this one's key instead of the name (or `f2f room forget` the old one)\n", same, args[0])
			}
			return printRoom(g, info, "created")
		},
	}
	pw.add(cmd)
	return cmd
}

func newRoomJoinCmd(g *globals) *cobra.Command {
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "join KEY [--password P | --password-file F]",
		Short: "Join a room by its key; its members are found through the DHT only",
		Args:  exactArgs(1, "the room key"),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := pw.get()
			if err != nil {
				return err
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			info, err := c.JoinRoom(ctx, args[0], password)
			if err != nil {
				return err
			}
			return printRoom(g, info, "joined")
		},
	}
	pw.add(cmd)
	return cmd
}

func newRoomLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List rooms: name, joined, members, messages, key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, (*api.Client).Rooms, func(rooms []api.Room) error {
				return g.table("NAME\tJOINED\tPASSWORD\tMEMBERS\tMESSAGES\tKEY", func(w io.Writer) {
					for _, r := range rooms {
						fmt.Fprintf(w, "%s\t%v\t%v\t%d\t%d\t%s\n", r.Name, r.Joined, r.Password, r.Members, r.Messages, r.Key)
					}
				})
			})
		},
	}
}

func newRoomPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers ROOM",
		Short: "List a room's members: peer ID, nickname, connected, RTT",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			call := func(c *api.Client, ctx context.Context) ([]api.Member, error) { return c.RoomPeers(ctx, args[0]) }
			return show(cmd, g, call, func(peers []api.Member) error {
				return g.table("PEER\tNICK\tCONNECTED\tRTT\tSTATE", func(w io.Writer) {
					for _, p := range peers {
						state := "here"
						if p.Gone {
							state = "gone"
						}
						fmt.Fprintf(w, "%s\t%s\t%v\t%.1f ms\t%s\n", p.ID, textfmt.DisplayText(p.Nick), p.Connected, p.RTTMS, state)
					}
				})
			})
		},
	}
}

func newRoomLeaveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "leave ROOM",
		Short: "Leave a room (its log stays; join again with its key)",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.LeaveRoom(ctx, args[0]); err != nil {
				return err
			}
			if g.json {
				return g.printJSON(map[string]bool{"left": true})
			}
			fmt.Fprintf(g.out, "left room %s\n", args[0])
			return nil
		},
	}
}

func newRoomForgetCmd(g *globals) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "forget ROOM [--yes]",
		Short: "Drop a room and its chat log from this node (leaving it first when joined)",
		Long: `Drop a room and its whole chat log from this node, leaving it first when it is
joined. It cannot be undone here (other members keep their copies; join again
with the key to fetch the log from them). Asks for confirmation on a terminal;
--yes skips the question (needed when stdin is not a terminal). The files
shared in a password room stay restricted to it: this node serves them to
nobody.`,
		Args: exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if !yes {
				in := cmd.InOrStdin()
				if !isTerminal(in) {
					return fmt.Errorf("room forget deletes the room's log: add --yes to confirm (stdin is not a terminal to ask on)")
				}
				fmt.Fprintf(g.err, "Forget room %q and its chat log on this node? [y/N] ", args[0])
				answer, _ := bufio.NewReader(in).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return errors.New("not forgotten")
				}
			}
			info, err := c.ForgetRoom(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(info)
			}
			fmt.Fprintf(g.out, "forgot room %q (%d messages)\n", info.Name, info.Messages)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
