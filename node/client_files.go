package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/fluttershy/face2face/files"
)

// GetError is a failed get as the daemon reported it.
type GetError struct {
	// Code is "not_found", "stalled", "invalid" or "failed".
	Code string
	Msg  string
}

func (e *GetError) Error() string { return e.Msg }

// AddFile sends r's bytes to be added as a file named name; with room set
// the daemon shares it there.
func (c *Client) AddFile(ctx context.Context, name, room string, r io.Reader) (AddResult, error) {
	q := url.Values{"name": {name}}
	if room != "" {
		q.Set("room", room)
	}
	return c.add(ctx, q, "application/octet-stream", r)
}

// AddDir sends a directory as a tar stream (its first entry the directory
// itself) to be added; with room set the daemon shares it there.
func (c *Client) AddDir(ctx context.Context, room string, tarStream io.Reader) (AddResult, error) {
	q := url.Values{"dir": {"1"}}
	if room != "" {
		q.Set("room", room)
	}
	return c.add(ctx, q, "application/x-tar", tarStream)
}

func (c *Client) add(ctx context.Context, q url.Values, ctype string, body io.Reader) (AddResult, error) {
	var v AddResult
	resp, err := c.sendType(ctx, http.MethodPost, PathFileAdd+"?"+q.Encode(), ctype, body)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&v); err != nil {
		return v, fmt.Errorf("decode add answer: %w", err)
	}
	return v, nil
}

// GetFile makes the daemon fetch a file by CID, calling progress (when not
// nil) as it goes. A failed get is a *GetError.
func (c *Client) GetFile(ctx context.Context, cid, name string, timeout time.Duration, progress func(files.Progress)) (GetEvent, error) {
	q := url.Values{"cid": {cid}}
	if name != "" {
		q.Set("name", name)
	}
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	resp, err := c.send(ctx, http.MethodPost, PathFileGet+"?"+q.Encode(), nil)
	if err != nil {
		return GetEvent{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev GetEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return GetEvent{}, fmt.Errorf("bad get answer: %w", err)
		}
		switch {
		case ev.Error != "":
			return ev, &GetError{Code: ev.Code, Msg: ev.Error}
		case ev.Entry != nil:
			return ev, nil
		case ev.Progress != nil && progress != nil:
			progress(*ev.Progress)
		}
	}
	if ctx.Err() != nil {
		return GetEvent{}, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return GetEvent{}, fmt.Errorf("get: %w", err)
	}
	return GetEvent{}, fmt.Errorf("get: the daemon ended the answer early")
}

// Cat streams a local file's bytes (a directory as tar, then dir is true).
func (c *Client) Cat(ctx context.Context, cid string) (body io.ReadCloser, dir bool, err error) {
	resp, err := c.send(ctx, http.MethodGet, PathFileCat+"?"+url.Values{"cid": {cid}}.Encode(), nil)
	if err != nil {
		return nil, false, err
	}
	return resp.Body, resp.Header.Get("X-F2F-Dir") == "1", nil
}

// Files lists the daemon's complete local files.
func (c *Client) Files(ctx context.Context) ([]files.Entry, error) {
	var v []files.Entry
	return v, c.do(ctx, http.MethodGet, PathFiles, nil, &v)
}

// RoomFiles lists the files shared in a room.
func (c *Client) RoomFiles(ctx context.Context, room string) ([]RoomFile, error) {
	var v []RoomFile
	return v, c.do(ctx, http.MethodGet, PathFiles+"?"+url.Values{"room": {room}}.Encode(), nil, &v)
}

// GatewayURL is the browser link to a file on this daemon's gateway,
// token included (like a Jupyter link): keep it to yourself.
func (c *Client) GatewayURL(cid, name string) string {
	q := url.Values{gatewayToken: {c.token}}
	if name != "" {
		q.Set("filename", name)
	}
	return c.base + PathGateway + url.PathEscape(cid) + "?" + q.Encode()
}
