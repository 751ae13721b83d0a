package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/internal/textfmt"
)

func newDocCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doc",
		Short: "The room's collaborative documents: notes, todo lists, agendas (Automerge)",
		Long: `Every member of a room holds a full copy of the room's documents, edits it
offline too, and the copies merge without loss when members meet (Automerge,
synced over /f2f/doc/1). A document is notes (one text), a todo list or an
agenda. The browser page (f2f open) edits them live with everyone's cursors.`,
	}
	cmd.AddCommand(newDocLsCmd(g), newDocNewCmd(g), newDocCatCmd(g), newDocEditCmd(g), newDocSnapshotCmd(g))
	return cmd
}

func newDocLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls ROOM",
		Short: "List the room's documents",
		Args:  exactArgs(1, "a room"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, func(c *api.Client, ctx context.Context) ([]api.DocInfo, error) { return c.Docs(ctx, args[0]) },
				func(ds []api.DocInfo) error {
					if len(ds) == 0 {
						fmt.Fprintln(g.out, "no documents yet (f2f doc new ROOM NAME makes one)")
						return nil
					}
					return g.table("NAME\tKIND\tSIZE\tUPDATED", func(w io.Writer) {
						for _, d := range ds {
							upd := "-"
							if !d.Updated.IsZero() {
								upd = d.Updated.Local().Format("2006-01-02 15:04:05")
							}
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Name, d.Kind, textfmt.HumanSize(uint64(d.Size)), upd)
						}
					})
				})
		},
	}
}

func newDocNewCmd(g *globals) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "new ROOM NAME [--kind notes|todo|agenda]",
		Short: "Make a document in the room (members who make the same one apart share it)",
		Args:  exactArgs(2, "a room and a document name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, func(c *api.Client, ctx context.Context) (api.DocInfo, error) {
				return c.NewDoc(ctx, args[0], args[1], kind)
			}, func(d api.DocInfo) error {
				fmt.Fprintf(g.out, "%s: a %s document in the room\n", d.Name, d.Kind)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "notes", "notes, todo or agenda")
	return cmd
}

func newDocCatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cat ROOM NAME [--json]",
		Short: "Print a document (notes as text, todo and agenda as Markdown; --json: its content as JSON)",
		Args:  exactArgs(2, "a room and a document name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if g.json {
				d, err := c.Doc(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return g.printJSON(d)
			}
			md, err := c.DocMarkdown(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			_, err = io.WriteString(g.out, md)
			return err
		},
	}
}

func newDocEditCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "edit ROOM NAME",
		Short: "Edit a notes document in $EDITOR; what you changed is merged with what others wrote meanwhile",
		Long: `Opens the notes' text in $EDITOR (else $VISUAL, else vi). When the editor
exits 0, the difference between the text you opened and the one you saved
becomes Automerge splices applied to the version you opened, so edits
others made meanwhile are kept. An editor that is missing or exits non-zero
changes nothing.`,
		Args: exactArgs(2, "a room and a document name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := apiCtx(cmd)
			d, err := c.Doc(ctx, args[0], args[1])
			cancel()
			if err != nil {
				return err
			}
			if d.Kind != "notes" {
				return fmt.Errorf("%s is a %s document: f2f doc edit edits notes (use f2f %s)", d.Name, d.Kind, d.Kind)
			}
			edited, err := runEditor(cmd.Context(), d.Name, d.Text)
			if err != nil {
				return err
			}
			if edited == d.Text {
				fmt.Fprintln(g.out, "no change")
				return nil
			}
			ctx, cancel = apiCtx(cmd)
			defer cancel()
			after, err := c.SetDocText(ctx, args[0], args[1], api.DocTextRequest{Base: d.Heads, Old: d.Text, Text: edited})
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(after)
			}
			fmt.Fprintf(g.out, "saved %s (%s)\n", after.Name, textfmt.HumanSize(uint64(len(after.Text))))
			return nil
		},
	}
}

// runEditor lets the user edit text in $EDITOR and returns the result.
func runEditor(ctx context.Context, name, text string) (string, error) {
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = os.Getenv("VISUAL")
	}
	if editor == "" {
		editor = "vi"
	}
	dir, err := os.MkdirTemp("", "f2f-doc-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name+".md")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", err
	}
	// $EDITOR may carry arguments ("code --wait"), as git reads it.
	fields := strings.Fields(editor)
	ed := exec.CommandContext(ctx, fields[0], append(fields[1:], path)...)
	ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := ed.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("the editor (%s) exited with status %d: nothing changed", editor, exit.ExitCode())
		}
		return "", fmt.Errorf("cannot run the editor %q (set $EDITOR): %v; nothing changed", editor, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func newDocSnapshotCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot ROOM NAME",
		Short: "Add the document (Automerge save, and Markdown) as files and post their links in the chat",
		Args:  exactArgs(2, "a room and a document name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, func(c *api.Client, ctx context.Context) (api.DocSnapshot, error) {
				return c.DocSnapshot(ctx, args[0], args[1])
			}, func(s api.DocSnapshot) error {
				for _, f := range s.Files {
					fmt.Fprintf(g.out, "shared %s (%s): %s\n", f.Name, textfmt.HumanSize(f.Size), f.CID.CID)
				}
				return nil
			})
		},
	}
}

