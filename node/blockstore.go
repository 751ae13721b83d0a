package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	flatfs "github.com/ipfs/go-ds-flatfs"
	pebbleds "github.com/ipfs/go-ds-pebble"
	"golang.org/x/sys/unix"
)

// Blocks live in a flatfs directory (one file per block, in directories
// named by two characters of the key), as Kubo keeps them: a block is
// written once and never changed, and a file per block is written once,
// where a log-structured database writes it into a memtable, a table and
// again on every compaction that moves it. Files are not synced one by
// one: the file service syncs the file system (syncBlocks) before it
// lists a file as complete, and a block lost in a crash is fetched or
// added again.

// legacyBlocksDir is where openBlocks moves a pebble block store (repos
// made before issue 19) while it copies its blocks into flatfs.
const legacyBlocksDir = "blocks.pebble"

// openBlocks opens the repo's block store, first moving the blocks of a
// pebble block store in its place (or left half moved by an interrupted
// start) into it.
func openBlocks(ctx context.Context, repoPath string) (*flatfs.Datastore, error) {
	dir, legacy := filepath.Join(repoPath, BlocksDir), filepath.Join(repoPath, legacyBlocksDir)
	if _, err := os.Stat(filepath.Join(dir, "SHARDING")); errors.Is(err, os.ErrNotExist) {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			if _, err := os.Stat(legacy); err == nil {
				return nil, fmt.Errorf("block store: both %s and %s hold blocks; move one away", dir, legacy)
			}
			if err := os.Rename(dir, legacy); err != nil {
				return nil, fmt.Errorf("block store: %w", err)
			}
		}
	}
	fs, err := flatfs.CreateOrOpen(dir, flatfs.NextToLast(2), false)
	if err != nil {
		return nil, fmt.Errorf("block store: %w", err)
	}
	if _, err := os.Stat(legacy); err == nil {
		if err := moveBlocks(ctx, legacy, dir, fs); err != nil {
			_ = fs.Close()
			return nil, fmt.Errorf("block store: moving the blocks of %s: %w", legacy, err)
		}
	}
	return fs, nil
}

// moveBlocks copies every block of the pebble store at legacy into fs,
// syncs, and removes legacy. Copying again what an interrupted move copied
// already is harmless (same key, same bytes).
func moveBlocks(ctx context.Context, legacy, dir string, fs *flatfs.Datastore) error {
	old, err := pebbleds.NewDatastore(legacy, pebbleds.WithPebbleOpts(&pebble.Options{}))
	if err != nil {
		return err
	}
	res, err := old.Query(ctx, query.Query{})
	if err != nil {
		_ = old.Close()
		return err
	}
	for r := range res.Next() {
		if r.Error != nil {
			_ = res.Close()
			_ = old.Close()
			return r.Error
		}
		if err := fs.Put(ctx, datastore.NewKey(r.Key), r.Value); err != nil {
			_ = res.Close()
			_ = old.Close()
			return err
		}
	}
	if err := errors.Join(res.Close(), old.Close()); err != nil {
		return err
	}
	if err := syncBlocks(dir); err != nil {
		return err
	}
	return os.RemoveAll(legacy)
}

// syncBlocks makes every block written so far durable: a sync of the file
// system that holds dir (the files and the renames that named them).
func syncBlocks(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
