package webui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// ipRun runs `ip args...` and fails the test on error.
func ipRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// island is a network namespace of its own, joined to the test's by a
// veth pair (10.79.N.1 here, .2 there): a member that can be cut off the
// network (the link goes down) and keeps running, offline. Its f2f
// commands run through bin (ip netns exec).
type island struct {
	ns, link, here, there, bin string
}

func newIsland(t *testing.T) *island {
	t.Helper()
	tag := fmt.Sprintf("f2fn%d", os.Getpid()%100000)
	is := &island{ns: tag, link: tag + "a", here: "10.79.0.1", there: "10.79.0.2"}
	ipRun(t, "netns", "add", is.ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", is.ns).Run() })
	ipRun(t, "-n", is.ns, "link", "set", "lo", "up")
	ipRun(t, "link", "add", is.link, "type", "veth", "peer", "name", tag+"b", "netns", is.ns)
	ipRun(t, "addr", "add", is.here+"/24", "dev", is.link)
	ipRun(t, "-n", is.ns, "addr", "add", is.there+"/24", "dev", tag+"b")
	ipRun(t, "link", "set", is.link, "up")
	ipRun(t, "-n", is.ns, "link", "set", tag+"b", "up")
	is.bin = filepath.Join(t.TempDir(), "f2f-island.sh")
	if err := os.WriteFile(is.bin, []byte("#!/bin/sh\nexec ip netns exec "+is.ns+" "+f2fBin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return is
}

// cut takes the island off the network (true) or back on.
func (is *island) cut(t *testing.T, off bool) {
	state := "up"
	if off {
		state = "down"
	}
	ipRun(t, "link", "set", is.link, state)
}

// editLoop runs `f2f doc edit` at d with an editor that appends one
// unique marker a time, until ctx ends; it returns the markers saved.
func editLoop(ctx context.Context, t *testing.T, bin, repo, room, who string) []string {
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	counter := filepath.Join(dir, "n")
	// The marker goes to the end of the text, on a line of its own.
	script := fmt.Sprintf(`#!/bin/sh
n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s
printf '%[2]s-%%d\n' $n >> "$1"
`, counter, who)
	if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
		t.Error(err)
		return nil
	}
	var saved []string
	for i := 1; ctx.Err() == nil; i++ {
		cmd := exec.CommandContext(ctx, bin, "--repo", repo, "doc", "edit", room, "notes")
		cmd.Env = append(os.Environ(), "EDITOR="+editor)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			t.Errorf("%s: f2f doc edit: %v: %s", who, err, out)
			return saved
		}
		saved = append(saved, fmt.Sprintf("%s-%d\n", who, i))
	}
	return saved
}

// TestNotesTogether: four members edit the room's notes for 30 s, three
// with `f2f doc edit` (their $EDITOR appends a marker each time) and one
// in its browser page (typing at the top, while the others' text and
// cursors arrive); one CLI member is cut off the network for the middle
// 10 s and goes on editing offline. Afterwards every member and the page
// hold the same text, with every marker each wrote.
func TestNotesTogether(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	is := newIsland(t)
	dir := t.TempDir()
	var ds []*daemon
	for i := range 3 {
		args := []string{"--listen", "/ip4/0.0.0.0/udp/0/quic-v1"}
		if i > 0 {
			args = append(args, "--bootstrap", ds[0].quic)
		}
		ds = append(ds, startDaemon(t, ctx, filepath.Join(dir, fmt.Sprintf("node%d", i)), args...))
	}
	info := formRoom(t, ctx, ds, "notes")
	// Member 3 lives on the island.
	repo3 := filepath.Join(dir, "node3")
	boot := strings.Replace(ds[0].quic, "/ip4/127.0.0.1/", "/ip4/"+is.here+"/", 1)
	p3, err := testnet.StartDaemon(ctx, is.bin, repo3, "--listen", "/ip4/"+is.there+"/udp/0/quic-v1", "--bootstrap", boot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p3.Stop(10 * time.Second) })
	on3 := func(args ...string) (string, error) {
		r, err := testnet.RunCLI(ctx, is.bin, repo3, args...)
		if err == nil && r.Code != 0 {
			err = fmt.Errorf("f2f %v: exit %d: %s", args, r.Code, r.Stderr)
		}
		return r.Stdout, err
	}
	if _, err := on3("room", "join", info.Key); err != nil {
		t.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		ms, err := ds[0].Client.RoomPeers(ctx, info.Key)
		n := 0
		for _, m := range ms {
			if m.Connected && !m.Gone {
				n++
			}
		}
		return err == nil && n == 3, err
	}); err != nil {
		t.Fatalf("the island's member never joined: %v", err)
	}
	if _, err := ds[0].Client.NewDoc(ctx, info.Key, "notes", "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds[0].Client.SetDocText(ctx, info.Key, "notes", api.DocTextRequest{Text: "\n--- the CLI members write below ---\n"}); err != nil {
		t.Fatal(err)
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		out, err := on3("doc", "cat", info.Key, "notes")
		return err == nil && strings.Contains(out, "the CLI members"), nil
	}); err != nil {
		t.Fatal("the island's member never got the notes")
	}

	b := startBrowser(t, ctx)
	p := openPage(t, ctx, b, "page0", ds[0], info.Key)
	p.waitJS("the notes tab", `!!document.querySelector('[data-testid=tab-notes]')`)
	p.click(`[data-testid=tab-notes]`)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(ds[0].LogPath)
			t.Logf("daemon 0 says:\n%s", b)
		}
	})
	p.waitJS("the notes in the page", `!!window.f2fNotes && (window.f2fNotes.doc.text || '').includes('the CLI members')`)

	edit, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	var wg sync.WaitGroup
	saved := make([][]string, 4)
	for i := 1; i < 4; i++ {
		bin, repo := f2fBin, repo3
		if i < 3 {
			repo = ds[i].Repo
		} else {
			bin = is.bin
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			saved[i] = editLoop(edit, t, bin, repo, info.Key, fmt.Sprintf("cli%d", i))
		}()
	}
	// The cut: member 3 from 10 s to 20 s.
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-time.After(10 * time.Second):
		case <-edit.Done():
			return
		}
		is.cut(t, true)
		select {
		case <-time.After(9 * time.Second):
		case <-ctx.Done():
		}
		// Cut off indeed: member 3 wrote what member 1 has not seen.
		t3, err3 := on3("doc", "cat", info.Key, "notes")
		d1, err1 := ds[1].Client.Doc(ctx, info.Key, "notes")
		if err3 != nil || err1 != nil || strings.Count(d1.Text, "cli3-") >= strings.Count(t3, "cli3-") {
			t.Errorf("during the cut member 1 saw %d of member 3's %d markers (%v %v)", strings.Count(d1.Text, "cli3-"), strings.Count(t3, "cli3-"), err1, err3)
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		is.cut(t, false)
	}()
	// The page types a marker at the top every 250 ms.
	for k := 1; edit.Err() == nil; k++ {
		marker := fmt.Sprintf("page-%d ", k)
		if _, err := eval[bool](p, `(() => { const el = document.querySelector('[data-testid=notes-text]'); el.focus(); el.setSelectionRange(0, 0); return true; })()`); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid=notes-text]`), marker)); err != nil {
			t.Fatal(err)
		}
		saved[0] = append(saved[0], marker)
		select {
		case <-time.After(250 * time.Millisecond):
		case <-edit.Done():
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, s := range saved {
		t.Logf("member %d saved %d edits", i, len(s))
		if len(s) < 10 {
			t.Errorf("member %d made only %d edits in 30 s", i, len(s))
		}
	}

	// Everyone converges on one text holding every marker.
	var texts []string
	err = testnet.WaitFor(ctx, func() (bool, error) {
		texts = texts[:0]
		for _, d := range ds {
			doc, err := d.Client.Doc(ctx, info.Key, "notes")
			if err != nil {
				return false, err
			}
			texts = append(texts, doc.Text)
		}
		t3, err := on3("doc", "cat", info.Key, "notes")
		if err != nil {
			return false, err
		}
		texts = append(texts, t3)
		pt, err := eval[string](p, `window.f2fNotes.doc.text`)
		if err != nil {
			return false, err
		}
		texts = append(texts, pt)
		for _, x := range texts[1:] {
			if x != texts[0] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the members' notes never became one text: %v\n%q", err, texts)
	}
	final := texts[0]
	for i, s := range saved {
		for _, m := range s {
			if !strings.Contains(final, m) {
				t.Errorf("member %d's edit %q is not in the merged text", i, strings.TrimSpace(m))
			}
		}
	}
	// The page's markers stay whole (typed key by key, at the top).
	if got := regexp.MustCompile(`page-\d+ `).FindAllString(final, -1); len(got) != len(saved[0]) {
		t.Errorf("%d of the page's %d markers are whole in the text", len(got), len(saved[0]))
	}
	p.screenshot(filepath.Join(os.TempDir(), "f2f-notes-together.png"))
}

// TestTodoAgendaInThePage: a todo item added in the page reaches another
// member's CLI and the other way round; an agenda whose start is a few
// seconds ahead reminds in the page (in-page banner, notification hook,
// chat line) within 2 s of its time.
func TestTodoAgendaInThePage(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	ds := startDaemons(t, ctx, 2)
	info := formRoom(t, ctx, ds, "plans")
	b := startBrowser(t, ctx)
	p := openPage(t, ctx, b, "page0", ds[0], info.Key)
	p.waitJS("the todo tab", `!!document.querySelector('[data-testid=tab-todo]')`)
	p.click(`[data-testid=tab-todo]`)
	p.waitJS("the todo form", `!!document.querySelector('[data-testid=todo-input]')`)
	if err := chromedp.Do(p.ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=todo-input]`), "bring the slides"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=todo-assignee]`), "ann"),
		chromedp.Click(chromedp.CSS(`[data-testid=todo-add]`))); err != nil {
		t.Fatal(err)
	}
	waitDoc := func(d *daemon, name string, ok func(api.Doc) bool) api.Doc {
		t.Helper()
		var doc api.Doc
		if err := testnet.WaitFor(ctx, func() (bool, error) {
			var err error
			doc, err = d.Client.Doc(ctx, info.Key, name)
			return err == nil && ok(doc), nil
		}); err != nil {
			t.Fatalf("%s never as wanted: %+v", name, doc)
		}
		return doc
	}
	waitDoc(ds[1], "todo", func(d api.Doc) bool {
		return len(d.Todo) == 1 && d.Todo[0].Text == "bring the slides" && d.Todo[0].Assignee == "ann"
	})
	if _, err := ds[1].Client.Todo(ctx, info.Key, "todo", api.TodoRequest{Op: "add", Text: "book the room"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ds[1].Client.Todo(ctx, info.Key, "todo", api.TodoRequest{Op: "done", Item: "1"}); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the other member's item and tick", `(() => {
		const items = [...document.querySelectorAll('[data-testid=todo] li')];
		return items.length === 2 && items[0].classList.contains('done') && items[1].textContent.includes('book the room'); })()`)
	// A tick in the page reaches the other member.
	p.click(`[data-testid=todo] li:nth-child(2) [data-testid=todo-done]`)
	waitDoc(ds[1], "todo", func(d api.Doc) bool { return len(d.Todo) == 2 && d.Todo[1].Done })

	// The agenda: an item added in the page, the start set by the other
	// member's CLI a few seconds ahead.
	p.click(`[data-testid=tab-agenda]`)
	p.waitJS("the agenda form", `!!document.querySelector('[data-testid=agenda-input]')`)
	if _, err := ds[1].Client.Agenda(ctx, info.Key, "agenda", api.AgendaRequest{Op: "start", At: "+4s"}); err == nil {
		t.Fatal("agenda start before the agenda exists: no error")
	}
	if _, err := ds[1].Client.NewDoc(ctx, info.Key, "agenda", "agenda"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds[1].Client.Agenda(ctx, info.Key, "agenda", api.AgendaRequest{Op: "start", At: "+4s"}); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the start in the page", `document.querySelector('[data-testid=agenda-start]').textContent.includes('The meeting starts')`)
	if err := chromedp.Do(p.ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=agenda-input]`), "welcome"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=agenda-minutes]`), "0"),
		chromedp.Click(chromedp.CSS(`[data-testid=agenda-add]`))); err != nil {
		t.Fatal(err)
	}
	doc := waitDoc(ds[1], "agenda", func(d api.Doc) bool { return len(d.Agenda) == 1 && d.Agenda[0].Title == "welcome" })
	if !doc.Agenda[0].At.Equal(doc.Start) {
		t.Errorf("the first item starts at %v, the meeting at %v", doc.Agenda[0].At, doc.Start)
	}
	p.waitJS("two reminders in the page", `(window.f2fReminders || []).length >= 2 && document.querySelectorAll('[data-testid=reminder]').length >= 2`)
	seen, err := eval[[]float64](p, `window.f2fReminders.map(r => r.seen - new Date(r.at).getTime())`)
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range seen {
		if ms < 0 || ms > 2000 {
			t.Errorf("a reminder showed %.0f ms after its time", ms)
		}
	}
	p.click(`[data-testid=tab-chat]`)
	p.waitJS("the reminder in the chat", `[...document.querySelectorAll('[data-testid=chat-reminder]')].some(l => l.textContent.includes('welcome'))`)
	// Bad input in the page: one clear line, nothing changed.
	p.click(`[data-testid=tab-todo]`)
	p.waitJS("the todo form", `!!document.querySelector('[data-testid=todo-input]')`)
	big := strings.Repeat("x", 1001)
	if _, err := eval[bool](p, `(() => { const el = document.querySelector('[data-testid=todo-input]'); el.removeAttribute('maxlength'); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid=todo-input]`), big), chromedp.Click(chromedp.CSS(`[data-testid=todo-add]`))); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the error line", `(document.querySelector('[data-testid=todo-error]') || {}).textContent?.includes('longer than 1000 bytes')`)
	if d, _ := ds[0].Client.Doc(ctx, info.Key, "todo"); len(d.Todo) != 2 || slices.ContainsFunc(d.Todo, func(it api.TodoItem) bool { return it.Text == big }) {
		t.Errorf("todo after a refused item: %+v", d.Todo)
	}
	p.screenshot(filepath.Join(os.TempDir(), "f2f-todo-agenda.png"))
}

// TestNotesCursors: two members' pages on the notes: what one types shows
// at the other, and each shows the other's selection where it is in the
// text (an Automerge cursor, so it stays on the same words while text is
// inserted before it).
func TestNotesCursors(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	ds := startDaemons(t, ctx, 2)
	info := formRoom(t, ctx, ds, "cursors")
	b := startBrowser(t, ctx)
	var ps []*page
	for i, d := range ds {
		p := openPage(t, ctx, b, fmt.Sprintf("page%d", i), d, info.Key)
		p.waitJS("the notes tab", `!!document.querySelector('[data-testid=tab-notes]')`)
		p.click(`[data-testid=tab-notes]`)
		p.waitJS("the notes connected", `document.querySelector('[data-testid=notes]').dataset.state === 'open'`)
		ps = append(ps, p)
	}
	if err := chromedp.Do(ps[0].ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid=notes-text]`), "hello world, this is the agenda")); err != nil {
		t.Fatal(err)
	}
	ps[1].waitJS("page 0's text at page 1", `document.querySelector('[data-testid=notes-text]').value === 'hello world, this is the agenda'`)
	// Page 0 selects "world".
	if _, err := eval[bool](ps[0], `(() => { const el = document.querySelector('[data-testid=notes-text]'); el.focus(); el.setSelectionRange(6, 11);
		el.dispatchEvent(new Event('select')); return true; })()`); err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`document.querySelector('.notesbox mark') && document.querySelector('.caret[data-peer=%q]')`, ds[0].id)
	ps[1].waitJS("page 0's selection at page 1", sel+` && document.querySelector('.notesbox mark').textContent === 'world'`)
	// Page 1 types at the start: the selection stays on "world".
	if _, err := eval[bool](ps[1], `(() => { const el = document.querySelector('[data-testid=notes-text]'); el.focus(); el.setSelectionRange(0, 0); return true; })()`); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ps[1].ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid=notes-text]`), "Well, ")); err != nil {
		t.Fatal(err)
	}
	ps[0].waitJS("page 1's words at page 0", `document.querySelector('[data-testid=notes-text]').value === 'Well, hello world, this is the agenda'`)
	ps[1].waitJS("the selection still on world", sel+` && document.querySelector('.notesbox mark').textContent === 'world'`)
	// Page 0's own selection moved with the text it did not type.
	if got, err := eval[string](ps[0], `(() => { const el = document.querySelector('[data-testid=notes-text]'); return el.value.slice(el.selectionStart, el.selectionEnd); })()`); err != nil || got != "world" {
		t.Errorf("page 0's selection after page 1 typed before it: %q %v", got, err)
	}
	ps[0].waitJS("page 1's caret at page 0", fmt.Sprintf(`!!document.querySelector('.caret[data-peer=%q]')`, ds[1].id))
	ps[1].screenshot(filepath.Join(os.TempDir(), "f2f-notes-cursors.png"))
}
