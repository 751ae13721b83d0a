package node

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/fluttershy/face2face/api"
	"github.com/fluttershy/face2face/files"
	"github.com/fluttershy/face2face/internal/textfmt"
)

// gatewayTimeout bounds one gateway request's wait for blocks.
const gatewayTimeout = 2 * time.Minute

type dirRow struct {
	Name, Size, Href string
}

// writeDirPage writes a directory's HTML list of links.
func writeDirPage(w io.Writer, title string, rows []dirRow) {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<meta charset=\"utf-8\"><title>" + html.EscapeString(title) + "</title>\n")
	b.WriteString("<style>body{font:14px system-ui,sans-serif;margin:2em}td{padding:2px 12px 2px 0}td.s{text-align:right;color:#666}</style>\n")
	b.WriteString("<h1>" + html.EscapeString(title) + "</h1>\n<table>\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td><td class=\"s\">%s</td></tr>\n",
			html.EscapeString(r.Href), html.EscapeString(r.Name), html.EscapeString(r.Size))
	}
	b.WriteString("</table>\n")
	_, _ = io.WriteString(w, b.String())
}

// handleGateway serves GET and HEAD /ipfs/{cid}[/path]: a file's bytes
// with its content type (from ?filename=, else the path's last name, else
// sniffed), byte ranges and an immutable ETag; a directory as a list of
// links. Blocks that are not here are fetched as they are read.
func (s *apiServer) handleGateway(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, api.PathGateway)
	first, sub, _ := strings.Cut(rest, "/")
	root, err := files.ParseCID(first)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var segs []string
	for _, p := range strings.Split(sub, "/") {
		if p != "" {
			segs = append(segs, p)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), gatewayTimeout)
	defer cancel()
	o, err := s.n.files.Open(ctx, root, segs)
	if err != nil {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, files.ErrNoSuchPath):
			status = http.StatusNotFound
		case errors.Is(err, files.ErrInvalidCID):
			status = http.StatusBadRequest
		case ctx.Err() != nil:
			status = http.StatusGatewayTimeout
		}
		http.Error(w, err.Error(), status)
		return
	}
	h := w.Header()
	// Content from others runs in no origin of ours: no scripts, no
	// access to the API's cookies.
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Etag", `"`+o.CID.String()+`"`)
	h.Set("Cache-Control", "public, max-age=29030400, immutable")
	if o.Dir {
		if !strings.HasSuffix(r.URL.Path, "/") {
			u := *r.URL
			u.Path += "/"
			http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
			return
		}
		rows := make([]dirRow, 0, len(o.Entries))
		for _, e := range o.Entries {
			rows = append(rows, dirRow{Name: e.Name, Size: textfmt.HumanSize(e.Size), Href: "./" + url.PathEscape(e.Name)})
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		writeDirPage(w, "/ipfs/"+path.Join(append([]string{root.String()}, segs...)...), rows)
		return
	}
	defer o.File.Close()
	name := r.URL.Query().Get("filename")
	if name == "" && len(segs) > 0 {
		name = segs[len(segs)-1]
	}
	ctype := ""
	if name != "" {
		ctype = mimeByName(name)
		h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(name))
	}
	if ctype == "" {
		head := make([]byte, 512)
		n, err := io.ReadFull(o.File, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if _, err := o.File.Seek(0, io.SeekStart); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		ctype = http.DetectContentType(head[:n])
	}
	h.Set("Content-Type", ctype)
	http.ServeContent(w, r, "", time.Time{}, o.File)
}
