package node

import (
	"archive/tar"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/fluttershy/face2face/api"
)

func TestGateway(t *testing.T) {
	n := startNode(t)
	ctx := testContext(t)
	tok := token(t, n)
	doc := []byte("%PDF-1.4 not really a pdf, but named like one\n")
	pdf, err := n.AddFile(ctx, "report.pdf", "", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if pdf.MIME != "application/pdf" {
		t.Errorf("add MIME %q", pdf.MIME)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range []struct{ name, body string }{{"site/", ""}, {"site/index.html", "<h1>hi</h1>"}, {"site/a b.txt", "spaced"}} {
		h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.Close()
	dir, err := n.AddDir(ctx, "", &tb)
	if err != nil {
		t.Fatal(err)
	}

	// A link with the token opens and leaves a cookie for the page's links.
	r := apiDo(t, n, "GET", "/ipfs/"+pdf.Entry.CID+"?filename=report.pdf&token="+tok, nil, nil)
	if r.code != 200 || !bytes.Equal(r.body, doc) || r.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "report.pdf") || r.header.Get("Content-Security-Policy") != "sandbox" {
		t.Fatalf("file: %d %v %q", r.code, r.header, r.body)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == api.GatewayCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != tok || !cookie.HttpOnly || cookie.Path != api.PathGateway {
		t.Fatalf("cookie %+v", cookie)
	}
	withCookie := func(req *http.Request) { req.AddCookie(&http.Cookie{Name: api.GatewayCookie, Value: tok}) }

	// Ranges, sniffing without a name, directories and paths in them.
	r = apiDo(t, n, "GET", "/ipfs/"+pdf.Entry.CID, nil, func(req *http.Request) { withCookie(req); req.Header.Set("Range", "bytes=0-7") })
	if r.code != http.StatusPartialContent || string(r.body) != "%PDF-1.4" || r.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("range: %d %q %q", r.code, r.header.Get("Content-Type"), r.body)
	}
	// (Without the trailing slash the client follows a redirect to it.)
	r = apiDo(t, n, "GET", "/ipfs/"+dir.Entry.CID, nil, withCookie)
	if r.code != 200 || !strings.Contains(string(r.body), `href="./a%20b.txt"`) || !strings.Contains(string(r.body), "index.html") {
		t.Errorf("listing: %d %s", r.code, r.body)
	}
	r = apiDo(t, n, "GET", "/ipfs/"+dir.Entry.CID+"/a%20b.txt", nil, withCookie)
	if r.code != 200 || string(r.body) != "spaced" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("file in directory: %d %q %q", r.code, r.header.Get("Content-Type"), r.body)
	}
	r = apiDo(t, n, "GET", "/ipfs/"+dir.Entry.CID+"/missing", nil, withCookie)
	if r.code != http.StatusNotFound {
		t.Errorf("missing path: %d %s", r.code, r.body)
	}
	r = apiDo(t, n, "GET", "/ipfs/not-a-cid", nil, withCookie)
	if r.code != http.StatusBadRequest {
		t.Errorf("bad CID: %d", r.code)
	}
	// No token, a wrong one, or the cookie on an API path: 401.
	for _, edit := range []func(*http.Request){nil, func(req *http.Request) { req.AddCookie(&http.Cookie{Name: api.GatewayCookie, Value: "x"}) }} {
		if r := apiDo(t, n, "GET", "/ipfs/"+pdf.Entry.CID, nil, edit); r.code != http.StatusUnauthorized {
			t.Errorf("without a valid token: %d", r.code)
		}
	}
	if r := apiDo(t, n, "GET", "/ipfs/"+pdf.Entry.CID+"?token=wrong", nil, nil); r.code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", r.code)
	}
	if r := apiDo(t, n, "GET", api.PathFiles, nil, withCookie); r.code != http.StatusUnauthorized {
		t.Errorf("cookie on an API path: %d", r.code)
	}
}
