package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
	"github.com/fluttershy/face2face/testnet"
)

// TestTopoSVGOfSixNodeRoom: the SVG and JSON `f2f topo --room` prints for a
// 6-node room hold the six members and one line per pair of members that
// are really connected (a full mesh: 15), as their libp2p hosts say.
func TestTopoSVGOfSixNodeRoom(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := overlay.DefaultParams()
	p.Caps.TelemetryInterval = 500 * time.Millisecond
	net, err := testnet.New(t.TempDir(), 6, testnet.WithNodeOptionsFor(testnet.SimulatedUplinks(nil, p)))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	info, err := testnet.FormRoom(ctx, net.Nodes, "six")
	if err != nil {
		t.Fatal(err)
	}
	// The real connections between members, as unordered pairs, and the
	// ones drawn from the members' telemetry: each member reports every
	// 0.5 s, so the two agree once the full mesh of connections stands.
	connected := func() map[string]bool {
		real := map[string]bool{}
		for _, a := range net.Nodes {
			for _, b := range net.Nodes {
				if a.ID() < b.ID() && len(a.Host().Network().ConnsToPeer(b.ID())) > 0 {
					real[a.ID().String()+" "+b.ID().String()] = true
				}
			}
		}
		return real
	}
	c, err := api.NewClient(net.Nodes[0].RepoPath())
	if err != nil {
		t.Fatal(err)
	}
	var g api.Graph
	var real, drawn map[string]bool
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		var err error
		if g, err = c.Topo(ctx, info.Key); err != nil {
			return false, err
		}
		real, drawn = connected(), map[string]bool{}
		for _, e := range undirected(g) {
			if e.kind == api.EdgeConn {
				drawn[e.a+" "+e.b] = true
			}
		}
		if len(g.Nodes) != 6 || len(real) != 15 || len(drawn) != 15 {
			return false, nil
		}
		for k := range drawn {
			if !real[k] {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("graph never matched the connections: %d real, %d drawn: %v", len(real), len(drawn), err)
	}

	// JSON round trip, then the SVG: well-formed, six member circles
	// titled by peer ID, and a line per drawn edge.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(g); err != nil {
		t.Fatal(err)
	}
	var back api.Graph
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Nodes) != 6 || len(back.Edges) != len(g.Edges) {
		t.Fatalf("JSON round trip: %v", err)
	}
	buf.Reset()
	if err := writeSVG(&buf, g); err != nil {
		t.Fatal(err)
	}
	type elem struct {
		XMLName xml.Name
		Title   string `xml:"title"`
		Items   []elem `xml:",any"`
	}
	var root elem
	if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
		t.Fatalf("SVG not well-formed: %v", err)
	}
	members, conns := 0, 0
	var walk func(e elem)
	walk = func(e elem) {
		switch {
		case e.XMLName.Local == "g" && e.Title != "":
			for _, n := range net.Nodes {
				if n.ID().String() == e.Title {
					members++
				}
			}
		case e.XMLName.Local == "line" && strings.HasPrefix(e.Title, api.EdgeConn):
			conns++
		}
		for _, c := range e.Items {
			walk(c)
		}
	}
	walk(root)
	if members != 6 || conns != len(drawn) {
		t.Fatalf("SVG has %d member nodes and %d connection lines, want 6 and %d", members, conns, len(drawn))
	}
}

// Media edges are drawn as arrows from sender to receiver with their
// bytes/s, in SVG and DOT, whichever end reported them.
func TestTopoMediaEdgesDirected(t *testing.T) {
	g := api.Graph{Room: "r", Name: "call", Topology: "mesh", Nodes: []api.GraphNode{
		{ID: "A", Nick: "alice", Role: "me"}, {ID: "B", Nick: "bob", Role: "member"}},
		Edges: []api.GraphEdge{
			{From: "B", To: "A", Kind: api.EdgeMedia, Outbound: true, OutBps: 62500},
			{From: "A", To: "B", Kind: api.EdgeConn, Transport: "tcp", RTTMS: 1.5, InBps: 70000},
		}}
	es := undirected(g)
	var media *topoEdge
	for i := range es {
		if es[i].kind == api.EdgeMedia {
			media = &es[i]
		}
	}
	if media == nil || media.a != "B" || media.b != "A" || !media.directed || media.label != "media 62.5kB/s" {
		t.Fatalf("media edge %+v, want B→A, media 62.5kB/s", media)
	}
	var svg, dot strings.Builder
	if err := writeSVG(&svg, g); err != nil {
		t.Fatal(err)
	}
	if err := writeDOT(&dot, g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg.String(), `marker-end="url(#arrow)"`) || !strings.Contains(svg.String(), ">media 62.5kB/s</text>") {
		t.Errorf("svg lacks the media arrow or its rate:\n%s", svg.String())
	}
	if !strings.Contains(dot.String(), `"B" -- "A" [label="media 62.5kB/s", color="#d04040", style=bold, dir=forward]`) {
		t.Errorf("dot:\n%s", dot.String())
	}
	var x any
	if err := xml.Unmarshal([]byte(svg.String()), &x); err != nil {
		t.Errorf("svg is not well-formed XML: %v", err)
	}
	var help bytes.Buffer
	if code := run([]string{"topo", "--help"}, &help, &help); code != 0 || strings.Contains(help.String(), "later") {
		t.Errorf("topo --help: %s", help.String())
	}
}
