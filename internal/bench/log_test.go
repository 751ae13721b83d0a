package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluttershy/face2face/testnet"
)

// BenchmarkLogPasswordRoom reads the 100-message log of a password room,
// joined and after leaving it: the room's Argon2id key is derived once,
// not on every read.
//
// go test -run '^$' -bench LogPasswordRoom ./internal/bench/
func BenchmarkLogPasswordRoom(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net, err := testnet.New(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	nd := net.Nodes[0]
	info, err := nd.Rooms().Create(ctx, "vault", "correct horse")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := nd.Rooms().Send(ctx, info.Key, fmt.Sprintf("m%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	for _, state := range []string{"joined", "left"} {
		if state == "left" {
			if err := nd.Rooms().Leave(ctx, info.Key); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(state, func(b *testing.B) {
			for b.Loop() {
				msgs, err := nd.Rooms().Log(ctx, info.Key, time.Time{}, 0)
				if err != nil || len(msgs) < 100 {
					b.Fatalf("log: %d messages, %v", len(msgs), err)
				}
			}
		})
	}
}
