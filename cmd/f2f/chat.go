package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

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
		Long:  "Send a message to a room. TEXT starting with / is a chat command:\n\n" + api.ChatHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("%s takes a room and the text (see `%s --help`)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args[1:], " ")
			line, err := api.ParseChat(text)
			if err != nil {
				fmt.Fprintln(g.out, api.ChatHelp)
				return err
			}
			// /share and /files touch local files: the CLI runs them.
			if line.Name == api.ChatShare {
				if line.Arg == "" {
					return errors.New("/share takes a path (/share PATH)")
				}
				return runAdd(cmd, g, line.Arg, addOpts{room: args[0], recursive: true})
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if line.Name == api.ChatFiles {
				return listRoomFiles(ctx, g, c, args[0])
			}
			res, err := c.Chat(ctx, args[0], text)
			if err != nil {
				if errors.Is(err, api.ErrUnknownCommand) {
					fmt.Fprintln(g.out, api.ChatHelp)
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
func printChat(g *globals, c *api.Client, m api.ChatMessage) {
	if g.json {
		b, _ := json.Marshal(m)
		fmt.Fprintln(g.out, string(b))
		return
	}
	fmt.Fprintln(g.out, textfmt.FormatChat(m, c.GatewayURL))
}

// followLog prints the log, then new messages as the events stream brings
// them, without gaps: the stream is open before the log is read, and
// messages in both are printed once.
func followLog(ctx context.Context, g *globals, c *api.Client, room string, since time.Time, limit int) error {
	ctx, stop := signalContext(ctx)
	defer stop()
	type item struct {
		ev  api.Event
		err error
	}
	ch := make(chan item, 256)
	go func() {
		err := c.Events(ctx, func(ev api.Event) error {
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
			case api.EventStreamReady:
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
			case api.EventChatMessage:
				m, err := decodeEvent[api.ChatMessage](it.ev)
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
