package textfmt

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fluttershy/face2face/api"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDisplayTextEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"\x1b[31mred":    `\x1b[31mred`,
		"a\u202eb":       `a\u202eb`,
		"line\nbreak\r!": `line\x0abreak\x0d!`,
	} {
		if got := DisplayText(in); got != want {
			t.Errorf("DisplayText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatChatFile(t *testing.T) {
	m := api.ChatMessage{Time: time.Now(), Nick: "ann", Kind: "file",
		File: &api.FileLink{CID: api.CIDLink{CID: "bafkqaaa"}, Name: "my notes.txt", Size: 1536, MIME: "text/plain"}}
	out := FormatChat(m, func(cid, name string) string { return "http://gw/" + cid })
	for _, want := range []string{"<ann> shared my notes.txt (1.5 KiB, text/plain)", "f2f file get bafkqaaa -o 'my notes.txt'", "open: http://gw/bafkqaaa"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
}
