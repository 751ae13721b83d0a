package node

import (
	"context"
	"net/http"
	"net/url"

	"github.com/fluttershy/face2face/overlay"
)

// Mixer returns a room's election state.
func (c *Client) Mixer(ctx context.Context, room string) (overlay.MixerInfo, error) {
	var v overlay.MixerInfo
	return v, c.do(ctx, http.MethodGet, roomPath(room, "/mixer"), nil, &v)
}

// SetMixer changes a room's election policy for every member.
func (c *Client) SetMixer(ctx context.Context, room string, req overlay.MixerChangeRequest) (overlay.MixerInfo, error) {
	var v overlay.MixerInfo
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/mixer"), req, &v)
}

// Probe measures the upload throughput to a member (peer ID or nickname)
// or, with member empty, to every connected member of a room.
func (c *Client) Probe(ctx context.Context, room, member string) ([]overlay.ProbeResult, error) {
	var v []overlay.ProbeResult
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/probe"), ProbeRequest{Peer: member}, &v)
}

// Topo returns the topology graph of a room, or with room empty, of the
// node's own connections.
func (c *Client) Topo(ctx context.Context, room string) (overlay.Graph, error) {
	p := PathTopo
	if room != "" {
		p += "?room=" + url.QueryEscape(room)
	}
	var v overlay.Graph
	return v, c.do(ctx, http.MethodGet, p, nil, &v)
}

// RecentEvents returns the node's event timeline, oldest first.
func (c *Client) RecentEvents(ctx context.Context) ([]Event, error) {
	var v []Event
	return v, c.do(ctx, http.MethodGet, PathEventsRecent, nil, &v)
}
