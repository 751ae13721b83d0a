package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
)

// waitOut runs a command until its output satisfies ok (the documents
// reach other members in the background).
func waitOut(ctx context.Context, t *testing.T, repo string, ok func(string) bool, args ...string) string {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		res := cli(ctx, t, repo, args...)
		last = res.Stdout + res.Stderr
		if res.Code == 0 && ok(res.Stdout) {
			return res.Stdout
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("f2f %v never gave what was waited for; last: %q", args, last)
	return ""
}

// TestDocs: notes edited in $EDITOR by two members, with an edit made
// while the editor was open kept; todo and agenda through the CLI and
// the chat commands; reminders at every member within 2 s of their time;
// a late joiner gets every document; bad input gets one clear line and
// changes nothing. Not parallel: it sets $EDITOR.
func TestDocs(t *testing.T) {
	ctx := testCtx(t, 150*time.Second)
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "b")
	startDaemon(ctx, t, a)
	startDaemon(ctx, t, b, "--bootstrap", tcpAddr(t, idLines(ctx, t, a)))
	out := cliOK(ctx, t, a, "room", "create", "lobby")
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	cliOK(ctx, t, b, "room", "join", key)

	// An editor script: the outer run opens a nested `f2f doc edit` (a
	// concurrent edit by the same user, from the version the outer one
	// opened too) before it saves its own change.
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	script := fmt.Sprintf(`#!/bin/sh
set -e
if [ -n "$F2F_TEST_FAIL" ]; then echo broken >> "$1"; exit 3; fi
if [ -z "$F2F_TEST_NESTED" ]; then
	F2F_TEST_NESTED=1 %s --repo %s doc edit lobby notes >/dev/null
	echo "bottom line from the outer editor" >> "$1"
else
	{ echo "top line from the nested editor"; cat "$1"; } > "$1.new" && mv "$1.new" "$1"
fi
`, f2fBin, a)
	if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", editor)

	cliOK(ctx, t, a, "doc", "new", "lobby", "notes")
	if res := cli(ctx, t, a, "doc", "new", "lobby", "notes", "--kind", "todo"); res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "notes is a notes document") {
		t.Fatalf("new with another kind: %d %q", res.Code, res.Stderr)
	}
	if _, err := cliClient(t, a).SetDocText(ctx, "lobby", "notes", api.DocTextRequest{Text: "the middle\n"}); err != nil {
		t.Fatal(err)
	}
	if out := cliOK(ctx, t, a, "doc", "edit", "lobby", "notes"); !strings.Contains(out, "saved notes") {
		t.Fatalf("edit: %q", out)
	}
	want := "top line from the nested editor\nthe middle\nbottom line from the outer editor\n"
	if got := cliOK(ctx, t, a, "doc", "cat", "lobby", "notes"); got != want {
		t.Fatalf("notes after two overlapping edits: %q, want %q", got, want)
	}
	waitOut(ctx, t, b, func(s string) bool { return s == want }, "doc", "cat", "lobby", "notes")

	// An editor that fails, or is missing, changes nothing.
	t.Setenv("F2F_TEST_FAIL", "1")
	if res := cli(ctx, t, b, "doc", "edit", "lobby", "notes"); res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "exited with status 3: nothing changed") {
		t.Fatalf("failing editor: %d %q", res.Code, res.Stderr)
	}
	t.Setenv("EDITOR", filepath.Join(dir, "no-such-editor"))
	if res := cli(ctx, t, b, "doc", "edit", "lobby", "notes"); res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), "cannot run the editor") {
		t.Fatalf("missing editor: %d %q", res.Code, res.Stderr)
	}
	if got := cliOK(ctx, t, b, "doc", "cat", "lobby", "notes"); got != want {
		t.Fatalf("notes after failed edits: %q", got)
	}

	// Todo: CLI at one member, chat command at the other.
	cliOK(ctx, t, a, "todo", "add", "lobby", "write", "the", "report", "--assignee", "alice", "--due", "2026-12-24")
	waitOut(ctx, t, b, func(s string) bool { return strings.Contains(s, "write the report (@alice) due 2026-12-24") }, "todo", "ls", "lobby")
	res, err := cliClient(t, b).Chat(ctx, "lobby", "/todo add book the room")
	if err != nil || !strings.Contains(res.Output, "added: book the room") {
		t.Fatalf("/todo add: %+v %v", res, err)
	}
	if out := cliOK(ctx, t, b, "todo", "done", "lobby", "1"); !strings.Contains(out, "[x] write the report") {
		t.Fatalf("todo done: %q", out)
	}
	waitOut(ctx, t, a, func(s string) bool {
		return strings.Contains(s, "[x] write the report") && strings.Contains(s, "[ ] book the room")
	},
		"todo", "ls", "lobby")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"todo", "done", "lobby", "9"}, "the list has 2 items"},
		{[]string{"todo", "add", "lobby", "x", "--due", "someday"}, `bad time "someday"`},
		{[]string{"agenda", "add", "lobby", "intro", "--at", "25:99"}, `bad time "25:99"`},
		{[]string{"doc", "cat", "lobby", "nope"}, `no such document "nope"`},
		{[]string{"doc", "new", "lobby", "Bad/Name"}, "bad document name"},
		{[]string{"doc", "new", "lobby", "x", "--kind", "poem"}, `unknown document kind "poem"`},
	} {
		res := cli(ctx, t, a, c.args...)
		if res.Code == 0 || !strings.Contains(oneErrLine(t, res.Stderr), c.want) {
			t.Errorf("f2f %v: %d %q, want %q", c.args, res.Code, res.Stderr, c.want)
		}
	}

	// The agenda: a start and an item a few seconds ahead; both members
	// remind at each time.
	cliOK(ctx, t, a, "agenda", "start", "lobby", "+3s")
	if out := cliOK(ctx, t, a, "agenda", "add", "lobby", "Intro", "round", "--minutes", "0", "--owner", "bob"); !strings.Contains(out, "Intro round (bob)") {
		t.Fatalf("agenda add: %q", out)
	}
	cliOK(ctx, t, a, "agenda", "add", "lobby", "Demo", "--at", "+5s", "--minutes", "15")
	doc, err := cliClient(t, a).Doc(ctx, "lobby", "agenda")
	if err != nil || len(doc.Agenda) != 2 {
		t.Fatalf("agenda %+v %v", doc, err)
	}
	for _, repo := range []string{a, b} {
		c := cliClient(t, repo)
		fired := map[string]time.Time{}
		for ctx.Err() == nil && len(fired) < 3 {
			msgs, err := c.Log(ctx, "lobby", time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Kind == "reminder" {
					fired[m.Text] = m.Time
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		for text, at := range map[string]time.Time{
			"agenda: the meeting starts (": doc.Start, "agenda: Intro round (bob) (": doc.Agenda[0].At, "agenda: Demo (": doc.Agenda[1].At,
		} {
			found := false
			for got, when := range fired {
				if strings.HasPrefix(got, text) {
					found = true
					if d := when.Sub(at); d < 0 || d > 2*time.Second {
						t.Errorf("%s: reminder %q at %v, %v after its time", repo, got, when, d)
					}
				}
			}
			if !found {
				t.Errorf("%s: no reminder %q in %v", repo, text, fired)
			}
		}
	}
	if log := cliOK(ctx, t, b, "chat", "log", "lobby"); !strings.Contains(log, "(!) reminder: agenda: Demo") {
		t.Fatalf("chat log lacks the reminder: %q", log)
	}

	// A late joiner gets every document.
	c := filepath.Join(t.TempDir(), "c")
	startDaemon(ctx, t, c, "--bootstrap", tcpAddr(t, idLines(ctx, t, a)))
	cliOK(ctx, t, c, "room", "join", key)
	waitOut(ctx, t, c, func(s string) bool {
		return strings.Contains(s, "agenda") && strings.Contains(s, "notes") && strings.Contains(s, "todo")
	}, "doc", "ls", "lobby")
	waitOut(ctx, t, c, func(s string) bool { return s == want }, "doc", "cat", "lobby", "notes")

	// A snapshot is a file anyone in the room can fetch.
	snap := cliOK(ctx, t, a, "doc", "snapshot", "lobby", "todo")
	if !strings.Contains(snap, "shared todo.automerge") || !strings.Contains(snap, "shared todo.md") {
		t.Fatalf("snapshot: %q", snap)
	}
	md := strings.Fields(snap[strings.Index(snap, "todo.md"):])
	cid := md[len(md)-1]
	got := filepath.Join(t.TempDir(), "todo.md")
	cliOK(ctx, t, c, "file", "get", cid, "-o", got)
	if b, err := os.ReadFile(got); err != nil || !strings.Contains(string(b), "- [x] write the report (@alice)") {
		t.Fatalf("snapshot fetched: %q %v", b, err)
	}
}

// TestDocsSurviveKill: every edit the API acknowledged is there after
// kill -9 and a restart.
func TestDocsSurviveKill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 90*time.Second)
	repo := filepath.Join(t.TempDir(), "repo")
	p := startDaemon(ctx, t, repo)
	cliOK(ctx, t, repo, "room", "create", "lobby")
	cliOK(ctx, t, repo, "doc", "new", "lobby", "notes")
	c := cliClient(t, repo)
	acked := make(chan string, 1000)
	go func() {
		defer close(acked)
		text := ""
		for i := 0; ; i++ {
			line := fmt.Sprintf("line %d\n", i)
			if _, err := c.SetDocText(ctx, "lobby", "notes", api.DocTextRequest{Text: text + line}); err != nil {
				return
			}
			text += line
			acked <- line
			if i == 40 {
				p.Kill()
			}
		}
	}()
	var lines []string
	for l := range acked {
		lines = append(lines, l)
	}
	<-p.Done()
	startDaemon(ctx, t, repo)
	got := cliOK(ctx, t, repo, "doc", "cat", "lobby", "notes")
	for _, l := range lines {
		if !strings.Contains(got, l) {
			t.Fatalf("acknowledged %q lost after kill -9: %q", l, got)
		}
	}
	if len(lines) < 40 {
		t.Fatalf("only %d edits before the kill", len(lines))
	}
}

func cliClient(t *testing.T, repo string) *api.Client {
	t.Helper()
	c, err := api.NewClient(repo)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
