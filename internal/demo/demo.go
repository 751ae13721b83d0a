package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fluttershy/face2face/collab"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/node"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

// DemoParams configure Demo.
type DemoParams struct {
	// Nodes is how many nodes to start (at least 5 makes a network worth
	// watching; at least 2 is required).
	Nodes int
	// Dir holds the nodes' repos; empty means a new temp dir, removed at
	// the end.
	Dir string
	// Shape of the bootstrap graph.
	Shape testnet.Shape
	// CLI is how the narration tells the user to run f2f (e.g. "f2f").
	CLI string
	// Ready, if set, is called once the network has formed.
	Ready func(*testnet.Net)
}

// Demo starts a local network of real nodes on loopback, narrates how they
// find each other through the DHT, and runs until ctx ends.
func Demo(ctx context.Context, w io.Writer, p DemoParams) (err error) {
	if p.Nodes < 2 {
		return fmt.Errorf("demo needs at least 2 nodes, got %d", p.Nodes)
	}
	if p.CLI == "" {
		p.CLI = "f2f"
	}
	dir := p.Dir
	if dir == "" {
		dir, err = os.MkdirTemp("", "f2f-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	// The recordings outlive the demo (its repos do not): a dir of their
	// own, not under the repos' temporary dir.
	recDir := filepath.Join(dir, "recordings")
	if p.Dir == "" {
		if recDir, err = os.MkdirTemp("", "f2f-demo-recordings-"); err != nil {
			return err
		}
	}

	say("face2face demo: %d nodes on loopback, each with its own repo under %s", p.Nodes, dir)
	say("(profile local: no public bootstrap, no mDNS, no port mapping; nothing leaves this machine)")
	say("")
	start := time.Now()
	uplinks := testnet.SimulatedUplinks(demoUplinks(p.Nodes), overlay.DefaultParams())
	net, err := testnet.New(dir, p.Nodes, testnet.WithShape(p.Shape), testnet.WithNodeOptionsFor(uplinks))
	if err != nil {
		return err
	}
	defer func() {
		say("stopping %d nodes...", len(net.Nodes))
		if cerr := net.Close(); cerr != nil && err == nil {
			err = cerr
		}
		say("all nodes stopped; repos removed")
		if files, _ := filepath.Glob(filepath.Join(recDir, "*")); len(files) > 0 {
			say("the recordings are kept in %s (play them with ffplay or VLC)", recDir)
		} else if p.Dir == "" {
			os.Remove(recDir)
		}
	}()
	names := map[string]string{}
	for i, nd := range net.Nodes {
		names[nd.ID().String()] = fmt.Sprintf("node%d", i)
	}
	for i, nd := range net.Nodes {
		boot := "no bootstrap peer (first node)"
		if i > 0 {
			boot = fmt.Sprintf("bootstrapped to node%d only", net.BootTo[i])
		}
		say("started node%d  %s  api %s  %s", i, nd.ID(), nd.APIAddr(), boot)
		say("               listens on %s", strings.Join(nd.Addrs(), " "))
	}
	say("")
	say("%d nodes up in %s. Each knows only its bootstrap peer (shape %s); the DHT does the rest...",
		p.Nodes, time.Since(start).Round(time.Millisecond), net.Shape)

	formed := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = net.WaitFullRoutingTables(wctx)
	cancel()
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("routing tables did not fill: %w", err)
	}
	say("")
	say("after %s every DHT routing table holds the other %d nodes:", time.Since(formed).Round(time.Millisecond), p.Nodes-1)
	for i, nd := range net.Nodes {
		say("  node%d routing table: %s", i, nameList(names, nd.RoutingTable()))
	}
	say("who is connected to whom:")
	for i, nd := range net.Nodes {
		var ids []string
		for _, pi := range nd.Peers() {
			ids = append(ids, pi.ID)
		}
		say("  node%d -> %s", i, nameList(names, ids))
	}
	if err := demoChat(ctx, say, net); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := demoFile(ctx, say, net); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := demoDocs(ctx, say, net); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := demoElection(ctx, say, net, names, uplinks, recDir); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if p.Ready != nil {
		p.Ready(net)
	}
	say("")
	say("The nodes are real daemons with local APIs. In another terminal, try:")
	say("  %s --repo %s/node%d peers", p.CLI, dir, p.Nodes-1)
	say("  %s --repo %s/node0 id", p.CLI, dir)
	say("  %s --repo %s/node2 chat send demo-room hello from the terminal", p.CLI, dir)
	say("  %s --repo %s/node%d chat log demo-room --follow", p.CLI, dir, p.Nodes-1)
	say("  %s --repo %s/node1 file ls --room demo-room", p.CLI, dir)
	say("  %s --repo %s/node1 chat send demo-room /share README.md", p.CLI, dir)
	say("  %s --repo %s/node0 mixer demo-room", p.CLI, dir)
	say("  %s --repo %s/node1 mixer demo-room --set %s   (pin any member by nickname or peer ID; --auto undoes it)",
		p.CLI, dir, demoNicks[(p.Nodes-1)%len(demoNicks)])
	say("  %s --repo %s/node0 topo --room demo-room --format svg > room.svg", p.CLI, dir)
	say("  %s --repo %s/node0 events", p.CLI, dir)
	say("  %s --repo %s/node0 media stats demo-room   (every node publishes the test media in a loop)", p.CLI, dir)
	say("  %s --repo %s/node0 media record demo-room --dir rec; then: %s --repo %s/node0 media stop demo-room", p.CLI, dir, p.CLI, dir)
	say("    (media stop ends node0's publishing too; media publish demo-room --video F.ivf --loop starts it again)")
	say("  %s --repo %s/node2 doc cat demo-room notes; %s --repo %s/node2 doc edit demo-room notes", p.CLI, dir, p.CLI, dir)
	say("  %s --repo %s/node1 todo ls demo-room; %s --repo %s/node1 agenda add demo-room Retro --at +1m", p.CLI, dir, p.CLI, dir)
	say("  %s --repo %s/node0 open demo-room   (the browser page: join the call with your camera, which replaces node0's test media)", p.CLI, dir)
	say("Running until Ctrl-C.")

	ch, unsub := net.Nodes[0].Subscribe(64)
	defer unsub()
	for {
		select {
		case <-ctx.Done():
			say("")
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if m, ok := ev.Data.(overlay.ChatMessage); ok && m.Author != net.Nodes[0].ID().String() && m.Kind == overlay.KindChat.String() {
				say("node0 got chat from %s: <%s> %s", names[m.Author], m.Nick, m.Text)
				continue
			}
			if m, ok := ev.Data.(map[string]string); ok && m["peer"] != "" && ev.Type != overlay.EventMemberJoined {
				name := names[m["peer"]]
				if name == "" {
					name = m["peer"]
				}
				say("node0: %s %s", ev.Type, name)
			}
		}
	}
}

func nameList(names map[string]string, ids []string) string {
	var out []string
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, " ")
}

