package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Client talks to a running daemon through its local API. The CLI and the
// process-based testnet use it.
type Client struct {
	repo  string
	base  string
	token string
	hc    *http.Client
}

// NewClient reads the repo's api and api.token files. It returns
// ErrNotInitialised when there is no repo at path and ErrNoDaemon when no
// daemon has written an api file.
func NewClient(repoPath string) (*Client, error) {
	if err := checkInitialised(repoPath); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(repoPath, APIFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, noDaemon(repoPath)
		}
		return nil, fmt.Errorf("read api file: %w", err)
	}
	addr := strings.TrimSpace(string(b))
	if err := ValidateAPIAddr(addr); err != nil {
		return nil, fmt.Errorf("api file %s: %w", filepath.Join(repoPath, APIFile), err)
	}
	tok, err := ReadToken(repoPath)
	if err != nil {
		return nil, err
	}
	return NewClientAddr(repoPath, addr, tok), nil
}

// NewClientAddr returns a client for the API at addr with token.
func NewClientAddr(repoPath, addr, token string) *Client {
	return &Client{repo: repoPath, base: "http://" + addr, token: token,
		hc: &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}}
}

func noDaemon(repo string) error {
	return fmt.Errorf("%w: %s (start one with `f2f --repo %s daemon`)", ErrNoDaemon, repo, repo)
}

// do sends one request and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	return c.sendType(ctx, method, path, "application/json", body)
}

// sendType sends one request with a body of content type ctype.
func (c *Client) sendType(ctx context.Context, method, path, ctype string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, noDaemon(c.repo)
		}
		return nil, fmt.Errorf("API request: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var ae APIError
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ae)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: %s", ErrUnauthorized, ae.Error)
	}
	if ae.Error == "" {
		ae.Error = resp.Status
	}
	return nil, &StatusError{Code: resp.StatusCode, Msg: ae.Error}
}

// StatusError is an API answer other than 2xx.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// Version asks the daemon's version.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var v VersionInfo
	return v, c.do(ctx, http.MethodGet, PathVersion, nil, &v)
}

// ID asks the daemon's peer ID and addresses.
func (c *Client) ID(ctx context.Context) (IDInfo, error) {
	var v IDInfo
	return v, c.do(ctx, http.MethodGet, PathID, nil, &v)
}

// Peers lists the daemon's connected peers.
func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	var v []PeerInfo
	return v, c.do(ctx, http.MethodGet, PathPeers, nil, &v)
}

// RoutingTable lists the peers in the daemon's DHT routing table.
func (c *Client) RoutingTable(ctx context.Context) ([]string, error) {
	var v []string
	return v, c.do(ctx, http.MethodGet, PathRoutingTable, nil, &v)
}

// Connect makes the daemon dial addr (a full multiaddr with /p2p/).
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	if _, err := ParsePeerAddr(addr); err != nil {
		return "", err
	}
	var v ConnectResponse
	return v.ID, c.do(ctx, http.MethodPost, PathConnect, ConnectRequest{Addr: addr}, &v)
}

// Events reads the daemon's events stream and calls fn for each event until
// ctx ends, the daemon closes the stream, or fn returns an error.
func (c *Client) Events(ctx context.Context, fn func(Event) error) error {
	resp, err := c.send(ctx, http.MethodGet, PathEvents, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("bad event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return sc.Err()
}
