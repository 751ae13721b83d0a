package collab

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

// checkChanges reads an Automerge sync message's framing (heads, need,
// have, then the changes, each a chunk; then fields newer versions add)
// without Automerge, and refuses
// one whose changes hold more than max bytes once inflated: a peer's
// small compressed change must not make the Rust core inflate gigabytes.
// A message that does not parse is refused too.
func checkChanges(msg []byte, max int) error {
	bad := func(what string) error { return fmt.Errorf("%w: sync message: %s", errBadFrame, what) }
	if len(msg) == 0 || msg[0] != 0x42 && msg[0] != 0x43 {
		return bad("not an Automerge sync message")
	}
	b := msg[1:]
	uvarint := func() (uint64, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return n, true
	}
	hashes := func() bool {
		n, ok := uvarint()
		if !ok || n > uint64(len(b))/32 {
			return false
		}
		b = b[32*n:]
		return true
	}
	bytesField := func() ([]byte, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(b)) {
			return nil, false
		}
		v := b[:n]
		b = b[n:]
		return v, true
	}
	if !hashes() {
		return bad("heads")
	}
	if !hashes() {
		return bad("need")
	}
	nHave, ok := uvarint()
	if !ok || nHave > uint64(len(b)) {
		return bad("have")
	}
	for range nHave {
		if !hashes() {
			return bad("have")
		}
		if _, ok := bytesField(); !ok {
			return bad("bloom filter")
		}
	}
	nChanges, ok := uvarint()
	if !ok || nChanges > uint64(len(b)) {
		return bad("changes")
	}
	total := 0
	for range nChanges {
		c, ok := bytesField()
		if !ok {
			return bad("change")
		}
		n, err := chunkSize(c, max-total)
		if err != nil {
			return err
		}
		total += n
		if total > max {
			return fmt.Errorf("%w: a sync message's changes pass %d bytes", ErrTooLarge, max)
		}
	}
	// What follows the changes (newer versions append the capabilities
	// they support) is Automerge's to read.
	return nil
}

// chunkSize is the size of an Automerge chunk once inflated (at most
// limit+1 is inflated to tell).
func chunkSize(c []byte, limit int) (int, error) {
	if len(c) < 9 || !bytes.Equal(c[:4], []byte{0x85, 0x6f, 0x4a, 0x83}) {
		return 0, fmt.Errorf("%w: sync message: a change is no Automerge chunk", errBadFrame)
	}
	typ := c[8]
	n, k := binary.Uvarint(c[9:])
	if k <= 0 || n > uint64(len(c)-9-k) {
		return 0, fmt.Errorf("%w: sync message: a change's length", errBadFrame)
	}
	body := c[9+k : 9+k+int(n)]
	if typ != 2 { // 2: a compressed change
		return len(c), nil
	}
	r := flate.NewReader(bytes.NewReader(body))
	defer r.Close()
	got, err := io.Copy(io.Discard, io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return 0, fmt.Errorf("%w: sync message: a compressed change: %v", errBadFrame, err)
	}
	return int(got) + 9 + k, nil
}
