package collab

import (
	"time"
)

// remindWindow is how late a reminder may still be given: a node that
// was off when an item began reminds of it if it comes back within this
// window, not of a meeting long past.
const remindWindow = 10 * time.Minute

// due is one time an agenda asks to be reminded of.
type due struct {
	room, doc, key, title string
	at                    time.Time
}

// dues lists the reminders of the joined rooms' agendas.
func (s *Service) dues() []due {
	joined := map[string]bool{}
	for _, h := range s.rooms.JoinedHashes() {
		joined[h] = true
	}
	s.mu.Lock()
	var ds []*doc
	for room, m := range s.docs {
		if !joined[room] {
			continue
		}
		for _, d := range m {
			ds = append(ds, d)
		}
	}
	s.mu.Unlock()
	var out []due
	for _, d := range ds {
		d.mu.Lock()
		if d.kind != KindAgenda {
			d.mu.Unlock()
			continue
		}
		v := readView(d.d, d.info())
		d.mu.Unlock()
		if !v.Start.IsZero() {
			out = append(out, due{room: d.room, doc: d.name, key: "start", title: "the meeting starts", at: v.Start})
		}
		for _, it := range v.Agenda {
			title := it.Title
			if it.Owner != "" {
				title += " (" + it.Owner + ")"
			}
			out = append(out, due{room: d.room, doc: d.name, key: it.ID, title: title, at: it.At})
		}
	}
	return out
}

// reminders gives each agenda reminder once, at its time: an event (the
// page shows it as a notification and in the chat; the CLI's chat log
// prints it), recorded so that a restart does not give it again.
func (s *Service) reminders() {
	defer s.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	given := map[due]bool{} // recorded in the database: no write again
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		case <-s.remind:
		}
		now := s.now()
		next := now.Add(time.Minute)
		for _, d := range s.dues() {
			switch {
			case d.at.After(now):
				if d.at.Before(next) {
					next = d.at
				}
			case now.Sub(d.at) <= remindWindow && !given[d]:
				r := Reminder{Room: d.room, Doc: d.doc, Key: d.key, At: d.at, Title: d.title, Fired: now}
				fresh, err := s.st.markFired(s.ctx, &r)
				if err != nil {
					s.log.Warn("reminder", "err", err)
					continue
				}
				given[d] = true
				if fresh {
					s.events(EventReminder, r)
				}
			}
		}
		for d := range given {
			if now.Sub(d.at) > remindWindow {
				delete(given, d)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(next.Sub(s.now()), 10*time.Millisecond))
	}
}

// Reminders lists the reminders given in a room since a time (for the
// chat log).
func (s *Service) Reminders(room string, since time.Time) ([]Reminder, error) {
	return s.st.reminders(s.ctx, room, since)
}