var demoNicks = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

var demoLines = []string{
	"hi all, can everyone hear me?",
	"loud and clear",
	"no server anywhere, right?",
	"right: we found this room through the DHT",
	"and every line here is signed by its author",
}

// demoChat has node0 create a room, the others join it by its key, and
// each say something; it prints the log as the last node sees it.
func demoChat(ctx context.Context, say func(string, ...any), net *testnet.Net) error {
	say("")
	say("node0 creates room \"demo-room\"; the others join it by its key (found through the DHT only):")
	info, err := net.Nodes[0].Rooms().Create(ctx, "demo-room", "")
	if err != nil {
		return err
	}
	say("  room key: %s", info.Key)
	for _, nd := range net.Nodes[1:] {
		if _, err := nd.Rooms().Join(ctx, info.Key, ""); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	if err := testnet.WaitRoom(wctx, net.Nodes, "demo-room"); err != nil {
		return fmt.Errorf("room members did not meet: %w", err)
	}
	say("  all %d nodes are in the room after %s", len(net.Nodes), time.Since(start).Round(time.Millisecond))
	countChat := func(nd *node.Node) (int, error) {
		log, err := nd.Rooms().Log(wctx, "demo-room", time.Time{}, 0)
		n := 0
		for _, m := range log {
			if m.Kind == "chat" {
				n++
			}
		}
		return n, err
	}
	sent := 0
	for i, nd := range net.Nodes {
		// Each speaker waits to hear the previous one: a conversation.
		if err := testnet.WaitFor(wctx, func() (bool, error) {
			n, err := countChat(nd)
			return n >= sent, err
		}); err != nil {
			return fmt.Errorf("node%d did not hear the others: %w", i, err)
		}
		if _, err := nd.Rooms().SetNick(ctx, "demo-room", demoNicks[i%len(demoNicks)]); err != nil {
			return err
		}
		if _, err := nd.Rooms().Send(ctx, "demo-room", demoLines[i%len(demoLines)]); err != nil {
			return err
		}
		sent++
	}
	last := net.Nodes[len(net.Nodes)-1]
	var log []overlay.ChatMessage
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		log, err = last.Rooms().Log(wctx, "demo-room", time.Time{}, 0)
		if err != nil {
			return false, err
		}
		n := 0
		for _, m := range log {
			if m.Kind == "chat" {
				n++
			}
		}
		return n >= sent, nil
	}); err != nil {
		return fmt.Errorf("conversation did not arrive: %w", err)
	}
	say("the conversation as node%d sees it (same order on every node):", len(net.Nodes)-1)
	for _, m := range log {
		switch m.Kind {
		case "chat":
			say("  <%s> %s", m.Nick, m.Text)
		case "nick":
			say("  * %s is now known as %s", m.Nick, m.Text)
		case "join":
			say("  --> %s joined", m.Nick)
		}
	}
	return nil
}

