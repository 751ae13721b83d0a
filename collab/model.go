package collab

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/automerge/automerge-go"
)

// Kind is a document's kind.
type Kind string

// The document kinds.
const (
	KindNotes  Kind = "notes"
	KindTodo   Kind = "todo"
	KindAgenda Kind = "agenda"
)

// ParseKind reads a kind's name; "" is notes.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case "", KindNotes:
		return KindNotes, nil
	case KindTodo, KindAgenda:
		return Kind(s), nil
	}
	return "", fmt.Errorf("%w %q (want notes, todo or agenda)", ErrBadKind, s)
}

// Document layout (the page's JavaScript reads the same keys):
//
//	notes:  {kind: "notes", text: Text}
//	todo:   {kind: "todo", items: [{id, text, done, assignee, due (unix ms, 0: none)}]}
//	agenda: {kind: "agenda", start (unix ms, 0: not set), items: [{id, title, at (unix ms), minutes, owner}]}
const (
	keyKind  = "kind"
	keyText  = "text"
	keyItems = "items"
	keyStart = "start"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CheckName reports whether name may name a document: 1 to 64 of a-z,
// 0-9, '.', '_' and '-', starting with a letter or digit.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit)", ErrBadName, name)
	}
	return nil
}

// genesis is a document's first change. Every member that creates the
// document (room, name, kind) makes the very same change (same actor,
// time and operations, so the same hash): two members who create "notes"
// while apart hold one document when they meet, not two rival roots.
func genesis(room, name string, kind Kind) (*automerge.Doc, error) {
	d := automerge.New()
	sum := sha256.Sum256([]byte("f2f-doc-genesis\x00" + room + "\x00" + name))
	if err := d.SetActorID(hex.EncodeToString(sum[:16])); err != nil {
		return nil, err
	}
	root := d.RootMap()
	if err := root.Set(keyKind, string(kind)); err != nil {
		return nil, err
	}
	var err error
	switch kind {
	case KindNotes:
		err = root.Set(keyText, automerge.NewText(""))
	case KindTodo:
		err = root.Set(keyItems, automerge.NewList())
	case KindAgenda:
		if err = root.Set(keyStart, int64(0)); err == nil {
			err = root.Set(keyItems, automerge.NewList())
		}
	}
	if err != nil {
		return nil, err
	}
	t := time.Unix(1, 0)
	if _, err := d.Commit("create "+string(kind), automerge.CommitOptions{Time: &t}); err != nil {
		return nil, err
	}
	if err := d.SetActorID(automerge.NewActorID()); err != nil {
		return nil, err
	}
	return d, nil
}

// docKind reads the kind a document says it is ("" before its first
// change arrived).
func docKind(d *automerge.Doc) Kind {
	v, err := d.RootMap().Get(keyKind)
	if err != nil || v.Kind() != automerge.KindStr {
		return ""
	}
	return Kind(v.Str())
}

// TodoItem is one item of a todo document.
type TodoItem struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Done     bool      `json:"done"`
	Assignee string    `json:"assignee,omitempty"`
	Due      time.Time `json:"due,omitzero"`
}

// AgendaItem is one item of an agenda.
type AgendaItem struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	At      time.Time `json:"at"`
	Minutes int       `json:"minutes"`
	Owner   string    `json:"owner,omitempty"`
}

// View is a document's content as plain values.
type View struct {
	Info
	Text   string       `json:"text,omitempty"`
	Todo   []TodoItem   `json:"todo,omitempty"`
	Start  time.Time    `json:"start,omitzero"`
	Agenda []AgendaItem `json:"agenda,omitempty"`
}

func readView(d *automerge.Doc, info Info) View {
	v := View{Info: info}
	root := d.RootMap()
	switch info.Kind {
	case KindNotes:
		v.Text = textOf(d)
	case KindTodo:
		for _, m := range itemMaps(root) {
			v.Todo = append(v.Todo, TodoItem{ID: str(m, "id"), Text: str(m, "text"), Done: boolean(m, "done"),
				Assignee: str(m, "assignee"), Due: millis(num(m, "due"))})
		}
	case KindAgenda:
		v.Start = millis(num(root, keyStart))
		for _, m := range itemMaps(root) {
			v.Agenda = append(v.Agenda, AgendaItem{ID: str(m, "id"), Title: str(m, "title"), At: millis(num(m, "at")),
				Minutes: int(num(m, "minutes")), Owner: str(m, "owner")})
		}
		slices.SortStableFunc(v.Agenda, func(a, b AgendaItem) int { return a.At.Compare(b.At) })
	}
	return v
}

