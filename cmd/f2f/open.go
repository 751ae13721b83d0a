package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

func newOpenCmd(g *globals) *cobra.Command {
	var browser bool
	cmd := &cobra.Command{
		Use:   "open [ROOM] [--browser]",
		Short: "The browser UI: print a one-time login URL on the local API (opens it with --browser)",
		Long: `Print a URL that logs a browser in to this daemon's page: camera, microphone,
screen share, chat, files and the room's network. The URL holds a one-time
code (valid 2 minutes) that the browser exchanges for a session cookie; the
API token never appears in it. With ROOM the page opens that room.

Any current Chromium, Chrome or Firefox works as shipped; allow the camera
and the microphone when the page asks.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("%s takes at most one room (see `%s --help`)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			call := func(c *api.Client, ctx context.Context) (api.LoginCode, error) {
				lc, err := c.LoginCode(ctx)
				if err != nil || len(args) == 0 {
					return lc, err
				}
				key, err := roomKey(ctx, c, args[0])
				if err != nil {
					return lc, err
				}
				lc.URL += "#room=" + url.QueryEscape(key)
				return lc, nil
			}
			return show(cmd, g, call, func(lc api.LoginCode) error {
				fmt.Fprintln(g.out, lc.URL)
				if browser {
					if err := openBrowser(lc.URL); err != nil {
						return fmt.Errorf("could not start a browser (%v): open the URL above yourself", err)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&browser, "browser", false, "open the URL in the desktop's browser")
	return cmd
}

// roomKey finds the key of a room given by key, hash or the name of a
// joined room, as the daemon resolves {room}.
func roomKey(ctx context.Context, c *api.Client, ref string) (string, error) {
	rooms, err := c.Rooms(ctx)
	if err != nil {
		return "", err
	}
	var byName []api.Room
	for _, r := range rooms {
		if r.Key == ref || r.Hash == ref {
			return r.Key, nil
		}
		if r.Name == ref && r.Joined {
			byName = append(byName, r)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0].Key, nil
	case 0:
		return "", fmt.Errorf("%w: no joined room is called %q (f2f room ls)", api.ErrUnknownRoom, ref)
	}
	return "", fmt.Errorf("%w: %d joined rooms are called %q: give the room key (f2f room ls)", api.ErrAmbiguousRoom, len(byName), ref)
}

// openBrowser hands url to the desktop's opener.
func openBrowser(u string) error {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", u).Start()
	}
	return exec.Command(name, u).Start()
}