// demoFileSize is the size of the file the demo shares.
const demoFileSize = 8 << 20

// demoFile: node1 shares a file in the room; the last node reads the link
// from its chat log and fetches the file by CID, from whichever members
// have it.
func demoFile(ctx context.Context, say func(string, ...any), net *testnet.Net) error {
	sharer, fetcher := net.Nodes[1], net.Nodes[len(net.Nodes)-1]
	say("")
	say("node1 shares an %d MiB file in the room (/share); node%d fetches it by the link in its chat log:", demoFileSize>>20, len(net.Nodes)-1)
	want, err := testnet.SHA256Of(testnet.RandomReader(demoFileSize, 42))
	if err != nil {
		return err
	}
	res, err := sharer.AddFile(ctx, "holiday-video.bin", "demo-room", testnet.RandomReader(demoFileSize, 42))
	if err != nil {
		return err
	}
	say("  added %s (%s)", res.Entry.CID, res.MIME)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var link overlay.SharedFile
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		fs, err := fetcher.Rooms().Files(wctx, "demo-room")
		if len(fs) > 0 {
			link = fs[0]
		}
		return len(fs) > 0, err
	}); err != nil {
		return fmt.Errorf("the link did not arrive: %w", err)
	}
	say("  node%d's log: <%s> shared %s (%d bytes, %s) -> f2f file get %s", len(net.Nodes)-1, link.Nick, link.Name, link.Size, link.MIME, link.CID)
	start := time.Now()
	_, sources, err := fetcher.GetFile(wctx, link.CID, files.GetOptions{Name: link.Name})
	if err != nil {
		return err
	}
	d := time.Since(start)
	got, err := testnet.CatSHA256(wctx, fetcher, link.CID)
	if err != nil {
		return err
	}
	if got != want {
		return errors.New("the fetched file differs from the shared one")
	}
	say("  fetched in %s from %d peer(s), every block checked; sha256 matches", d.Round(time.Millisecond), len(sources))
	return nil
}

