package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

func newRoomStageCmd(g *globals) *cobra.Command {
	var open, showCID, closeCID string
	cmd := &cobra.Command{
		Use:   "stage ROOM [--open CID | --show CID | --close CID]",
		Short: "The room's stage: the shared files every member sees as tabs (the browser page shows them)",
		Long: `List the room's stage: the files put on it as tabs, and the one showing.
--open puts a file shared in the room (f2f file ls --room ROOM) on the stage
and shows it for everyone; --show switches to an open tab; --close takes one
off. Every change is a signed message in the room's log, so late joiners get
the same stage.`,
		Args: exactArgs(1, "a room"),
		RunE: func(cmd *cobra.Command, args []string) error {
			op, cid := "", ""
			for _, o := range []struct{ name, cid string }{{"open", open}, {"show", showCID}, {"close", closeCID}} {
				if o.cid == "" {
					continue
				}
				if op != "" {
					return errors.New("give one of --open, --show and --close")
				}
				op, cid = o.name, o.cid
			}
			call := func(c *api.Client, ctx context.Context) (api.Stage, error) {
				if op == "" {
					return c.Stage(ctx, args[0])
				}
				return c.SetStage(ctx, args[0], op, cid)
			}
			return show(cmd, g, call, func(st api.Stage) error {
				if len(st.Tabs) == 0 {
					fmt.Fprintln(g.out, "the stage is empty (f2f room stage ROOM --open CID puts a shared file on it)")
					return nil
				}
				return g.table("SHOWING\tNAME\tTYPE\tSIZE\tBY\tCID", func(w io.Writer) {
					for _, t := range st.Tabs {
						mark := ""
						if t.File.CID.CID == st.Showing {
							mark = "*"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, textfmt.DisplayText(t.File.Name), textfmt.DisplayText(t.File.MIME),
							textfmt.HumanSize(t.File.Size), textfmt.DisplayText(t.Nick), t.File.CID.CID)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&open, "open", "", "put this shared file (CID) on the stage and show it")
	cmd.Flags().StringVar(&showCID, "show", "", "show this open tab (CID)")
	cmd.Flags().StringVar(&closeCID, "close", "", "take this tab (CID) off the stage")
	return cmd
}
