package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// killWhenStored SIGKILLs p once its repo's block store holds more than
// min bytes, or gives up when done closes first. It reports whether it
// killed.
func killWhenStored(ctx context.Context, t *testing.T, p *testnet.Proc, repo string, min int64, done <-chan struct{}) bool {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-tick.C:
			if dirSize(filepath.Join(repo, node.BlocksDir)) > min {
				p.Kill()
				return true
			}
		}
	}
}

// checkListed: every file `file ls` lists reads back whole from local
// blocks, and hashes to want when it is want's CID.
func checkListed(ctx context.Context, t *testing.T, repo string) []api.File {
	t.Helper()
	var list []api.File
	if err := json.Unmarshal([]byte(cliOK(ctx, t, repo, "--json", "file", "ls")), &list); err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		body, _, err := c.Cat(ctx, e.CID)
		if err != nil {
			t.Fatalf("listed %s: %v", e.CID, err)
		}
		n, err := io.Copy(io.Discard, body)
		body.Close()
		if err != nil || uint64(n) != e.Size {
			t.Fatalf("listed %s reads %d of %d bytes: %v", e.CID, n, e.Size, err)
		}
	}
	return list
}

// TestKillDuringAddAndGet: kill -9 in the middle of an add and of a get
// leaves a store whose listed files are whole; after a restart the add
// works again and the get resumes from the blocks it had.
func TestKillDuringAddAndGet(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 4*time.Minute)
	const size = 300 << 20
	a, b := newRepo(t), newRepo(t)
	src := filepath.Join(t.TempDir(), "big.bin")
	sum := writeRandomFile(t, src, size, 9)

	// Kill A while it imports.
	pa := startDaemon(ctx, t, a)
	add := exec.CommandContext(ctx, f2fBin, "--repo", a, "file", "add", src)
	if err := add.Start(); err != nil {
		t.Fatal(err)
	}
	addDone := make(chan struct{})
	go func() { _ = add.Wait(); close(addDone) }()
	if !killWhenStored(ctx, t, pa, a, 40<<20, addDone) {
		t.Log("the add finished before the kill; checking the store anyway")
	}
	<-addDone
	startDaemon(ctx, t, a)
	for _, e := range checkListed(ctx, t, a) {
		t.Logf("after the killed add, A lists %s (%d bytes)", e.CID, e.Size)
	}
	root := lastLine(cliOK(ctx, t, a, "file", "add", src))

	// Kill B while it fetches from A.
	boot := tcpAddr(t, idLines(ctx, t, a))
	pb := startDaemon(ctx, t, b, "--bootstrap", boot)
	get := exec.CommandContext(ctx, f2fBin, "--repo", b, "file", "get", root, "-o", filepath.Join(t.TempDir(), "first"))
	if err := get.Start(); err != nil {
		t.Fatal(err)
	}
	getDone := make(chan struct{})
	go func() { _ = get.Wait(); close(getDone) }()
	killed := killWhenStored(ctx, t, pb, b, 60<<20, getDone)
	<-getDone
	startDaemon(ctx, t, b, "--bootstrap", boot)
	listed := checkListed(ctx, t, b)
	if killed && len(listed) != 0 {
		t.Fatalf("B lists %v after being killed mid-get", listed)
	}
	out := filepath.Join(t.TempDir(), "second")
	var res struct {
		api.GetEvent
		Path string `json:"path"`
	}
	if err := json.Unmarshal([]byte(cliOK(ctx, t, b, "--json", "file", "get", root, "-o", out)), &res); err != nil {
		t.Fatal(err)
	}
	var fetched uint64
	for _, s := range res.Sources {
		fetched += s.Bytes
	}
	t.Logf("killed mid-get: %v; the second get fetched %d of %d bytes", killed, fetched, size)
	if killed && fetched >= size {
		t.Errorf("the second get fetched %d bytes: it did not resume", fetched)
	}
	if fileSHA(t, out) != sum {
		t.Fatal("sha256 after the resumed get differs")
	}
	if !strings.Contains(cliOK(ctx, t, b, "file", "ls"), root) {
		t.Fatal("file ls does not list the fetched file")
	}
}
