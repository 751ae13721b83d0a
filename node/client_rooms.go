package node

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fluttershy/face2face/overlay"
)

func roomPath(ref, tail string) string {
	return PathRooms + "/" + url.PathEscape(ref) + tail
}

// CreateRoom creates and joins a room.
func (c *Client) CreateRoom(ctx context.Context, name, password string) (overlay.RoomInfo, error) {
	var v overlay.RoomInfo
	return v, c.do(ctx, http.MethodPost, PathRooms, CreateRoomRequest{Name: name, Password: password}, &v)
}

// JoinRoom joins a room by its key.
func (c *Client) JoinRoom(ctx context.Context, key, password string) (overlay.RoomInfo, error) {
	var v overlay.RoomInfo
	return v, c.do(ctx, http.MethodPost, PathRoomJoin, JoinRoomRequest{Key: key, Password: password}, &v)
}

// Rooms lists the daemon's rooms.
func (c *Client) Rooms(ctx context.Context) ([]overlay.RoomInfo, error) {
	var v []overlay.RoomInfo
	return v, c.do(ctx, http.MethodGet, PathRooms, nil, &v)
}

// RoomPeers lists a room's members.
func (c *Client) RoomPeers(ctx context.Context, room string) ([]overlay.MemberInfo, error) {
	var v []overlay.MemberInfo
	return v, c.do(ctx, http.MethodGet, roomPath(room, "/peers"), nil, &v)
}

// LeaveRoom leaves a room.
func (c *Client) LeaveRoom(ctx context.Context, room string) error {
	return c.do(ctx, http.MethodPost, roomPath(room, "/leave"), struct{}{}, nil)
}

// ForgetRoom drops a room and its log (leaving it first when joined).
func (c *Client) ForgetRoom(ctx context.Context, room string) (overlay.RoomInfo, error) {
	var v overlay.RoomInfo
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/forget"), struct{}{}, &v)
}

// Send sends chat text (or a chat command) to a room.
func (c *Client) Send(ctx context.Context, room, text string) (overlay.SendResult, error) {
	var v overlay.SendResult
	return v, c.do(ctx, http.MethodPost, roomPath(room, "/chat"), ChatRequest{Text: text}, &v)
}

// Log returns a room's chat log from since on (zero: all), at most the last
// limit entries (0: all).
func (c *Client) Log(ctx context.Context, room string, since time.Time, limit int) ([]overlay.ChatMessage, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	p := roomPath(room, "/log")
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var v []overlay.ChatMessage
	return v, c.do(ctx, http.MethodGet, p, nil, &v)
}

// RoomStats returns the room service's drop counters.
func (c *Client) RoomStats(ctx context.Context) (overlay.Stats, error) {
	var v overlay.Stats
	return v, c.do(ctx, http.MethodGet, PathRoomStats, nil, &v)
}
