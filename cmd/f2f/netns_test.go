package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/testnet"
)

// netns runs `ip args...` and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestMediaAcrossNetworkNamespaces: two daemons in two network namespaces
// the test makes, joined by a veth pair (10.231.N.1 and .2, no loopback
// between them): a room through the DHT, then WebRTC media from one to the
// other, recorded and decoded.
func TestMediaAcrossNetworkNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("needs iproute2 (apt-get install iproute2): %v", err)
	}
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	tag := fmt.Sprintf("f2f%d", os.Getpid()%100000)
	subnet := fmt.Sprintf("10.231.%d", rand.IntN(250)+1)
	nsA, nsB := tag+"a", tag+"b"
	for _, ns := range []string{nsA, nsB} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "link", "add", tag+"va", "netns", nsA, "type", "veth", "peer", "name", tag+"vb", "netns", nsB)
	ipCmd(t, "-n", nsA, "addr", "add", subnet+".1/24", "dev", tag+"va")
	ipCmd(t, "-n", nsB, "addr", "add", subnet+".2/24", "dev", tag+"vb")
	ipCmd(t, "-n", nsA, "link", "set", tag+"va", "up")
	ipCmd(t, "-n", nsB, "link", "set", tag+"vb", "up")

	dir := t.TempDir()
	// The f2f commands of each namespace run through a wrapper (ip netns
	// exec execs f2f, so signals reach the daemon).
	wrap := func(ns string) string {
		p := filepath.Join(dir, ns+".sh")
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexec ip netns exec "+ns+" "+f2fBin+" \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	binA, binB := wrap(nsA), wrap(nsB)
	repoA, repoB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, r := range []struct{ repo, ip string }{{repoA, subnet + ".1"}, {repoB, subnet + ".2"}} {
		if err := testnet.EnsureRepo(r.repo); err != nil {
			t.Fatal(err)
		}
		var cfg node.Config
		if err := json.Unmarshal(readFile(t, r.repo, node.ConfigFile), &cfg); err != nil {
			t.Fatal(err)
		}
		cfg.Media.ICEAddresses, cfg.Media.LoopbackOnly = []string{r.ip}, false
		b, _ := json.MarshalIndent(cfg, "", "  ")
		if err := os.WriteFile(filepath.Join(r.repo, node.ConfigFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(bin, repo string, args ...string) string {
		t.Helper()
		r, err := testnet.RunCLI(ctx, bin, repo, args...)
		if err != nil || r.Code != 0 {
			t.Fatalf("f2f %v: %v %d\n%s%s", args, err, r.Code, r.Stdout, r.Stderr)
		}
		return r.Stdout
	}
	pa, err := testnet.StartDaemon(ctx, binA, repoA, "--listen", "/ip4/"+subnet+".1/tcp/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pa.Stop(20 * time.Second) })
	var boot string
	for _, l := range strings.Split(run(binA, repoA, "id"), "\n") {
		if strings.HasPrefix(l, "/ip4/"+subnet+".1/tcp/") {
			boot = strings.TrimSpace(l)
		}
	}
	if boot == "" {
		t.Fatal("no address in the namespace")
	}
	pb, err := testnet.StartDaemon(ctx, binB, repoB, "--listen", "/ip4/"+subnet+".2/tcp/0", "--bootstrap", boot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pb.Stop(20 * time.Second) })

	key := lastLine(run(binA, repoA, "room", "create", "ns"))
	run(binB, repoB, "room", "join", key)
	ivf, ogg, err := testnet.WriteTestMedia(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "rec")
	run(binB, repoB, "media", "record", "ns", "--dir", rec)
	run(binA, repoA, "media", "publish", "ns", "--video", ivf, "--audio", ogg, "--loop")
	idA := strings.TrimSpace(strings.SplitN(run(binA, repoA, "id"), "\n", 2)[0])
	var st api.MediaStats
	wctx, wcancel := context.WithTimeout(ctx, 40*time.Second)
	defer wcancel()
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		if err := json.Unmarshal([]byte(run(binB, repoB, "--json", "media", "stats", "ns")), &st); err != nil {
			return false, err
		}
		n := 0
		for _, f := range st.Files {
			if f.Origin == idA && f.Frames >= 60 {
				n++
			}
		}
		return n == 2, nil
	}); err != nil {
		t.Logf("A: %s", run(binA, repoA, "media", "stats", "ns"))
		t.Logf("B: %s", run(binB, repoB, "media", "stats", "ns"))
		t.Logf("B peers: %s", run(binB, repoB, "room", "peers", "ns"))
		b, _ := os.ReadFile(repoA + ".log")
		t.Logf("A log: %s", b)
		t.Fatalf("no media across the namespaces: %v (%+v)", err, st)
	}
	out := run(binB, repoB, "media", "stop", "ns")
	for _, kind := range []string{"video.ivf", "audio.ogg"} {
		path := filepath.Join(rec, idA+"-"+kind)
		if !strings.Contains(out, path) {
			t.Fatalf("stop output lacks %s:\n%s", path, out)
		}
		if err := testnet.FFmpegDecode(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
}
