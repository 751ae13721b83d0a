package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/api"
)

// topoEdge is an edge of the drawing: the two ends, its kind and the best
// figures either end reported. Connections and the gossip mesh are
// undirected (a < b); media flows one way, from a (the sender) to b.
type topoEdge struct {
	a, b     string
	kind     string
	label    string
	weight   float64
	directed bool
}

// undirected merges the edges both ends report into one per pair and kind
// (per direction for media).
func undirected(g api.Graph) []topoEdge {
	idx := map[string]int{}
	var out []topoEdge
	for _, e := range g.Edges {
		a, b := e.From, e.To
		directed := e.Kind == api.EdgeMedia
		if directed && !e.Outbound {
			a, b = b, a // reported by the receiver
		}
		if !directed && b < a {
			a, b = b, a
		}
		key := e.Kind + " " + a + " " + b
		rate := float64(e.InBps + e.OutBps)
		label := ""
		switch e.Kind {
		case api.EdgeConn:
			label = strings.TrimSpace(fmt.Sprintf("%s %s %s", e.Transport, rttText(e.RTTMS), rateText(rate)))
		case api.EdgeMedia:
			label = rateText(rate)
			if label == "" {
				label = "0B/s"
			}
			label = "media " + label
		}
		if i, ok := idx[key]; ok {
			if rate > out[i].weight {
				out[i].weight, out[i].label = rate, label
			}
			continue
		}
		idx[key] = len(out)
		out = append(out, topoEdge{a: a, b: b, kind: e.Kind, label: label, weight: rate, directed: directed})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind < out[j].kind
		}
		if out[i].a != out[j].a {
			return out[i].a < out[j].a
		}
		return out[i].b < out[j].b
	})
	return out
}

func rttText(ms float64) string {
	if ms <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1fms", ms)
}

func rateText(bps float64) string {
	switch {
	case bps <= 0:
		return ""
	case bps >= 1e6:
		return fmt.Sprintf("%.1fMB/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1fkB/s", bps/1e3)
	}
	return fmt.Sprintf("%.0fB/s", bps)
}

func nodeLabel(n api.GraphNode) string {
	role := n.Role
	if n.Role == "me" && n.Mixer {
		role = "me, mixer"
	}
	return n.Nick + " (" + role + ")"
}

func nodeColor(n api.GraphNode) string {
	switch {
	case n.Mixer:
		return "#f0a830"
	case n.Role == "me":
		return "#5b9bd5"
	case n.Role == "member":
		return "#8fc98f"
	}
	return "#cccccc"
}

var edgeStyle = map[string]struct{ color, dash, dot string }{
	api.EdgeConn:   {"#777777", "", "solid"},
	api.EdgeGossip: {"#2e8b57", "6 4", "dashed"},
	api.EdgeMedia:  {"#d04040", "", "bold"},
}

func graphTitle(g api.Graph) string {
	if g.Room == "" {
		return fmt.Sprintf("this node's connections (%d peers)", len(g.Nodes)-1)
	}
	return fmt.Sprintf("room %s: %d members, %s, term %d", g.Name, len(g.Nodes), g.Topology, g.Term)
}