// demoDocs: two members write the room's notes at once, one adds a todo
// item and an agenda item a few seconds ahead, and every node has both
// documents and gives the reminder.
func demoDocs(ctx context.Context, say func(string, ...any), net *testnet.Net) error {
	a, b := net.Nodes[0], net.Nodes[len(net.Nodes)-1]
	say("")
	say("collaborative documents (Automerge): node0 and node%d write the room's notes at once; node1 adds a todo and an agenda item:", len(net.Nodes)-1)
	hash, err := a.Rooms().RoomHash(ctx, "demo-room")
	if err != nil {
		return err
	}
	docs := a.Docs()
	if _, err := docs.Create(ctx, hash, "notes", collab.KindNotes); err != nil {
		return err
	}
	if _, err := b.Docs().Create(ctx, hash, "notes", collab.KindNotes); err != nil {
		return err
	}
	if _, err := docs.SetText(ctx, hash, "notes", nil, "", "# demo notes\nnode0: the DHT formed\n"); err != nil {
		return err
	}
	if _, err := b.Docs().Splice(ctx, hash, "notes", 0, 0, fmt.Sprintf("node%d was here first\n", len(net.Nodes)-1)); err != nil {
		return err
	}
	n1 := net.Nodes[1].Docs()
	for _, c := range []struct {
		name string
		kind collab.Kind
	}{{"todo", collab.KindTodo}, {"agenda", collab.KindAgenda}} {
		if _, err := n1.Create(ctx, hash, c.name, c.kind); err != nil {
			return err
		}
	}
	if _, err := n1.TodoAdd(ctx, hash, "todo", collab.TodoItem{Text: "try f2f open", Assignee: "you"}); err != nil {
		return err
	}
	at := time.Now().Add(3 * time.Second)
	if _, err := n1.AgendaAdd(ctx, hash, "agenda", collab.AgendaItem{Title: "demo wrap-up", At: at, Minutes: 5, Owner: "bob"}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var text string
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		var first string
		for i, nd := range net.Nodes {
			v, err := nd.Docs().Get(hash, "notes")
			if err != nil || len(nd.Docs().List(hash)) < 3 {
				return false, nil
			}
			if i == 0 {
				first = v.Text
			} else if v.Text != first {
				return false, nil
			}
		}
		text = first
		return strings.Contains(text, "was here first") && strings.Contains(text, "the DHT formed"), nil
	}); err != nil {
		return fmt.Errorf("the documents did not reach every node: %w", err)
	}
	say("  every node holds notes, todo and agenda; the notes merged to:")
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		say("    | %s", l)
	}
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		for _, nd := range net.Nodes {
			rs, err := nd.Docs().Reminders(hash, at.Add(-time.Minute))
			if err != nil || len(rs) == 0 {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("the reminder did not come: %w", err)
	}
	say("  at %s every node reminded: agenda: demo wrap-up (bob)", at.Format("15:04:05"))
	return nil
}

// demoUplinks gives demo node i a simulated uplink (MB/s), all different.
func demoUplinks(n int) []float64 {
	caps := make([]float64, n)
	for i := range caps {
		caps[i] = float64(4 + (i*7)%11*2)
	}
	return caps
}

