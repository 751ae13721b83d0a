package node

import (
	"net/http"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/overlay"
)

func (s *apiServer) routeActivity(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathMixer, s.handleMixer)
	mux.HandleFunc("POST "+api.PathMixer, s.handleSetMixer)
	mux.HandleFunc("POST "+api.PathProbe, s.handleProbe)
	mux.HandleFunc("GET "+api.PathTopo, s.handleTopo)
	mux.HandleFunc("GET "+api.PathEventsRecent, s.handleRecentEvents)
	mux.HandleFunc("GET "+api.PathMetrics, func(w http.ResponseWriter, r *http.Request) {
		promhttp.HandlerFor(s.n.registry(), promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}

func (s *apiServer) handleMixer(w http.ResponseWriter, r *http.Request) {
	in, err := s.n.rooms.Mixer(r.Context(), r.PathValue("room"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apiMixerInfo(in))
}

func (s *apiServer) handleSetMixer(w http.ResponseWriter, r *http.Request) {
	var req api.MixerChangeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	in, err := s.n.rooms.SetMixer(r.Context(), r.PathValue("room"),
		overlay.MixerChangeRequest{Pin: req.Pin, Auto: req.Auto, Topology: req.Topology, MeshMax: req.MeshMax})
	if err != nil {
		code := errorCode(err)
		if code == api.CodeInternal {
			code = api.CodeInvalid // the request's values
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, apiMixerInfo(in))
}

func (s *apiServer) handleProbe(w http.ResponseWriter, r *http.Request) {
	var req api.ProbeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	res, err := s.n.rooms.Probe(r.Context(), r.PathValue("room"), req.Peer)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, mapSlice(res, apiProbe))
}

func (s *apiServer) handleTopo(w http.ResponseWriter, r *http.Request) {
	if room := r.URL.Query().Get("room"); room != "" {
		g, err := s.n.rooms.Graph(r.Context(), room)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, apiGraph(g))
		return
	}
	writeJSON(w, http.StatusOK, apiGraph(s.n.NodeGraph()))
}

func (s *apiServer) handleRecentEvents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, mapSlice(s.n.events.Recent(), apiEvent))
}

// NodeGraph is the node's own topology: itself and every connected peer,
// with the connection's transport, direction, RTT, rates and bitswap
// traffic.
func (n *Node) NodeGraph() overlay.Graph {
	me := n.host.ID()
	g := overlay.Graph{Time: time.Now().UTC(), Topology: "node"}
	g.Nodes = append(g.Nodes, overlay.GraphNode{ID: me.String(), Nick: "me", Role: "me", DHTSize: uint64(len(n.dht.RoutingTable()))})
	peers := n.host.Network().Peers()
	sort.Slice(peers, func(i, j int) bool { return peers[i] < peers[j] })
	for _, p := range peers {
		conns := n.host.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		c := conns[0]
		g.Nodes = append(g.Nodes, overlay.GraphNode{ID: p.String(), Nick: shortID(p), Role: "peer"})
		st := n.bwc.GetBandwidthForPeer(p)
		e := overlay.GraphEdge{From: me.String(), To: p.String(), Kind: overlay.EdgeConn,
			Transport: c.ConnState().Transport, Outbound: c.Stat().Direction == network.DirOutbound,
			RTTMS: float64(n.host.Peerstore().LatencyEWMA(p).Microseconds()) / 1000,
			InBps: uint64(max(st.RateIn, 0)), OutBps: uint64(max(st.RateOut, 0))}
		if l := n.bswap.LedgerForPeer(p); l != nil {
			e.BitswapSent, e.BitswapRecv = l.Sent, l.Recv
		}
		g.Edges = append(g.Edges, e)
	}
	return g
}

func shortID(p peer.ID) string {
	s := p.String()
	if len(s) > 8 {
		return "…" + s[len(s)-6:]
	}
	return s
}