// writeDOT writes g in Graphviz DOT (undirected).
func writeDOT(w io.Writer, g api.Graph) error {
	var b strings.Builder
	fmt.Fprintf(&b, "graph f2f {\n  label=%q;\n  node [shape=ellipse, style=filled];\n", graphTitle(g))
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %q [label=%q, fillcolor=%q];\n", n.ID, nodeLabel(n), nodeColor(n))
	}
	for _, e := range undirected(g) {
		st := edgeStyle[e.kind]
		dir := ""
		if e.directed {
			dir = ", dir=forward"
		}
		label := e.label
		if !strings.HasPrefix(label, e.kind) {
			label = strings.TrimSpace(e.kind + " " + label)
		}
		fmt.Fprintf(&b, "  %q -- %q [label=%q, color=%q, style=%s%s];\n", e.a, e.b, label, st.color, st.dot, dir)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSVG draws g: members on a circle, edges by kind (connection grey
// with transport, RTT and rate; gossip mesh dashed green; media red
// arrows from sender to receiver with bytes/s), a
// legend and a title. No external tool is needed.
func writeSVG(w io.Writer, g api.Graph) error {
	const (
		width, height = 900, 860
		cx, cy, rad   = 450.0, 470.0, 300.0
		nodeR         = 30.0
	)
	pos := map[string][2]float64{}
	n := len(g.Nodes)
	for i, nd := range g.Nodes {
		a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(max(n, 1))
		r := rad
		if n == 1 {
			r = 0
		}
		pos[nd.ID] = [2]float64{cx + r*math.Cos(a), cy + r*math.Sin(a)}
	}
	esc := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker></defs>`+"\n", edgeStyle[api.EdgeMedia].color)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="32" font-size="20" text-anchor="middle">%s</text>`+"\n", width/2, esc(graphTitle(g)))
	// Legend.
	y := 60
	for _, k := range []string{api.EdgeConn, api.EdgeGossip, api.EdgeMedia} {
		st := edgeStyle[k]
		fmt.Fprintf(&b, `<line x1="20" y1="%d" x2="60" y2="%d" stroke="%s" stroke-width="3" stroke-dasharray="%s"/><text x="68" y="%d" font-size="13">%s</text>`+"\n",
			y, y, st.color, st.dash, y+4, esc(k))
		y += 20
	}
	for _, r := range []struct{ name, color string }{{"me", "#5b9bd5"}, {"mixer", "#f0a830"}, {"member", "#8fc98f"}} {
		fmt.Fprintf(&b, `<circle cx="40" cy="%d" r="7" fill="%s" stroke="#333"/><text x="68" y="%d" font-size="13">%s</text>`+"\n", y, r.color, y+4, r.name)
		y += 20
	}
	// Edges: parallel kinds between one pair are offset so each shows;
	// their labels go on top of every line.
	pairs := map[string]int{}
	var labels strings.Builder
	for _, e := range undirected(g) {
		p, q := pos[e.a], pos[e.b]
		k := e.a + " " + e.b
		if e.b < e.a {
			k = e.b + " " + e.a
		}
		off := float64(pairs[k]) * 6
		pairs[k]++
		dx, dy := q[0]-p[0], q[1]-p[1]
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		nx, ny := -dy/l*off, dx/l*off
		st := edgeStyle[e.kind]
		sw := 2.0
		if e.weight > 0 {
			sw = min(2+math.Log10(1+e.weight/1e3), 8)
		}
		x2, y2, marker := q[0]+nx, q[1]+ny, ""
		if e.directed {
			// The arrow ends at the receiver's circle, not under it.
			x2, y2 = q[0]+nx-dx/l*(nodeR+2), q[1]+ny-dy/l*(nodeR+2)
			marker = ` marker-end="url(#arrow)"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f" stroke-dasharray="%s"%s><title>%s</title></line>`+"\n",
			p[0]+nx, p[1]+ny, x2, y2, st.color, sw, st.dash, marker, esc(e.kind+" "+e.label))
		if e.label != "" {
			// A third of the way along, on a white halo: the labels of
			// crossing edges do not meet in the middle of the circle. A
			// media label sits past the middle from its sender, clear of
			// the connection's label and of the opposite stream's.
			f := 1.0 / 3
			if e.directed {
				f = 0.55
			}
			x, y := p[0]+dx*f+nx, p[1]+dy*f+ny
			w := 6.2 * float64(len([]rune(e.label)))
			fmt.Fprintf(&labels, `<rect x="%.1f" y="%.1f" width="%.1f" height="14" rx="3" fill="white" fill-opacity="0.85"/>`, x-w/2-2, y-11, w+4)
			fmt.Fprintf(&labels, `<text x="%.1f" y="%.1f" font-size="11" fill="#333" text-anchor="middle">%s</text>`+"\n", x, y, esc(e.label))
		}
	}
	b.WriteString(labels.String())
	for _, nd := range g.Nodes {
		p := pos[nd.ID]
		fmt.Fprintf(&b, `<g><title>%s</title><circle cx="%.1f" cy="%.1f" r="%.0f" fill="%s" stroke="#333" stroke-width="2"/>`,
			esc(nd.ID), p[0], p[1], nodeR, nodeColor(nd))
		short := nd.ID
		if len(short) > 6 {
			short = short[len(short)-6:]
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, p[0], p[1]+4, esc(short))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="14" text-anchor="middle" font-weight="bold">%s</text></g>`+"\n",
			p[0], p[1]+nodeR+18, esc(nodeLabel(nd)))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func newTopoCmd(g *globals) *cobra.Command {
	var room, format string
	cmd := &cobra.Command{
		Use:   "topo [--room ROOM] [--format json|dot|svg]",
		Short: "Print who is connected to whom: a room's members or this node's peers, as JSON, DOT or SVG",
		Long: `Print the topology graph. With --room, every member of the room, labelled by
nickname and role (me, mixer, member), and the edges each member reported in
its latest telemetry: connections (transport, RTT, bytes/s), its GossipSub
mesh, and media (an arrow from sender to receiver with its bytes/s). Without --room, this node and its connected peers,
with bitswap traffic per peer.

--format json (the default; also --json), dot (Graphviz) or svg (drawn here,
no external tool needed):  f2f topo --room ROOM --format svg > room.svg`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json && format == "" {
				format = "json"
			}
			if format == "" {
				format = "json"
			}
			if format != "json" && format != "dot" && format != "svg" {
				return fmt.Errorf("unknown format %q (want json, dot or svg)", format)
			}
			c, ctx, cancel, err := g.api(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			gr, err := c.Topo(ctx, room)
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				return writeDOT(g.out, gr)
			case "svg":
				return writeSVG(g.out, gr)
			}
			return g.printJSON(gr)
		},
	}
	cmd.Flags().StringVar(&room, "room", "", "a room key or name (default: this node's own connections)")
	cmd.Flags().StringVar(&format, "format", "", "json, dot or svg")
	return cmd
}