func textOf(d *automerge.Doc) string {
	v, err := d.RootMap().Get(keyText)
	if err != nil || v.Kind() != automerge.KindText {
		return ""
	}
	s, _ := v.Text().Get()
	return s
}

func itemMaps(root *automerge.Map) []*automerge.Map {
	v, err := root.Get(keyItems)
	if err != nil || v.Kind() != automerge.KindList {
		return nil
	}
	vals, err := v.List().Values()
	if err != nil {
		return nil
	}
	var out []*automerge.Map
	for _, it := range vals {
		if it.Kind() == automerge.KindMap {
			out = append(out, it.Map())
		}
	}
	return out
}

func str(m *automerge.Map, k string) string {
	v, err := m.Get(k)
	if err != nil || v.Kind() != automerge.KindStr {
		return ""
	}
	return v.Str()
}

func boolean(m *automerge.Map, k string) bool {
	v, err := m.Get(k)
	return err == nil && v.Kind() == automerge.KindBool && v.Bool()
}

// num reads an integer (the page's JavaScript writes numbers as float64,
// the CLI as int64).
func num(m *automerge.Map, k string) int64 {
	v, err := m.Get(k)
	if err != nil {
		return 0
	}
	switch v.Kind() {
	case automerge.KindInt64:
		return v.Int64()
	case automerge.KindUint64:
		return int64(v.Uint64())
	case automerge.KindFloat64:
		return int64(v.Float64())
	}
	return 0
}

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func newItemID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Field limits of todo and agenda items.
const (
	maxItemText = 1000
	maxItems    = 1000
)

func checkItemText(what, s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrBadItem, what)
	case len(s) > maxItemText:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrBadItem, what, maxItemText)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrBadItem, what)
	}
	return nil
}

func appendItem(d *automerge.Doc, fields map[string]any) error {
	v, err := d.RootMap().Get(keyItems)
	if err != nil || v.Kind() != automerge.KindList {
		return errors.New("collab: document has no item list")
	}
	l := v.List()
	if l.Len() >= maxItems {
		return fmt.Errorf("%w: the list has %d items already", ErrTooLarge, maxItems)
	}
	m := automerge.NewMap()
	if err := l.Append(m); err != nil {
		return err
	}
	for k, val := range fields {
		if err := m.Set(k, val); err != nil {
			return err
		}
	}
	return nil
}

// findItem finds a todo or agenda item by its 1-based number in the
// listing or by a prefix of its id.
// minIDPrefix is the shortest id prefix that names an item.
const minIDPrefix = 4

func findItem(maps []*automerge.Map, ref string) (*automerge.Map, error) {
	ref = strings.TrimSpace(ref)
	// A number up to the list's length is the item's number; any other
	// ref of at least minIDPrefix characters is a prefix of an id (ids are
	// 8 hex digits), so that a number past the end ("9" of 2 items) is an
	// error, never the item whose id happens to start with it.
	n, numErr := strconv.Atoi(ref)
	if numErr == nil && n >= 1 && n <= len(maps) {
		return maps[n-1], nil
	}
	var found *automerge.Map
	for _, m := range maps {
		if len(ref) >= minIDPrefix && strings.HasPrefix(str(m, "id"), ref) {
			if found != nil {
				return nil, fmt.Errorf("%w %s: more than one item's id starts so", ErrNoItem, ref)
			}
			found = m
		}
	}
	if found == nil {
		if numErr == nil {
			return nil, fmt.Errorf("%w %s: the list has %d items", ErrNoItem, ref, len(maps))
		}
		return nil, fmt.Errorf("%w %q", ErrNoItem, ref)
	}
	return found, nil
}

// ParseTime reads a time a user gives for an agenda or a due date, in
// loc, relative to now: RFC 3339, "2006-01-02 15:04", "2006-01-02T15:04",
// "2006-01-02" (midnight), "15:04" (today), or "+90s", "+10m", "+1h30m"
// (from now).
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		if d, err := time.ParseDuration(rest); err == nil && d >= 0 {
			return now.Add(d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			y, m, d := now.In(loc).Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w %q: want 2006-01-02 15:04, 15:04, RFC 3339 or +10m", ErrBadTime, s)
}
