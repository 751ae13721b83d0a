package node

import (
	"context"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// TestBlocksSurviveRestart: a block stored but never synced by the file
// service (as a get's blocks are until it completes) is still there after
// a clean shutdown and a start, though the block store keeps no
// write-ahead log: Close flushes it.
func TestBlocksSurviveRestart(t *testing.T) {
	repo := newRepo(t, ProfileLocal)
	ctx := context.Background()
	b := blocks.NewBlock([]byte("a block of an interrupted get"))
	n, err := New(repo, WithAPIAddr("127.0.0.1:0"), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Blockstore().Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = newNode(t, repo)
	if ok, err := n.Blockstore().Has(ctx, b.Cid()); err != nil || !ok {
		t.Fatalf("after a restart the block is gone (has %v, %v)", ok, err)
	}
}