// docFlag is the --doc flag of the todo and agenda commands.
func docFlag(cmd *cobra.Command, p *string, def string) {
	cmd.PersistentFlags().StringVar(p, "doc", def, "the document (made on first use)")
}

// ensureDoc makes the document when the room has none of that name.
func ensureDoc(ctx context.Context, c *api.Client, room, name, kind string) error {
	_, err := c.NewDoc(ctx, room, name, kind)
	return err
}

func newTodoCmd(g *globals) *cobra.Command {
	var doc string
	cmd := &cobra.Command{
		Use:   "todo",
		Short: "The room's shared todo list (a document, \"todo\" unless --doc)",
	}
	docFlag(cmd, &doc, "todo")
	var assignee, due string
	add := &cobra.Command{
		Use:   "add ROOM TEXT... [--assignee NICK] [--due TIME]",
		Short: "Add an item",
		Long:  "Add an item. --due takes " + api.TimeHelp + ".",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return todoCall(cmd, g, args[0], doc, api.TodoRequest{Op: "add", Text: strings.Join(args[1:], " "), Assignee: assignee, Due: due})
		},
	}
	add.Flags().StringVar(&assignee, "assignee", "", "who does it")
	add.Flags().StringVar(&due, "due", "", "when it is due")
	var undo bool
	done := &cobra.Command{
		Use:   "done ROOM ITEM [--undo]",
		Short: "Mark an item done (ITEM: its number in f2f todo ls, or its id)",
		Args:  exactArgs(2, "a room and an item"),
		RunE: func(cmd *cobra.Command, args []string) error {
			op := "done"
			if undo {
				op = "undone"
			}
			return todoCall(cmd, g, args[0], doc, api.TodoRequest{Op: op, Item: args[1]})
		},
	}
	done.Flags().BoolVar(&undo, "undo", false, "mark it not done")
	ls := &cobra.Command{
		Use:   "ls ROOM",
		Short: "List the items",
		Args:  exactArgs(1, "a room"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, func(c *api.Client, ctx context.Context) (api.Doc, error) {
				return c.Doc(ctx, args[0], doc)
			}, func(d api.Doc) error {
				fmt.Fprintln(g.out, textfmt.FormatTodo(d))
				return nil
			})
		},
	}
	cmd.AddCommand(add, done, ls)
	return cmd
}

func todoCall(cmd *cobra.Command, g *globals, room, doc string, req api.TodoRequest) error {
	return show(cmd, g, func(c *api.Client, ctx context.Context) (api.DocItemResult, error) {
		if req.Op == "add" {
			if err := ensureDoc(ctx, c, room, doc, "todo"); err != nil {
				return api.DocItemResult{}, err
			}
		}
		return c.Todo(ctx, room, doc, req)
	}, func(r api.DocItemResult) error {
		fmt.Fprintln(g.out, textfmt.FormatTodo(r.Doc))
		return nil
	})
}

func newAgendaCmd(g *globals) *cobra.Command {
	var doc string
	cmd := &cobra.Command{
		Use:   "agenda",
		Short: "The meeting's agenda, with reminders at its start and at each item (a document, \"agenda\" unless --doc)",
		Long: `The meeting's agenda. Every member's daemon reminds its user at the meeting's
start and at each item's time (an event, a line in the chat log and a browser
notification), once, even across restarts. Times: ` + api.TimeHelp + `.`,
	}
	docFlag(cmd, &doc, "agenda")
	var at, owner string
	var minutes int
	add := &cobra.Command{
		Use:   "add ROOM TITLE... [--at TIME] [--minutes N] [--owner NICK]",
		Short: "Add an item (without --at it follows the last item, or starts the meeting)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return agendaCall(cmd, g, args[0], doc, api.AgendaRequest{Op: "add", Title: strings.Join(args[1:], " "), At: at, Minutes: minutes, Owner: owner})
		},
	}
	add.Flags().StringVar(&at, "at", "", "when it starts")
	add.Flags().IntVar(&minutes, "minutes", 10, "how long it takes")
	add.Flags().StringVar(&owner, "owner", "", "who leads it")
	start := &cobra.Command{
		Use:   "start ROOM TIME",
		Short: "Set when the meeting starts",
		Args:  exactArgs(2, "a room and a time"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return agendaCall(cmd, g, args[0], doc, api.AgendaRequest{Op: "start", At: args[1]})
		},
	}
	ls := &cobra.Command{
		Use:   "ls ROOM",
		Short: "List the agenda",
		Args:  exactArgs(1, "a room"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, g, func(c *api.Client, ctx context.Context) (api.Doc, error) {
				return c.Doc(ctx, args[0], doc)
			}, func(d api.Doc) error {
				fmt.Fprintln(g.out, textfmt.FormatAgenda(d))
				return nil
			})
		},
	}
	cmd.AddCommand(add, start, ls)
	return cmd
}

func agendaCall(cmd *cobra.Command, g *globals, room, doc string, req api.AgendaRequest) error {
	return show(cmd, g, func(c *api.Client, ctx context.Context) (api.DocItemResult, error) {
		if err := ensureDoc(ctx, c, room, doc, "agenda"); err != nil {
			return api.DocItemResult{}, err
		}
		return c.Agenda(ctx, room, doc, req)
	}, func(r api.DocItemResult) error {
		fmt.Fprintln(g.out, textfmt.FormatAgenda(r.Doc))
		return nil
	})
}
