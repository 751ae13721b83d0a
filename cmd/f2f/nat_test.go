package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// labNode is one daemon of a NAT lab test.
type labNode struct {
	t    testing.TB
	name string
	host *testnet.LabHost
	bin  string // f2f in the host's namespace
	repo string
	proc *testnet.Proc
	id   string
}

// run runs f2f in the node's namespace and fails the test on an error.
func (n *labNode) run(ctx context.Context, args ...string) string {
	n.t.Helper()
	r, err := testnet.RunCLI(ctx, n.bin, n.repo, args...)
	if err != nil || r.Code != 0 {
		n.t.Fatalf("%s: f2f %v: %v %d\n%s%s", n.name, args, err, r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// json runs f2f --json args and decodes its output into v.
func (n *labNode) json(ctx context.Context, v any, args ...string) {
	n.t.Helper()
	if err := json.Unmarshal([]byte(n.run(ctx, append([]string{"--json"}, args...)...)), v); err != nil {
		n.t.Fatalf("%s: f2f --json %v: %v", n.name, args, err)
	}
}

func (n *labNode) logTail() string {
	b, _ := os.ReadFile(n.repo + ".log")
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// natTestLab is a NAT lab with its daemons: two public nodes (the first
// one creates the room; the homes know only its address) and homes.
type natTestLab struct {
	tb    testing.TB
	ctx   context.Context
	lab   *testnet.NATLab
	dir   string
	boot  []string
	key   string
	nodes []*labNode
}

// natLab builds a lab with two public nodes and one home per kind, starts
// a daemon on each and joins every node to one room. It returns the nodes
// (public ones first) and the room key.
func natLab(t testing.TB, ctx context.Context, kinds ...testnet.NATKind) ([]*labNode, string) {
	l := newNATTestLab(t, ctx)
	for i, k := range kinds {
		l.addHome("home"+string(rune('A'+i))+"-"+string(k), k, 0)
	}
	return l.nodes, l.key
}

func newNATTestLab(t testing.TB, ctx context.Context) *natTestLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the NAT lab needs root for network namespaces (CI runs as root)")
	}
	l := &natTestLab{tb: t, ctx: ctx, dir: t.TempDir()}
	var err error
	if l.lab, err = testnet.NewNATLab(l.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.lab.Close)
	for i := range 2 {
		h, err := l.lab.AddPublic()
		if err != nil {
			t.Fatal(err)
		}
		n := l.start("public"+string(rune('1'+i)), h)
		if i == 0 {
			l.boot = []string{"/ip4/" + h.IP + "/tcp/" + testnet.LabPort + "/p2p/" + n.id}
			l.key = lastLine(n.run(ctx, "room", "create", "nat"))
		} else {
			n.run(ctx, "room", "join", l.key)
		}
	}
	return l
}

// addHome starts a daemon in a new home behind a router of kind k (its
// uplink capped at uplinkKbit when > 0) and joins it to the room.
func (l *natTestLab) addHome(name string, k testnet.NATKind, uplinkKbit int) *labNode {
	l.tb.Helper()
	h, err := l.lab.AddHome(k, uplinkKbit)
	if err != nil {
		l.tb.Fatal(err)
	}
	n := l.start(name, h)
	n.run(l.ctx, "room", "join", l.key)
	return n
}

// start starts a daemon on h.
func (l *natTestLab) start(name string, h *testnet.LabHost) *labNode {
	t, ctx := l.tb, l.ctx
	t.Helper()
	bin, err := h.Wrap(f2fBin)
	if err != nil {
		t.Fatal(err)
	}
	n := &labNode{t: t, name: name, host: h, bin: bin, repo: filepath.Join(l.dir, name)}
	if err := testnet.InitLabRepo(n.repo, l.boot); err != nil {
		t.Fatal(err)
	}
	var args []string
	if os.Getenv("F2F_DEBUG_LOGS") != "" {
		args = []string{"--log-level", "debug"}
	}
	n.proc, err = testnet.StartDaemon(ctx, bin, n.repo, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = n.proc.Stop(20 * time.Second)
		// F2F_DEBUG_LOGS=DIR keeps the daemons' whole logs there (with
		// GOLOG_LOG_LEVEL=error,p2p-holepunch=debug, say).
		if d := os.Getenv("F2F_DEBUG_LOGS"); d != "" {
			b, _ := os.ReadFile(n.repo + ".log")
			_ = os.WriteFile(filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_")+"-"+n.name+".log"), b, 0o644)
		}
	})
	var info api.ID
	n.json(ctx, &info, "id")
	n.id = info.ID
	l.nodes = append(l.nodes, n)
	return n
}

// waitLab waits for cond, dumping the nodes' logs on failure.
func waitLab(t testing.TB, ctx context.Context, d time.Duration, what string, nodes []*labNode, cond func() (bool, error)) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := testnet.WaitFor(wctx, cond); err != nil {
		for _, n := range nodes {
			r, _ := testnet.RunCLI(ctx, n.bin, n.repo, "id")
			p, _ := testnet.RunCLI(ctx, n.bin, n.repo, "peers")
			t.Logf("%s: %s%s%s%s\nlog tail:\n%s", n.name, r.Stdout, r.Stderr, p.Stdout, p.Stderr, n.logTail())
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// chatBothWays sends a line from a to b and back and returns how long
// each took to show in the other's log.
func chatBothWays(t *testing.T, ctx context.Context, all []*labNode, a, b *labNode) {
	t.Helper()
	for _, d := range [][2]*labNode{{a, b}, {b, a}} {
		from, to := d[0], d[1]
		text := "hello from " + from.name
		from.run(ctx, "chat", "send", "nat", text)
		start := time.Now()
		waitLab(t, ctx, 90*time.Second, to.name+" gets "+from.name+"'s chat line", all, func() (bool, error) {
			return strings.Contains(to.run(ctx, "chat", "log", "nat"), text), nil
		})
		t.Logf("chat %s -> %s: %v after sending", from.name, to.name, time.Since(start).Round(time.Millisecond))
	}
}

// fileBetween adds a 10 MiB file at a and gets it at b, checking its
// bytes.
func fileBetween(t *testing.T, ctx context.Context, a, b *labNode) {
	t.Helper()
	data := make([]byte, 10<<20)
	_, _ = rand.Read(data)
	src := filepath.Join(t.TempDir(), "ten.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cid := lastLine(a.run(ctx, "file", "add", src, "--room", "nat"))
	dst := filepath.Join(t.TempDir(), "got.bin")
	start := time.Now()
	b.run(ctx, "file", "get", cid, "-o", dst)
	got, err := os.ReadFile(dst)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("%s got a different file from %s (%d bytes, %v)", b.name, a.name, len(got), err)
	}
	t.Logf("10 MiB file %s -> %s in %v (%.1f MB/s)", a.name, b.name, time.Since(start).Round(time.Millisecond),
		float64(len(data))/1e6/time.Since(start).Seconds())
}

// mediaBetween has a publish test media and b record it; it returns the
// ICE path of b's receiving edge from a after checking that b recorded at
// least 90 % of the video frames a sent during 10 s.
func mediaBetween(t *testing.T, ctx context.Context, all []*labNode, a, b *labNode) string {
	t.Helper()
	ivf, ogg, err := testnet.WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b.run(ctx, "media", "record", "nat", "--dir", filepath.Join(t.TempDir(), "rec"))
	start := time.Now()
	a.run(ctx, "media", "publish", "nat", "--video", ivf, "--audio", ogg, "--loop")
	frames := func() (sent, got uint64, path string) {
		var sa, sb api.MediaStats
		a.json(ctx, &sa, "media", "stats", "nat")
		b.json(ctx, &sb, "media", "stats", "nat")
		if sa.Publishing != nil {
			sent = sa.Publishing.VideoFrames
		}
		for _, f := range sb.Files {
			if f.Origin == a.id && strings.HasSuffix(f.Path, "video.ivf") {
				got = f.Frames
			}
		}
		for _, e := range sb.Edges {
			if e.Peer == a.id && e.Direction == "recv" {
				path = e.Path
			}
		}
		return
	}
	waitLab(t, ctx, 90*time.Second, b.name+" records "+a.name+"'s video", all, func() (bool, error) {
		_, got, _ := frames()
		return got >= 30, nil
	})
	t.Logf("media %s -> %s: first 30 frames %v after publishing", a.name, b.name, time.Since(start).Round(time.Millisecond))
	s0, g0, _ := frames()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	<-wctx.Done()
	cancel()
	s1, g1, path := frames()
	ratio := float64(g1-g0) / float64(max(s1-s0, 1))
	t.Logf("media %s -> %s over %s: %d of %d frames (%.1f %%)", a.name, b.name, path, g1-g0, s1-s0, 100*ratio)
	if ratio < 0.9 {
		t.Fatalf("%s recorded %d of the %d frames %s sent in 10 s (path %q)", b.name, g1-g0, s1-s0, a.name, path)
	}
	a.run(ctx, "media", "stop", "nat")
	b.run(ctx, "media", "stop", "nat")
	return path
}

// connTo returns a's connection to b as `f2f peers` shows it.
func connTo(ctx context.Context, a, b *labNode) (api.Peer, bool) {
	var peers []api.Peer
	a.json(ctx, &peers, "peers")
	for _, p := range peers {
		if p.ID == b.id {
			return p, true
		}
	}
	return api.Peer{}, false
}

// TestNATEndpointIndependent: two homes behind different
// endpoint-independent-mapping NATs (port-restricted MASQUERADE), knowing
// only a public node's address, join a room by key, chat, get a 10 MiB
// file from each other and exchange media; their libp2p connection ends
// up direct (hole punched), and so does their media.
func TestNATEndpointIndependent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 6*time.Minute)
	// Uplinks of different speeds (tc tbf on the routers).
	l := newNATTestLab(t, ctx)
	a := l.addHome("homeA-port-restricted-50M", testnet.NATPortRestricted, 50_000)
	b := l.addHome("homeB-port-restricted-20M", testnet.NATPortRestricted, 20_000)
	nodes := l.nodes
	joined := time.Now()
	chatBothWays(t, ctx, nodes, a, b)
	t.Logf("join to both chat lines: %v", time.Since(joined).Round(time.Millisecond))
	waitLab(t, ctx, 120*time.Second, "a direct (hole-punched) connection between the homes", nodes, func() (bool, error) {
		p, ok := connTo(ctx, a, b)
		return ok && !p.Relayed, nil
	})
	p, _ := connTo(ctx, a, b)
	t.Logf("%s -> %s: direct connection %s, %v after joining", a.name, b.name, p.Addr, time.Since(joined).Round(time.Millisecond))
	fileBetween(t, ctx, a, b)
	fileBetween(t, ctx, b, a)
	path := mediaBetween(t, ctx, nodes, a, b)
	if path == "relay" {
		t.Fatalf("media between endpoint-independent NATs went through TURN")
	}
	mediaBetween(t, ctx, nodes, b, a)
}

// TestNATSymmetric: two homes behind symmetric NATs (a new random port per
// destination) cannot punch a hole: chat and files go through a public
// member's relay, media through its TURN server.
func TestNATSymmetric(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 6*time.Minute)
	nodes, _ := natLab(t, ctx, testnet.NATSymmetric, testnet.NATSymmetric)
	a, b := nodes[2], nodes[3]
	joined := time.Now()
	chatBothWays(t, ctx, nodes, a, b)
	t.Logf("join to both chat lines: %v", time.Since(joined).Round(time.Millisecond))
	// The homes connect through a public member's relay (they find each
	// other's relay addresses in the room's rendezvous); hole punching
	// cannot work between symmetric NATs.
	waitLab(t, ctx, 120*time.Second, "a relayed connection between the homes", nodes, func() (bool, error) {
		p, ok := connTo(ctx, a, b)
		return ok && p.Relayed, nil
	})
	p, _ := connTo(ctx, a, b)
	t.Logf("%s -> %s: relayed connection %s, %v after joining", a.name, b.name, p.Addr, time.Since(joined).Round(time.Millisecond))
	fileBetween(t, ctx, a, b)
	if path := mediaBetween(t, ctx, nodes, a, b); path != "relay" {
		t.Fatalf("media between symmetric NATs took path %q, want relay (TURN)", path)
	}
	var turned uint64
	for _, n := range nodes[:2] {
		var info api.ID
		n.json(ctx, &info, "id")
		t.Logf("%s: relay service %d bytes, TURN %d bytes (%s)", n.name, info.NAT.RelayServiceBytes, info.NAT.TURNBytes, info.NAT.Summary)
		turned += info.NAT.TURNBytes
	}
	if turned == 0 {
		t.Fatal("no public member relayed any TURN bytes")
	}
	if p, _ := connTo(ctx, a, b); !p.Relayed {
		t.Fatalf("the homes behind symmetric NATs got a direct connection %s", p.Addr)
	}
	// The election weighs reachability: members that reach others only
	// through a relay are not elected while a public member can be.
	waitLab(t, ctx, 60*time.Second, "a public member elected mixer", nodes, func() (bool, error) {
		var mx api.MixerInfo
		a.json(ctx, &mx, "mixer", "nat")
		return mx.Mixer == nodes[0].id || mx.Mixer == nodes[1].id, nil
	})

	// The public member whose TURN carries the call vanishes mid-call:
	// the media reroutes through the other one's TURN, the homes keep
	// their reservation on it and chat on.
	mediaStart(t, ctx, a, b)
	var dead, alive *labNode
	waitLab(t, ctx, 60*time.Second, "a TURN allocation carrying the call", nodes, func() (bool, error) {
		for i, n := range nodes[:2] {
			var info api.ID
			n.json(ctx, &info, "id")
			if info.NAT.TURNAllocations > 0 {
				dead, alive = n, nodes[1-i]
				return true, nil
			}
		}
		return false, nil
	})
	waitLab(t, ctx, 60*time.Second, "the call's video at "+b.name, nodes, func() (bool, error) {
		return recvFrames(ctx, a, b) >= 30, nil
	})
	// Frames counted across the restart of the recorded stream (its count
	// starts over when the new edge brings it again).
	last, advanced := recvFrames(ctx, a, b), uint64(0)
	dead.proc.Kill()
	killed := time.Now()
	survivors := slices.DeleteFunc(slices.Clone(nodes), func(n *labNode) bool { return n == dead })
	waitLab(t, ctx, 120*time.Second, "the video flowing again after the TURN server died", survivors, func() (bool, error) {
		cur := recvFrames(ctx, a, b)
		if cur >= last {
			advanced += cur - last
		} else {
			advanced += cur
		}
		last = cur
		return advanced >= 60, nil
	})
	t.Logf("%s (carrying the TURN allocation) killed: %s's video from %s advanced 60 frames (2 s of video) %v later",
		dead.name, b.name, a.name, time.Since(killed).Round(time.Millisecond))
	var st api.MediaStats
	b.json(ctx, &st, "media", "stats", "nat")
	for _, e := range st.Edges {
		if e.Peer == a.id && e.Direction == "recv" && e.Path != "relay" {
			t.Errorf("after the failover the media takes path %q", e.Path)
		}
	}
	var info api.ID
	a.json(ctx, &info, "id")
	for _, r := range info.NAT.RelayAddresses {
		if strings.Contains(r, dead.id) {
			t.Errorf("%s still advertises a relay address through the dead %s: %s", a.name, dead.name, r)
		}
	}
	if len(info.NAT.RelayAddresses) == 0 {
		t.Errorf("%s has no relay address left (%s)", a.name, info.NAT.Summary)
	}
	text := "after the failover"
	a.run(ctx, "chat", "send", "nat", text)
	waitLab(t, ctx, 60*time.Second, "chat after the failover", survivors, func() (bool, error) {
		return strings.Contains(b.run(ctx, "chat", "log", "nat"), text), nil
	})
	var ai api.ID
	alive.json(ctx, &ai, "id")
	t.Logf("%s after the failover: relay service %d bytes, TURN %d bytes, %d allocations", alive.name,
		ai.NAT.RelayServiceBytes, ai.NAT.TURNBytes, ai.NAT.TURNAllocations)
}

// mediaStart has a publish test media in a loop and b record it.
func mediaStart(t *testing.T, ctx context.Context, a, b *labNode) {
	t.Helper()
	ivf, ogg, err := testnet.WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b.run(ctx, "media", "record", "nat", "--dir", filepath.Join(t.TempDir(), "rec"))
	a.run(ctx, "media", "publish", "nat", "--video", ivf, "--audio", ogg, "--loop")
}

// recvFrames is how many video frames of a's b has recorded.
func recvFrames(ctx context.Context, a, b *labNode) uint64 {
	var st api.MediaStats
	b.json(ctx, &st, "media", "stats", "nat")
	for _, f := range st.Files {
		if f.Origin == a.id && strings.HasSuffix(f.Path, "video.ivf") {
			return f.Frames
		}
	}
	return 0
}

// BenchmarkNATHolePunch measures hole punching between a home of one NAT
// kind and a new member joining from a home of another kind, b.N attempts
// per pair (each a new home, identity and port, so no router keeps a
// mapping from an attempt before):
//
//	go test -run '^$' -bench NATHolePunch -benchtime 20x ./cmd/f2f
//
// It reports the share of attempts that ended in a direct connection
// (within 30 s of the first, relayed one), and the median times from the
// new member's `room join` to the first connection between the two, to
// the direct one, to its first chat line at the other home and to the
// first video frame from the other home (which publishes all along).
func BenchmarkNATHolePunch(b *testing.B) {
	kinds := []testnet.NATKind{testnet.NATFullCone, testnet.NATPortRestricted, testnet.NATSymmetric}
	for i, ka := range kinds {
		for _, kb := range kinds[i:] {
			b.Run(string(ka)+"_"+string(kb), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(b.Context(), time.Duration(b.N+2)*2*time.Minute)
				defer cancel()
				l := newNATTestLab(b, ctx)
				a := l.addHome("A-"+string(ka), ka, 0)
				// A settles first: it knows it is public, or holds a relay
				// reservation, as a member who has been in the room a while.
				waitLab(b, ctx, 90*time.Second, "A reachable", l.nodes, func() (bool, error) {
					var info api.ID
					a.json(ctx, &info, "id")
					return info.NAT.Reachability == "public" && len(info.NAT.PublicAddresses) > 0 || len(info.NAT.RelayAddresses) > 0, nil
				})
				ivf, ogg, err := testnet.WriteTestMedia(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				a.run(ctx, "media", "publish", "nat", "--video", ivf, "--audio", ogg, "--loop")
				var direct int
				var toConn, toDirect, toChat, toMedia []time.Duration
				for n := range b.N {
					h, err := l.lab.AddHome(kb, 0)
					if err != nil {
						b.Fatal(err)
					}
					nb := l.start(fmt.Sprintf("B%d-%s", n, kb), h)
					joined := time.Now()
					nb.run(ctx, "room", "join", l.key)
					nb.run(ctx, "media", "record", "nat", "--dir", filepath.Join(l.dir, nb.name+"-rec"))
					line := fmt.Sprintf("hello %d", n)
					nb.run(ctx, "chat", "send", "nat", line)
					var connAt, directAt, chatAt, mediaAt time.Duration
					wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
					_ = testnet.WaitFor(wctx, func() (bool, error) {
						now := time.Since(joined)
						p, ok := connTo(ctx, a, nb)
						if ok && connAt == 0 {
							connAt = now
						}
						if ok && !p.Relayed && directAt == 0 {
							directAt = now
						}
						if chatAt == 0 && strings.Contains(a.run(ctx, "chat", "log", "nat"), line) {
							chatAt = now
						}
						if mediaAt == 0 && recvFrames(ctx, a, nb) > 0 {
							mediaAt = now
						}
						settled := directAt > 0 || connAt > 0 && now-connAt > 30*time.Second
						return settled && chatAt > 0 && mediaAt > 0, nil
					})
					wcancel()
					for _, x := range []struct {
						at  time.Duration
						all *[]time.Duration
					}{{connAt, &toConn}, {directAt, &toDirect}, {chatAt, &toChat}, {mediaAt, &toMedia}} {
						if x.at > 0 {
							*x.all = append(*x.all, x.at)
						}
					}
					if directAt > 0 {
						direct++
					}
					b.Logf("attempt %d: connection %v, direct %v, chat %v, first frame %v", n, connAt, directAt, chatAt, mediaAt)
					_ = nb.proc.Stop(20 * time.Second)
				}
				b.ReportMetric(100*float64(direct)/float64(b.N), "%direct")
				b.ReportMetric(medianSeconds(toConn), "s-to-conn")
				b.ReportMetric(medianSeconds(toDirect), "s-to-direct")
				b.ReportMetric(medianSeconds(toChat), "s-to-chat")
				b.ReportMetric(medianSeconds(toMedia), "s-to-frame")
			})
		}
	}
}

func medianSeconds(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2].Seconds()
}
