package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/testnet"
)

// f2fBin is the f2f binary TestMain builds (`make build`'s): the
// pages' daemons run as processes of the product as shipped, not
// in-process under the race detector, whose 5-10x slower forwarding the
// frame rates would measure.
var f2fBin string

// daemon is one `f2f daemon` process of a test.
type daemon struct {
	*testnet.Proc
	id   string // peer ID
	tcp  string // its TCP multiaddr, /p2p/ included
	quic string // its QUIC multiaddr, /p2p/ included
	addr string // its API address
}

func startDaemon(t testing.TB, ctx context.Context, repo string, args ...string) *daemon {
	t.Helper()
	p, err := testnet.StartDaemon(ctx, f2fBin, repo, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
	id, err := p.Client.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{Proc: p, id: id.ID, addr: strings.TrimPrefix(p.Client.Base(), "http://")}
	for _, a := range id.Addresses {
		if strings.Contains(a, "/tcp/") {
			d.tcp = a
		}
		if strings.Contains(a, "/quic-v1") {
			d.quic = a
		}
	}
	return d
}

// startDaemons starts n daemons, every one after the first bootstrapped to
// the first.
func startDaemons(t testing.TB, ctx context.Context, n int) []*daemon {
	t.Helper()
	dir := t.TempDir()
	var ds []*daemon
	for i := range n {
		var args []string
		if i > 0 {
			args = []string{"--bootstrap", ds[0].tcp}
		}
		ds = append(ds, startDaemon(t, ctx, filepath.Join(dir, fmt.Sprintf("node%d", i)), args...))
	}
	return ds
}

// formRoom makes a room on the first daemon, joins the others, and waits
// until every member sees every other connected.
func formRoom(t testing.TB, ctx context.Context, ds []*daemon, name string) api.Room {
	t.Helper()
	room, err := ds[0].Client.CreateRoom(ctx, name, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[1:] {
		if _, err := d.Client.JoinRoom(ctx, room.Key, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		for _, d := range ds {
			ms, err := d.Client.RoomPeers(ctx, room.Key)
			if err != nil {
				return false, err
			}
			n := 0
			for _, m := range ms {
				if m.Connected && !m.Gone {
					n++
				}
			}
			if n < len(ds)-1 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("room %s not formed: %v", name, err)
	}
	return room
}

// agreedMixer waits until every daemon sees the same mixer, one that ok
// accepts, and returns it.
func agreedMixer(t testing.TB, ctx context.Context, ds []*daemon, key string, ok func(string) bool) string {
	t.Helper()
	var mixer string
	if err := testnet.WaitFor(ctx, func() (bool, error) {
		mixer = ""
		for i, d := range ds {
			in, err := d.Client.Mixer(ctx, key)
			if err != nil {
				return false, nil
			}
			if i > 0 && in.Mixer != mixer {
				return false, nil
			}
			mixer = in.Mixer
		}
		return mixer != "" && ok(mixer), nil
	}); err != nil {
		t.Fatalf("no mixer agreed: %v", err)
	}
	return mixer
}

// loginURL is what `f2f open ROOM` prints for d.
func loginURL(ctx context.Context, d *daemon, room string) (string, error) {
	lc, err := d.Client.LoginCode(ctx)
	if err != nil {
		return "", err
	}
	if room != "" {
		lc.URL += "#room=" + room
	}
	return lc.URL, nil
}

// dumpMediaOnFailure logs every live daemon's media stats when the test
// failed.
func dumpMediaOnFailure(t *testing.T, ds []*daemon, key string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i, d := range ds {
			st, err := d.Client.MediaStats(ctx, key)
			b, _ := json.Marshal(st)
			t.Logf("node%d media: %s %v", i, b, err)
		}
	})
}

// testMedia writes the test video and tone once per test.
func testMedia(t testing.TB) api.PublishRequest {
	t.Helper()
	ivf, ogg, err := testnet.WriteTestMedia(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return api.PublishRequest{Video: ivf, Audio: ogg, Loop: true}
}

// buildBinary builds f2fBin into a temp dir; the caller removes the dir.
func buildBinary() (string, error) {
	dir, err := os.MkdirTemp("", "f2f-webui-bin-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := testnet.BuildBinary(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	f2fBin = bin
	return dir, nil
}
