package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
)

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
	cmd.AddCommand(newRoomCreateCmd(g), newRoomJoinCmd(g), newRoomLsCmd(g), newRoomPeersCmd(g), newRoomLeaveCmd(g), newRoomForgetCmd(g), newRoomProbeCmd(g))
	return cmd
}

func printRoom(g *globals, info overlay.RoomInfo, verb string) error {
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
			if _, err := overlay.ParseRoomKey(args[0]); err != nil {
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
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			rooms, err := c.Rooms(ctx)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(rooms)
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tJOINED\tPASSWORD\tMEMBERS\tMESSAGES\tKEY")
			for _, r := range rooms {
				fmt.Fprintf(tw, "%s\t%v\t%v\t%d\t%d\t%s\n", r.Name, r.Joined, r.Password, r.Members, r.Messages, r.Key)
			}
			return tw.Flush()
		},
	}
}

func newRoomPeersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers ROOM",
		Short: "List a room's members: peer ID, nickname, connected, RTT",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			peers, err := c.RoomPeers(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(peers)
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tNICK\tCONNECTED\tRTT\tSTATE")
			for _, p := range peers {
				state := "here"
				if p.Gone {
					state = "gone"
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%.1f ms\t%s\n", p.ID, node.DisplayText(p.Nick), p.Connected, p.RTTMS, state)
			}
			return tw.Flush()
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

func newChatCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Send to and read a room's chat",
	}
	cmd.AddCommand(newChatSendCmd(g), newChatLogCmd(g))
	return cmd
}

func newChatSendCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "send ROOM TEXT...",
		Short: "Send a message; TEXT starting with / is a chat command (/nick, /me, /who, /help)",
		Long:  "Send a message to a room. TEXT starting with / is a chat command:\n\n" + overlay.ChatHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("%s takes a room and the text (see `%s --help`)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args[1:], " ")
			// /share and /files touch local files: the CLI runs them.
			if p, ok := strings.CutPrefix(text, "/share "); ok {
				return runAdd(cmd, g, strings.TrimSpace(p), addOpts{room: args[0], recursive: true})
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if strings.TrimSpace(text) == "/files" {
				return listRoomFiles(ctx, g, c, args[0])
			}
			res, err := c.Send(ctx, args[0], text)
			if err != nil {
				if strings.Contains(err.Error(), overlay.ErrUnknownCommand.Error()) {
					fmt.Fprintln(g.out, overlay.ChatHelp)
				}
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			if res.Output != "" {
				fmt.Fprintln(g.out, res.Output)
			}
			return nil
		},
	}
}

func newChatLogCmd(g *globals) *cobra.Command {
	var (
		follow bool
		since  string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "log ROOM [--follow] [--since T] [--limit N]",
		Short: "Print a room's chat log in its agreed order (--follow: then wait for new messages)",
		Args:  exactArgs(1, "a room key or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("--limit must be >= 0")
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if !follow {
				ctx, cancel := apiCtx(cmd)
				defer cancel()
				msgs, err := c.Log(ctx, args[0], t, limit)
				if err != nil {
					return err
				}
				for _, m := range msgs {
					printChat(g, c, m)
				}
				return nil
			}
			return followLog(cmd.Context(), g, c, args[0], t, limit)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new messages until Ctrl-C")
	cmd.Flags().StringVar(&since, "since", "", "only messages from this time on: RFC 3339 (2026-11-25T08:00:00Z), a date (2026-11-25) or an age (10m, 2h)")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the last N messages (0: all)")
	return cmd
}

// parseSince accepts RFC 3339, a date, or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad --since %q: want RFC 3339, a date or an age like 10m", s)
}

// printChat prints one message: readable, or with --json one JSON object
// per line (NDJSON).
func printChat(g *globals, c *node.Client, m overlay.ChatMessage) {
	if g.json {
		b, _ := json.Marshal(m)
		fmt.Fprintln(g.out, string(b))
		return
	}
	fmt.Fprintln(g.out, node.FormatChat(m, c.GatewayURL))
}

// followLog prints the log, then new messages as the events stream brings
// them, without gaps: the stream is open before the log is read, and
// messages in both are printed once.
func followLog(ctx context.Context, g *globals, c *node.Client, room string, since time.Time, limit int) error {
	ctx, stop := signalContext(ctx)
	defer stop()
	type item struct {
		ev  node.Event
		err error
	}
	ch := make(chan item, 256)
	go func() {
		err := c.Events(ctx, func(ev node.Event) error {
			select {
			case ch <- item{ev: ev}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		select {
		case ch <- item{err: err}:
		case <-ctx.Done():
		}
	}()
	seen := map[string]bool{}
	hash := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-ch:
			if it.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return it.err
			}
			switch it.ev.Type {
			case node.EventStreamReady:
				msgs, err := c.Log(ctx, room, since, limit)
				if err != nil {
					return err
				}
				for _, m := range msgs {
					hash = m.Room
					seen[fmt.Sprintf("%s/%d", m.Author, m.Seq)] = true
					printChat(g, c, m)
				}
				if hash == "" {
					rooms, err := c.Rooms(ctx)
					if err != nil {
						return err
					}
					for _, r := range rooms {
						if r.Key == room || r.Hash == room || r.Name == room {
							hash = r.Hash
						}
					}
				}
			case overlay.EventChatMessage:
				m, err := decodeEventData[overlay.ChatMessage](it.ev.Data)
				if err != nil || m.Room != hash {
					continue
				}
				k := fmt.Sprintf("%s/%d", m.Author, m.Seq)
				if !seen[k] {
					seen[k] = true
					printChat(g, c, m)
				}
			}
		}
	}
}
