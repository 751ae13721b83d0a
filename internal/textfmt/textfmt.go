package textfmt

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/fluttershy/face2face/api"
)

// ChatTimeLayout is how FormatChat shows a message's time (local time).
const ChatTimeLayout = "2006-01-02 15:04:05"

// DisplayText makes untrusted text safe for one terminal line: control
// characters (escape sequences, carriage returns, newlines, ...) and the
// Unicode characters that reorder or hide text (bidi overrides and
// isolates, zero-width marks) are shown as \x.. or \u.... escapes, so a
// message can neither move the cursor, recolour the terminal nor look
// like another line or another author.
func DisplayText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == unicode.ReplacementChar:
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || hiddenRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hiddenRune reports whether r reorders text or is invisible: bidi
// embeddings, overrides, isolates and marks, zero-width characters and
// the line and paragraph separators.
func hiddenRune(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, r >= 0x2028 && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x061c, r == 0xfeff:
		return true
	}
	return false
}

// FormatChat renders one chat log entry for a terminal: the first line
// starts with the time and the author's nickname, and every further line of
// a multi-line message is indented under the text (never at column 0, where
// a time would be), with control characters shown as escapes (see
// DisplayText). gateway, when not nil, gives a shared file's browser link.
func FormatChat(m api.ChatMessage, gateway func(cid, name string) string) string {
	ts := m.Time.Local().Format(ChatTimeLayout)
	pad := strings.Repeat(" ", len(ts)+2)
	nick := DisplayText(m.Nick)
	text := func(prefix string) string {
		lines := strings.Split(m.Text, "\n")
		var b strings.Builder
		b.WriteString(prefix)
		for i, l := range lines {
			if i > 0 {
				b.WriteString("\n" + pad + "| ")
			}
			b.WriteString(DisplayText(l))
		}
		return b.String()
	}
	switch m.Kind {
	case "me":
		return text(fmt.Sprintf("%s  * %s ", ts, nick))
	case "nick":
		return text(fmt.Sprintf("%s  * %s is now known as ", ts, nick))
	case "join":
		return fmt.Sprintf("%s  --> %s joined", ts, nick)
	case "stage":
		return text(fmt.Sprintf("%s  * %s ", ts, nick))
	case "leave":
		return fmt.Sprintf("%s  <-- %s left", ts, nick)
	case "reminder":
		return text(fmt.Sprintf("%s  (!) reminder: ", ts))
	case "file":
		if m.File == nil {
			return fmt.Sprintf("%s  <%s> (a file link this version cannot read)", ts, nick)
		}
		f := m.File
		mime := f.MIME
		if mime == "" {
			mime = "unknown type"
		}
		out := fmt.Sprintf("%s  <%s> shared %s (%s, %s)\n%sget:  f2f file get %s -o %s", ts, nick, DisplayText(f.Name),
			HumanSize(f.Size), DisplayText(mime), pad, f.CID.CID, ShellQuote(f.Name))
		if gateway != nil {
			out += fmt.Sprintf("\n%sopen: %s", pad, gateway(f.CID.CID, f.Name))
		}
		return out
	}
	return text(fmt.Sprintf("%s  <%s> ", ts, nick))
}

// ShellQuote quotes s for a POSIX shell when it needs quoting; control
// characters are never passed through raw (they print as $'\x..').
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '+' || r == ',' || r == ':' || r == '@' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || hiddenRune(r) }) >= 0 {
		var b strings.Builder
		b.WriteString("$'")
		for _, r := range s {
			switch {
			case r == '\'' || r == '\\':
				b.WriteString(`\` + string(r))
			case r < 0x80 && unicode.IsControl(r):
				fmt.Fprintf(&b, `\x%02x`, r)
			case unicode.IsControl(r) || hiddenRune(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		return b.String() + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// HumanSize formats n bytes in binary units ("1.5 MiB").
func HumanSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// FormatTodo lists a todo document's items, numbered as the todo calls
// take them ("f2f todo done ROOM 2").
func FormatTodo(d api.Doc) string {
	if len(d.Todo) == 0 {
		return "the todo list is empty"
	}
	var b strings.Builder
	for i, it := range d.Todo {
		mark := " "
		if it.Done {
			mark = "x"
		}
		fmt.Fprintf(&b, "%2d. [%s] %s", i+1, mark, DisplayText(it.Text))
		if it.Assignee != "" {
			fmt.Fprintf(&b, " (@%s)", DisplayText(it.Assignee))
		}
		if !it.Due.IsZero() {
			fmt.Fprintf(&b, " due %s", it.Due.Local().Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(&b, "  [%s]\n", it.ID)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// FormatAgenda lists an agenda: the meeting's start and the items in
// time order.
func FormatAgenda(d api.Doc) string {
	var b strings.Builder
	if d.Start.IsZero() {
		b.WriteString("the meeting has no start time yet\n")
	} else {
		fmt.Fprintf(&b, "the meeting starts %s\n", d.Start.Local().Format("2006-01-02 15:04"))
	}
	if len(d.Agenda) == 0 {
		b.WriteString("the agenda is empty")
		return b.String()
	}
	for _, it := range d.Agenda {
		fmt.Fprintf(&b, "  %s  %3d min  %s", it.At.Local().Format("15:04"), it.Minutes, DisplayText(it.Title))
		if it.Owner != "" {
			fmt.Fprintf(&b, " (%s)", DisplayText(it.Owner))
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