// demoElection shows the mixer election in demo-room: the scores, the
// topology, and a failover when the mixer stops (it then comes back).
func demoElection(ctx context.Context, say func(string, ...any), net *testnet.Net, names map[string]string, uplinks func(int) []node.Option, recDir string) error {
	say("")
	say("mixer election: every member probes the upload to a few others over /f2f/bwprobe/1 (uplinks are")
	say("simulated here: %v MB/s), gossips a signed capability report, and all elect the best score:", demoUplinks(len(net.Nodes)))
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var in overlay.MixerInfo
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		var err error
		in, err = net.Nodes[0].Rooms().Mixer(wctx, "demo-room")
		if err != nil {
			return false, err
		}
		measured := 0
		for _, m := range in.Members {
			if m.Report != nil && m.Report.Probed > 0 {
				measured++
			}
		}
		m, _, err := testnet.AgreedMixer(wctx, net.Nodes, "demo-room")
		return measured == len(net.Nodes) && m != "", err
	}); err != nil {
		return fmt.Errorf("no mixer elected: %w", err)
	}
	for _, m := range in.Members {
		mark := ""
		if m.Mixer {
			mark = "  <- mixer"
		}
		say("  %-6s score %6d  upload %5.1f MB/s%s", names[m.ID], m.Score, float64(m.Report.UploadBps)/1e6, mark)
	}
	say("  all %d nodes agree: mixer %s, term %d (%s); topology %s", len(net.Nodes), names[in.Mixer], in.Term, in.Reason, in.Topology)
	// Members publish their telemetry every few seconds: wait for all.
	var g overlay.Graph
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		var err error
		g, err = net.Nodes[0].Rooms().Graph(wctx, "demo-room")
		if err != nil {
			return false, err
		}
		reported := map[string]bool{}
		for _, e := range g.Edges {
			reported[e.From] = true
		}
		return len(reported) == len(net.Nodes), nil
	}); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	say("topology as node0 sees it from every member's telemetry (f2f topo --room demo-room; --format svg draws it):")
	for _, n := range g.Nodes {
		var conns, mesh []string
		for _, e := range g.Edges {
			if e.From != n.ID {
				continue
			}
			if e.Kind == overlay.EdgeConn {
				conns = append(conns, names[e.To])
			} else if e.Kind == overlay.EdgeGossip {
				mesh = append(mesh, names[e.To])
			}
		}
		say("  %-6s %-7s connections: %s; gossip mesh: %s", names[n.ID], n.Role, strings.Join(conns, " "), strings.Join(mesh, " "))
	}

	// Failover: stop the mixer; the others agree on the next best.
	idx := -1
	for i, nd := range net.Nodes {
		if nd.ID().String() == in.Mixer {
			idx = i
		}
	}
	call, err := demoCallStart(wctx, say, net, names, idx, recDir)
	if err != nil {
		return err
	}
	say("stopping the mixer %s...", names[in.Mixer])
	start := time.Now()
	if err := net.Nodes[idx].Close(); err != nil {
		return err
	}
	var rest []*node.Node
	for i, nd := range net.Nodes {
		if i != idx {
			rest = append(rest, nd)
		}
	}
	var next peer.ID
	var term uint64
	if err := testnet.WaitFor(wctx, func() (bool, error) {
		var err error
		next, term, err = testnet.AgreedMixer(wctx, rest, "demo-room")
		return next != "" && next.String() != in.Mixer, err
	}); err != nil {
		return fmt.Errorf("no failover: %w", err)
	}
	after, _ := rest[0].Rooms().Mixer(wctx, "demo-room")
	say("  failover: %s after the stop began, the other %d agree on %s, term %d (%s)", time.Since(start).Round(time.Millisecond),
		len(rest), names[next.String()], term, after.Reason)
	if err := call.afterFailover(wctx, say, rest, start); err != nil {
		return err
	}
	// Restart it: it rejoins the room; the incumbent keeps the role unless
	// the returning node beats it by the margin.
	repo := filepath.Join(net.Dir, fmt.Sprintf("node%d", idx))
	nd, err := testnet.StartNode(repo, net.Nodes[0].Addrs(), append([]node.Option{node.WithLogger(discard())}, uplinks(idx)...)...)
	if err != nil {
		return fmt.Errorf("restart node%d: %w", idx, err)
	}
	net.Nodes[idx] = nd
	if err := nd.Media().Publish(call.hash, call.spec); err != nil {
		return fmt.Errorf("node%d publish after its restart: %w", idx, err)
	}
	say("  node%d restarted, rejoined demo-room and publishes again; the election continues (f2f mixer demo-room shows it)", idx)
	return nil
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// demoCall is the demo's media call: every node publishes the test media,
// one records.
type demoCall struct {
	hash  string
	rec   *node.Node
	names map[string]string
	dir   string
	spec  media.PublishSpec
}

