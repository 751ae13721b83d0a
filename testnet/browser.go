package testnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/node"
)

// envInNetns marks a test binary that already runs in its own network
// namespace.
const envInNetns = "F2F_TEST_NETNS"

// RunInIsolatedNetns re-runs the current test binary inside a new network
// namespace of its own (unshare -n; as a user without root, unshare -rn),
// so that the browsers it starts reach nothing outside it. Besides
// loopback the namespace has one LAN-like interface, 10.77.0.1/24 with
// a default route into a veth pair whose other end is in the namespace
// too (whatever is sent there goes nowhere): a browser that was not
// granted the camera offers only its default route's address, as on a
// real machine. It returns ok=false when the caller already runs inside
// one (then it goes on with m.Run), else the child's exit code.
func RunInIsolatedNetns() (code int, ok bool) {
	if os.Getenv(envInNetns) == "1" {
		return 0, false
	}
	flags := "-n"
	if os.Geteuid() != 0 {
		flags = "-rn"
	}
	setup := `ip link set lo up && ip link add f2f0 type veth peer name f2f1 && ip addr add 10.77.0.1/24 dev f2f0 &&
		ip link set f2f0 up && ip link set f2f1 up && ip route add default via 10.77.0.2 && exec "$@"`
	args := append([]string{flags, "--", "/bin/sh", "-c", setup, "sh"}, os.Args...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInNetns+"=1")
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), true
		}
		fmt.Fprintf(os.Stderr, "the browser tests run in a network namespace of their own: unshare %s: %v (needs util-linux's unshare and iproute2's ip with veth)\n", flags, err)
		return 1, true
	}
	return 0, true
}

// ChromiumPath finds Debian's chromium (or another Chromium or Chrome).
func ChromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: apt-get install chromium (the browser tests drive it)")
}

// Browser is one headless Chromium with fake camera, microphone and
// screen. Only the flag a test on loopback needs is set beyond those:
// --allow-loopback-in-peer-connection (a real browser reaches its daemon
// on a LAN address and needs nothing).
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// DenyMedia makes a browser whose user blocks the camera and microphone
// (no fake permission UI; prompts are denied).
var DenyMedia = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-ui-for-media-stream", false),
	chromedp.Flag("deny-permission-prompts", true),
}

// StartBrowser starts Chromium with its profile in dir; extra options
// (e.g. DenyMedia) come last.
func StartBrowser(ctx context.Context, dir string, extra ...chromedp.ExecAllocatorOption) (*Browser, error) {
	path, err := ChromiumPath()
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1280, 860),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return &Browser{ctx: bctx, cancel: func() { bcancel(); acancel() }}, nil
}

// NewTab opens a new tab (a context for chromedp.Run); cancel closes it.
func (b *Browser) NewTab() (context.Context, context.CancelFunc) {
	return chromedp.NewContext(b.ctx)
}

// Close ends the browser.
func (b *Browser) Close() { b.cancel() }

// LoginURL asks a node's API for a one-time login URL (as `f2f open`),
// opening room when it is not empty.
func LoginURL(ctx context.Context, nd *node.Node, room string) (string, error) {
	tok, err := api.ReadToken(nd.RepoPath())
	if err != nil {
		return "", err
	}
	c := api.NewClientAddr(nd.RepoPath(), nd.APIAddr(), tok)
	lc, err := c.LoginCode(ctx)
	if err != nil {
		return "", err
	}
	if room != "" {
		lc.URL += "#room=" + room
	}
	return lc.URL, nil
}

// JSString quotes s as a JavaScript string literal.
func JSString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\u2028", `\u2028`, "\u2029", `\u2029`)
	return "'" + r.Replace(s) + "'"
}
