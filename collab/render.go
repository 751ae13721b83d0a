package collab

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders a document for people: the notes' text as it is, a
// todo list as a task list, an agenda as a timed list.
func Markdown(v View, loc *time.Location) string {
	var b strings.Builder
	switch v.Kind {
	case KindNotes:
		b.WriteString(v.Text)
		if v.Text != "" && !strings.HasSuffix(v.Text, "\n") {
			b.WriteByte('\n')
		}
	case KindTodo:
		fmt.Fprintf(&b, "# %s\n\n", v.Name)
		for _, it := range v.Todo {
			mark := " "
			if it.Done {
				mark = "x"
			}
			fmt.Fprintf(&b, "- [%s] %s", mark, it.Text)
			if it.Assignee != "" {
				fmt.Fprintf(&b, " (@%s)", it.Assignee)
			}
			if !it.Due.IsZero() {
				fmt.Fprintf(&b, " due %s", it.Due.In(loc).Format("2006-01-02 15:04"))
			}
			b.WriteByte('\n')
		}
	case KindAgenda:
		fmt.Fprintf(&b, "# %s\n\n", v.Name)
		if !v.Start.IsZero() {
			fmt.Fprintf(&b, "Meeting starts %s\n\n", v.Start.In(loc).Format("2006-01-02 15:04"))
		}
		for _, it := range v.Agenda {
			fmt.Fprintf(&b, "- %s %s", it.At.In(loc).Format("15:04"), it.Title)
			if it.Minutes > 0 {
				fmt.Fprintf(&b, " (%d min)", it.Minutes)
			}
			if it.Owner != "" {
				fmt.Fprintf(&b, " — %s", it.Owner)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}