func demoCallStart(ctx context.Context, say func(string, ...any), net *testnet.Net, names map[string]string, mixer int, recDir string) (*demoCall, error) {
	dir := filepath.Join(net.Dir, "media")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ivf, ogg, err := testnet.WriteTestMedia(dir)
	if err != nil {
		return nil, err
	}
	recIdx := (mixer + 1) % len(net.Nodes)
	rec := net.Nodes[recIdx]
	hash, err := rec.Rooms().RoomHash(ctx, "demo-room")
	if err != nil {
		return nil, err
	}
	c := &demoCall{hash: hash, rec: rec, names: names, dir: recDir, spec: media.PublishSpec{Video: ivf, Audio: ogg, Loop: true}}
	say("")
	say("live media over WebRTC (pion), signaled over /f2f/signal/1: every node publishes a VP8 video and an Opus")
	say("tone (f2f media publish demo-room --video test.ivf --audio test.ogg --loop); node%d records them", recIdx)
	say("(f2f media record demo-room --dir %s):", c.dir)
	if err := rec.Media().Record(hash, c.dir); err != nil {
		return nil, err
	}
	for i, nd := range net.Nodes {
		if err := nd.Media().Publish(hash, c.spec); err != nil {
			return nil, fmt.Errorf("node%d publish: %w", i, err)
		}
	}
	start := time.Now()
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, o := range net.Nodes {
			if o != rec && testnet.RecordedFrames(rec, hash, o, "video") < 30 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("media did not arrive: %w", err)
	}
	st := rec.Media().Stats(hash)
	say("  after %s node%d has 30+ frames from each of the other %d publishers; %s topology, mixer %s", time.Since(start).Round(time.Millisecond),
		recIdx, len(net.Nodes)-1, st.Mode, names[st.Mixer])
	for _, e := range net.Nodes[mixer].Media().Stats(hash).Edges {
		if e.Direction == "send" {
			say("  mixer %s -> %-6s %2d tracks (forwarded and its own), %6.0f kbit/s", names[st.Mixer], names[e.Peer], len(e.Tracks), sumKbps(e.Tracks))
		}
	}
	return c, nil
}

func sumKbps(ts []media.EdgeTrack) float64 {
	var k float64
	for _, t := range ts {
		k += t.Kbps
	}
	return k
}

func (c *demoCall) afterFailover(ctx context.Context, say func(string, ...any), rest []*node.Node, killed time.Time) error {
	before := map[*node.Node]uint64{}
	for _, o := range rest {
		before[o] = testnet.RecordedFrames(c.rec, c.hash, o, "video")
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, o := range rest {
			if o != c.rec && testnet.RecordedFrames(c.rec, c.hash, o, "video") < before[o]+30 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("media did not resume: %w", err)
	}
	pause := "no pause of 250 ms or more"
	if g := testnet.MaxGapSince([]*node.Node{c.rec}, c.hash, killed); g > 0 {
		pause = "longest pause in received video " + g.Round(time.Millisecond).String()
	}
	say("  media rerouted through the new mixer without anyone rejoining; %s", pause)
	// Stop ends the recorder's publishing too: it publishes again.
	res, err := c.rec.Media().Stop(c.hash)
	if err != nil {
		return err
	}
	if err := c.rec.Media().Publish(c.hash, c.spec); err != nil {
		return err
	}
	say("  recordings, kept after the demo in %s (play them with ffplay or VLC):", c.dir)
	for _, f := range res.Files {
		unit := "frames"
		if f.Kind == "audio" {
			unit = "packets"
		}
		say("    %-6s %s  %d %s", c.names[f.Origin], filepath.Base(f.Path), f.Frames, unit)
	}
	return nil
}