// registry returns the node's Prometheus registry, building it on the
// first scrape (an idle daemon nobody scrapes does not pay for it).
func (n *Node) registry() *prometheus.Registry {
	n.metricsOnce.Do(func() {
		if n.metrics == nil {
			n.metrics = n.newMetrics()
		}
	})
	return n.metrics
}

// newMetrics builds the node's Prometheus registry: Go and process
// collectors and the node's own gauges; go-libp2p registers its metrics
// into it too (hostOptions).
func (n *Node) newMetrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &nodeCollector{n: n})
	return reg
}

var (
	descPeers   = prometheus.NewDesc("f2f_peers_connected", "Peers the node is connected to.", nil, nil)
	descDHT     = prometheus.NewDesc("f2f_dht_routing_table_size", "Peers in the DHT routing table.", nil, nil)
	descBytes   = prometheus.NewDesc("f2f_bytes_total", "Bytes the node sent and received.", []string{"direction"}, nil)
	descMembers = prometheus.NewDesc("f2f_room_members", "Members of a joined room, itself included, that are neither gone nor left (as in room ls and /who).", []string{"room"}, nil)
	descTerm    = prometheus.NewDesc("f2f_room_mixer_term", "The room's current election term.", []string{"room"}, nil)
	descIsMixer = prometheus.NewDesc("f2f_room_is_mixer", "1 when the node is the room's mixer.", []string{"room"}, nil)
	descDropped = prometheus.NewDesc("f2f_room_messages_total", "Room messages accepted or dropped, by reason.", []string{"result"}, nil)
	descStream  = prometheus.NewDesc("f2f_files_stream_bytes_total", "Bytes of blocks moved over the file fast path (/f2f/blocks/1), sent to other nodes' gets and received by this node's.", []string{"direction"}, nil)
	descStreamF = prometheus.NewDesc("f2f_files_stream_fallbacks_total", "Gets whose fast-path peer failed or misbehaved, so that they went on over bitswap.", nil, nil)
	descStreamB = prometheus.NewDesc("f2f_files_stream_busy_total", "Fast-path requests this node answered busy (it was streaming to enough peers already).", nil, nil)
)

// nodeCollector reads the node's state at scrape time.
type nodeCollector struct{ n *Node }

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descDHT, descBytes, descMembers, descTerm, descIsMixer, descDropped, descStream, descStreamF, descStreamB} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(len(n.host.Network().Peers())))
	ch <- prometheus.MustNewConstMetric(descDHT, prometheus.GaugeValue, float64(len(n.dht.RoutingTable())))
	tot := n.bwc.GetBandwidthTotals()
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(tot.TotalIn), "in")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(tot.TotalOut), "out")
	fs := n.files.StreamStats()
	ch <- prometheus.MustNewConstMetric(descStream, prometheus.CounterValue, float64(fs.Sent), "sent")
	ch <- prometheus.MustNewConstMetric(descStream, prometheus.CounterValue, float64(fs.Received), "received")
	ch <- prometheus.MustNewConstMetric(descStreamF, prometheus.CounterValue, float64(fs.Fallbacks))
	ch <- prometheus.MustNewConstMetric(descStreamB, prometheus.CounterValue, float64(fs.Busy))
	st := n.rooms.Stats()
	for k, v := range map[string]uint64{"accepted": st.Accepted, "malformed": st.Malformed, "oversize": st.Oversize,
		"bad_signature": st.BadSig, "foreign": st.Foreign, "replayed": st.Replayed, "rate_limited": st.RateLimit, "synced": st.Synced} {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(v), k)
	}
	for _, hash := range n.rooms.JoinedHashes() {
		t, ok := n.rooms.Topology(hash)
		if !ok {
			continue
		}
		if m, ok := n.rooms.MemberCount(hash); ok {
			ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(m), hash)
		}
		ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(t.Term), hash)
		is := 0.0
		if t.Mixer == n.host.ID() {
			is = 1
		}
		ch <- prometheus.MustNewConstMetric(descIsMixer, prometheus.GaugeValue, is, hash)
	}
}
