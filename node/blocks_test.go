package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	flatfs "github.com/ipfs/go-ds-flatfs"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// TestBlocksSurviveRestart: a block stored but never synced by the file
// service (as a get's blocks are until it completes) is still there after
// a clean shutdown and a start.
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

// TestBlocksMovedFromPebble: a repo whose blocks are in a pebble store
// (made before issue 19) has them in the flatfs store after a start, the
// pebble store gone; a move interrupted after it began finishes at the
// next start.
func TestBlocksMovedFromPebble(t *testing.T) {
	ctx := context.Background()
	for _, interrupted := range []bool{false, true} {
		repo := newRepo(t, ProfileLocal)
		b := blocks.NewBlock([]byte(fmt.Sprintf("a block stored before issue 19 (%v)", interrupted)))
		dir := filepath.Join(repo, BlocksDir)
		if interrupted {
			// The pebble store was renamed and the flatfs one made.
			dir = filepath.Join(repo, legacyBlocksDir)
			fs, err := flatfs.CreateOrOpen(filepath.Join(repo, BlocksDir), flatfs.NextToLast(2), false)
			if err != nil {
				t.Fatal(err)
			}
			_ = fs.Close()
		}
		old, err := pebbleds.NewDatastore(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := blockstore.NewBlockstore(old, blockstore.NoPrefix()).Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		n := newNode(t, repo)
		if ok, err := n.Blockstore().Has(ctx, b.Cid()); err != nil || !ok {
			t.Fatalf("interrupted %v: the old block is not in the new store (%v, %v)", interrupted, ok, err)
		}
		if _, err := os.Stat(filepath.Join(repo, legacyBlocksDir)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("interrupted %v: the pebble store is still there (%v)", interrupted, err)
		}
	}
}
