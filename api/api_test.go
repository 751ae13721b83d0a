package api

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The Client branches on codes, never on messages: an error answer
// matches its code's sentinel, and only that one.
func TestErrorMatchesItsSentinel(t *testing.T) {
	e := &Error{Message: `unknown room "x"`, Code: CodeUnknownRoom, Status: http.StatusNotFound}
	if !errors.Is(e, ErrUnknownRoom) || errors.Is(e, ErrNotJoined) {
		t.Fatalf("errors.Is: unknown room %v, not joined %v", errors.Is(e, ErrUnknownRoom), errors.Is(e, ErrNotJoined))
	}
	if e.Error() != `unknown room "x"` {
		t.Fatalf("message %q", e.Error())
	}
	if (&Error{Code: "from_a_newer_daemon"}).Unwrap() != nil {
		t.Fatal("an unknown code matched a sentinel")
	}
	seen := map[error]Code{}
	for _, c := range Codes() {
		s := (&Error{Code: c}).Unwrap()
		if other, dup := seen[s]; dup {
			t.Errorf("codes %s and %s share a sentinel", c, other)
		}
		seen[s] = c
		if c.Status() < 400 || c.Status() > 599 {
			t.Errorf("code %s: status %d", c, c.Status())
		}
	}
}

func TestRoomPathEscapes(t *testing.T) {
	if got := RoomPath(PathChat, "a b/c"); got != "/api/v1/rooms/a%20b%2Fc/chat" {
		t.Fatalf("RoomPath = %q", got)
	}
}

// TestReadmeDocumentsEveryRoute: README.md has a section per route, its
// method and path as the heading.
func TestReadmeDocumentsEveryRoute(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range Routes {
		if !strings.Contains(doc, "### "+r.Method+" "+r.Path+"\n") {
			t.Errorf("README.md lacks a section ### %s %s", r.Method, r.Path)
		}
	}
	for _, c := range Codes() {
		if !strings.Contains(doc, "`"+string(c)+"`") {
			t.Errorf("README.md does not list the error code %s", c)
		}
	}
}

// TestImportsNoLeaf: the contract stands alone; the daemon's packages
// convert to it, never the other way.
func TestImportsNoLeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, leaf := range []string{"/node", "/overlay", "/files", "/media", "/dht", "/collab"} {
			if strings.HasPrefix(p, "github.com/fluttershy/face2face") && strings.HasSuffix(p, leaf) {
				t.Errorf("api depends on %s", p)
			}
		}
	}
}

func TestParsePeerAddr(t *testing.T) {
	for _, s := range []string{"", "nonsense", "/ip4/127.0.0.1/tcp/4001"} {
		if _, err := ParsePeerAddr(s); !errors.Is(err, ErrBadMultiaddr) {
			t.Errorf("%q: %v, want ErrBadMultiaddr", s, err)
		}
	}
	ai, err := ParsePeerAddr("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWKejHRcGqpm7EQaMWRZ1TU637qV4CcPmffLTtdayiVeYc")
	if err != nil || ai.ID.String() != "12D3KooWKejHRcGqpm7EQaMWRZ1TU637qV4CcPmffLTtdayiVeYc" {
		t.Fatalf("%v %v", ai, err)
	}
}

func TestParseChat(t *testing.T) {
	for text, want := range map[string]ChatCommand{
		"hello":            {ChatText, "hello"},
		"//etc/passwd":     {ChatText, "/etc/passwd"},
		"/nick  bob ":      {ChatNick, "bob"},
		"/me waves":        {ChatMe, "waves"},
		"/who":             {ChatWho, ""},
		"/mixer set alice": {ChatMixer, "set alice"},
		"/share ./a b.txt": {ChatShare, "./a b.txt"},
		"/files":           {ChatFiles, ""},
		"/help":            {ChatHelpC, ""},
	} {
		got, err := ParseChat(text)
		if err != nil || got != want {
			t.Errorf("ParseChat(%q) = %+v, %v; want %+v", text, got, err, want)
		}
	}
	for _, text := range []string{"/", "/nickname bob", "/rm -rf"} {
		if _, err := ParseChat(text); !errors.Is(err, ErrUnknownCommand) {
			t.Errorf("ParseChat(%q): %v, want ErrUnknownCommand", text, err)
		}
	}
}
