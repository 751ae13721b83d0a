package testnet

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/fluttershy/face2face/overlay"
)

// A page of the log (--limit, --since, read in SQL) is exactly that part
// of the whole log, nicknames included: two members rename themselves
// between messages, and every tail and every --since cut of node0's log
// equals the page Log returns for it.
func TestLogPagesMatchTheWholeLog(t *testing.T) {
	t.Parallel()
	net := newNet(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), roomDeadline)
	defer cancel()
	makeRoom(t, ctx, net.Nodes, "pages")
	var want []string
	for i := 0; i < 12; i++ {
		nd := net.Nodes[i%2]
		if i%4 == 0 {
			send(t, ctx, nd, "pages", fmt.Sprintf("/nick n%d-%d", i%2, i))
		}
		text := fmt.Sprintf("m%d", i)
		want = append(want, text)
		send(t, ctx, nd, "pages", text)
	}
	for i, nd := range net.Nodes {
		waitChat(t, ctx, fmt.Sprintf("node%d", i), nd, "pages", want...)
	}
	rooms := net.Nodes[0].Rooms()
	full, err := rooms.Log(ctx, "pages", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= len(full); n++ {
		page, err := rooms.Log(ctx, "pages", time.Time{}, n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(page, full[len(full)-n:]) {
			t.Fatalf("--limit %d:\n got %v\nwant %v", n, page, full[len(full)-n:])
		}
	}
	for _, m := range full {
		var cut []overlay.ChatMessage
		for _, o := range full {
			if !o.Time.Before(m.Time) {
				cut = append(cut, o)
			}
		}
		page, err := rooms.Log(ctx, "pages", m.Time, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(page, cut) {
			t.Fatalf("--since %s:\n got %v\nwant %v", m.Time, page, cut)
		}
	}
}
