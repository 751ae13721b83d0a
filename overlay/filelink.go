package overlay

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"google.golang.org/protobuf/encoding/protowire"
)

// FileLink limits.
const (
	// MaxFileNameBytes is the longest file name in a link.
	MaxFileNameBytes = 255
	// MaxMIMEBytes is the longest MIME type in a link.
	MaxMIMEBytes = 127
	// MaxFileLinkSize bounds an encoded link.
	MaxFileLinkSize = 1 << 10
	// maxLinkedSize bounds a link's size field (1 PiB).
	maxLinkedSize = 1 << 50
)

// FileLink field numbers on the wire.
const (
	linkCID  protowire.Number = 1
	linkName protowire.Number = 2
	linkSize protowire.Number = 3
	linkMIME protowire.Number = 4
)

// FileLink is the body of a KindFile envelope: a file shared into a room,
// named by its CID (immutable content).
//
// Wire format (protobuf, by hand): 1 CID (bytes), 2 name (string), 3 size
// (varint), 4 MIME type (string), all four in field order; there is one
// canonical encoding.
type FileLink struct {
	// CID is the file's (or directory's) root CID; raw or dag-pb codec.
	CID cid.Cid `json:"cid"`
	// Name is a base name: no slash, not "." or "..", no control
	// characters, 1..MaxFileNameBytes bytes of UTF-8.
	Name string `json:"name"`
	// Size is the content size in bytes.
	Size uint64 `json:"size"`
	// MIME is the media type ("" when unknown), printable ASCII.
	MIME string `json:"mime"`
}

// Validate checks the link's fields; errors wrap ErrMalformed.
func (l FileLink) Validate() error {
	if err := l.validate(); err != nil {
		return fmt.Errorf("%w: file link: %w", ErrMalformed, err)
	}
	return nil
}

func (l FileLink) validate() error {
	if !l.CID.Defined() {
		return errors.New("missing CID")
	}
	switch l.CID.Type() {
	case cid.Raw, cid.DagProtobuf:
	default:
		return fmt.Errorf("CID codec 0x%x is not raw or dag-pb", l.CID.Type())
	}
	if err := ValidFileName(l.Name); err != nil {
		return err
	}
	if l.Size > maxLinkedSize {
		return fmt.Errorf("size %d out of range", l.Size)
	}
	if len(l.MIME) > MaxMIMEBytes {
		return fmt.Errorf("MIME type of %d bytes exceeds %d", len(l.MIME), MaxMIMEBytes)
	}
	for i := 0; i < len(l.MIME); i++ {
		if c := l.MIME[i]; c <= ' ' && c != ' ' || c > '~' {
			return errors.New("MIME type is not printable ASCII")
		}
	}
	return nil
}

// ValidFileName checks a shared file's name: a base name of
// 1..MaxFileNameBytes bytes of UTF-8, no slash or backslash, not "." or
// "..", no control characters.
func ValidFileName(name string) error {
	switch {
	case name == "":
		return errors.New("empty file name")
	case len(name) > MaxFileNameBytes:
		return fmt.Errorf("file name of %d bytes exceeds %d", len(name), MaxFileNameBytes)
	case !utf8.ValidString(name):
		return errors.New("file name is not valid UTF-8")
	case name == "." || name == "..":
		return fmt.Errorf("file name %q is not allowed", name)
	case strings.ContainsAny(name, `/\`):
		return errors.New("file name contains a slash")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("file name contains control character %U", r)
		}
	}
	return nil
}

// Marshal encodes a valid link.
func (l FileLink) Marshal() ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	b := protowire.AppendTag(nil, linkCID, protowire.BytesType)
	b = protowire.AppendBytes(b, l.CID.Bytes())
	b = protowire.AppendTag(b, linkName, protowire.BytesType)
	b = protowire.AppendString(b, l.Name)
	b = protowire.AppendTag(b, linkSize, protowire.VarintType)
	b = protowire.AppendVarint(b, l.Size)
	b = protowire.AppendTag(b, linkMIME, protowire.BytesType)
	b = protowire.AppendString(b, l.MIME)
	return b, nil
}

// ParseFileLink decodes and validates a KindFile body; errors wrap
// ErrMalformed.
func ParseFileLink(b []byte) (FileLink, error) {
	l, err := decodeFileLink(b)
	if err != nil {
		return FileLink{}, fmt.Errorf("%w: file link: %w", ErrMalformed, err)
	}
	return l, nil
}

func decodeFileLink(b []byte) (FileLink, error) {
	if len(b) > MaxFileLinkSize {
		return FileLink{}, fmt.Errorf("link of %d bytes exceeds %d", len(b), MaxFileLinkSize)
	}
	var l FileLink
	in := b
	for want := linkCID; want <= linkMIME; want++ {
		num, typ, n := protowire.ConsumeTag(in)
		if n < 0 {
			return FileLink{}, fmt.Errorf("bad tag: %v", protowire.ParseError(n))
		}
		if num != want {
			return FileLink{}, fmt.Errorf("field %d where %d belongs", num, want)
		}
		in = in[n:]
		if want == linkSize {
			if typ != protowire.VarintType {
				return FileLink{}, fmt.Errorf("field %d: wrong wire type %d", num, typ)
			}
			v, n := protowire.ConsumeVarint(in)
			if n < 0 {
				return FileLink{}, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			l.Size, in = v, in[n:]
			continue
		}
		if typ != protowire.BytesType {
			return FileLink{}, fmt.Errorf("field %d: wrong wire type %d", num, typ)
		}
		v, n := protowire.ConsumeBytes(in)
		if n < 0 {
			return FileLink{}, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
		}
		in = in[n:]
		switch want {
		case linkCID:
			c, err := cid.Cast(v)
			if err != nil {
				return FileLink{}, fmt.Errorf("bad CID: %v", err)
			}
			l.CID = c
		case linkName:
			l.Name = string(v)
		case linkMIME:
			l.MIME = string(v)
		}
	}
	if len(in) != 0 {
		return FileLink{}, errors.New("trailing bytes")
	}
	if err := l.validate(); err != nil {
		return FileLink{}, err
	}
	// One encoding only: re-encode and compare (minimal varints, CID form).
	again, err := l.Marshal()
	if err != nil {
		return FileLink{}, err
	}
	if string(again) != string(b) {
		return FileLink{}, errors.New("non-canonical encoding")
	}
	return l, nil
}
