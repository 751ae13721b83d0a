package node

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/media"
	"github.com/fluttershy/face2face/overlay"
)

// jsonKeys returns the JSON keys of a struct type, embedded structs
// flattened.
func jsonKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonKeys(f.Type)...)
			continue
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestAPITypesCoverTheLeafTypes: every field a leaf type serves has its
// place in the API's type (and no API field is left without a source), so
// a field added to a leaf type is a decision for the contract, not one
// the API silently drops or gains.
func TestAPITypesCoverTheLeafTypes(t *testing.T) {
	pairs := []struct {
		leaf, api any
		extra     []string // API keys with no leaf field of that name
	}{
		{overlay.RoomInfo{}, api.Room{}, nil},
		{overlay.MemberInfo{}, api.Member{}, nil},
		{overlay.ChatMessage{}, api.ChatMessage{}, nil},
		{overlay.FileLink{}, api.FileLink{}, nil},
		{overlay.StageOp{}, api.StageOp{}, nil},
		{overlay.StageTab{}, api.StageTab{}, nil},
		{overlay.Stage{}, api.Stage{}, nil},
		{overlay.Stats{}, api.RoomStats{}, nil},
		{overlay.CapReport{}, api.CapReport{}, nil},
		{overlay.Policy{}, api.Policy{}, nil},
		{overlay.MemberScore{}, api.MemberScore{}, nil},
		{overlay.MixerChange{}, api.MixerChange{}, nil},
		{overlay.MixerInfo{}, api.MixerInfo{}, nil},
		{overlay.MixerChangeRequest{}, api.MixerChangeRequest{}, nil},
		{overlay.ProbeResult{}, api.ProbeResult{}, nil},
		{overlay.Graph{}, api.Graph{}, nil},
		{overlay.GraphNode{}, api.GraphNode{}, nil},
		{overlay.GraphEdge{}, api.GraphEdge{}, nil},
		{overlay.SharedFile{}, api.RoomFile{}, []string{"local"}},
		{files.Entry{}, api.File{}, nil},
		{files.Added{}, api.Added{}, nil},
		{files.Progress{}, api.Progress{}, nil},
		{AddResult{}, api.AddResult{}, nil},
		{media.PublishSpec{}, api.PublishRequest{}, nil},
		{media.RoomStats{}, api.MediaStats{}, nil},
		{media.EdgeStats{}, api.EdgeStats{}, nil},
		{media.EdgeTrack{}, api.EdgeTrack{}, nil},
		{media.StreamStats{}, api.StreamStats{}, nil},
		{media.Gap{}, api.Gap{}, nil},
		{media.PublishStats{}, api.PublishStats{}, nil},
		{media.MixStats{}, api.MixStats{}, nil},
		{media.RecordedFile{}, api.RecordedFile{}, nil},
		{media.StopResult{}, api.StopResult{}, nil},
	}
	for _, p := range pairs {
		lt, at := reflect.TypeOf(p.leaf), reflect.TypeOf(p.api)
		want := append(jsonKeys(lt), p.extra...)
		slices.Sort(want)
		if got := jsonKeys(at); !slices.Equal(got, want) {
			t.Errorf("%v has JSON keys %v, %v has %v", at, got, lt, want)
		}
	}
}

// TestErrorCodes: every domain error the handlers may meet has a code of
// its own, and every code has a status and a sentinel.
func TestErrorCodes(t *testing.T) {
	for err, want := range map[error]api.Code{
		overlay.ErrUnknownRoom: api.CodeUnknownRoom, overlay.ErrAmbiguousRoom: api.CodeAmbiguousRoom,
		overlay.ErrNotJoined: api.CodeNotJoined, overlay.ErrWrongPassword: api.CodeWrongPassword,
		overlay.ErrUnknownMember: api.CodeUnknownMember, api.ErrUnknownCommand: api.CodeUnknownCommand,
		files.ErrNotFound: api.CodeNotFound, files.ErrStalled: api.CodeStalled, files.ErrInvalidCID: api.CodeInvalid,
		media.ErrPublishing: api.CodeConflict, media.ErrBadMedia: api.CodeInvalid, ErrSelfDial: api.CodeSelfDial,
		ErrBadMultiaddr: api.CodeBadMultiaddr, ErrClosed: api.CodeUnavailable,
	} {
		if got := errorCode(err); got != want {
			t.Errorf("%v: code %s, want %s", err, got, want)
		}
	}
	for _, c := range api.Codes() {
		e := &api.Error{Code: c}
		if c.Status() < 400 || e.Unwrap() == nil {
			t.Errorf("code %s: status %d, sentinel %v", c, c.Status(), e.Unwrap())
		}
	}
}

// TestServerServesEveryRoute: each route of api.Routes reaches a handler
// of the daemon (a route the mux does not know answers its plain-text
// 404 or 405), and a failed request answers in the one error shape.
func TestServerServesEveryRoute(t *testing.T) {
	n := startNode(t)
	tok, err := api.ReadToken(n.RepoPath())
	if err != nil {
		t.Fatal(err)
	}
	local, err := n.AddFile(testContext(t), "here.txt", "", strings.NewReader("here"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.Routes {
		path := api.RoomPath(r.Path, "no-such-room")
		if r.Path == api.PathEvents {
			continue // a stream: TestEvents* read it
		}
		if r.Path == api.PathGateway {
			path += local.Entry.CID
		}
		var body io.Reader
		if r.Method == http.MethodPost {
			body = strings.NewReader("{}")
		}
		res := apiDo(t, n, r.Method, path, body, bearer(tok))
		if res.code == http.StatusMethodNotAllowed || strings.HasPrefix(string(res.body), "404 page not found") {
			t.Errorf("%s %s: the mux has no handler (%d %q)", r.Method, path, res.code, res.body)
			continue
		}
		if res.code >= 400 && r.Path != api.PathGateway {
			var e api.Error
			if err := json.Unmarshal(res.body, &e); err != nil || e.Code == "" || e.Message == "" {
				t.Errorf("%s %s: %d %q is not an api.Error", r.Method, path, res.code, res.body)
			} else if e.Code.Status() != res.code {
				t.Errorf("%s %s: code %s sent with %d, want %d", r.Method, path, e.Code, res.code, e.Code.Status())
			}
		}
	}
}
