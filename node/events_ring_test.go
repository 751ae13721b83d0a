package node

import "testing"

// TestRecentEventsKeepTheLastInOrder: the timeline keeps the last
// maxRecentEvents events, oldest first, however many came before.
func TestRecentEventsKeepTheLastInOrder(t *testing.T) {
	h := newEventHub()
	for _, total := range []int{3, maxRecentEvents, maxRecentEvents + 1, 2*maxRecentEvents + 250} {
		h.recent, h.next = nil, 0
		for i := range total {
			h.Publish("test", i)
		}
		got := h.Recent()
		first := max(0, total-maxRecentEvents)
		if len(got) != total-first {
			t.Fatalf("%d events: timeline of %d", total, len(got))
		}
		for k, ev := range got {
			if ev.Data.(int) != first+k {
				t.Fatalf("%d events: timeline[%d] is event %v, want %d", total, k, ev.Data, first+k)
			}
		}
	}
}
