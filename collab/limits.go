package collab

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
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
		n, used, err := chunkSize(c, max-total)
		if err != nil {
			return fmt.Errorf("sync message: %w", err)
		}
		if used != len(c) {
			return bad("a change with trailing bytes")
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

// chunkSize reads the Automerge chunk at the start of c: its size once
// inflated (at most limit+1 is inflated to tell) and how many bytes of c
// it takes.
func chunkSize(c []byte, limit int) (size, used int, err error) {
	if len(c) < 9 || !bytes.Equal(c[:4], []byte{0x85, 0x6f, 0x4a, 0x83}) {
		return 0, 0, fmt.Errorf("%w: a change is no Automerge chunk", errBadFrame)
	}
	typ := c[8]
	n, k := binary.Uvarint(c[9:])
	if k <= 0 || n > uint64(len(c)-9-k) {
		return 0, 0, fmt.Errorf("%w: a change's length", errBadFrame)
	}
	used = 9 + k + int(n)
	body := c[9+k : used]
	if typ != 2 { // 2: a compressed change
		return used, used, nil
	}
	r := flate.NewReader(bytes.NewReader(body))
	defer r.Close()
	got, err := io.Copy(io.Discard, io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: a compressed change: %v", errBadFrame, err)
	}
	return int(got) + 9 + k, used, nil
}

// pushedChanges checks pushed changes (chunks one after the other, as
// Automerge's incremental save writes them) as checkChanges does a sync
// message's, and reads from each change its hash and the hashes it
// depends on (a change's first field), so that changes whose
// dependencies are missing go to the sync protocol instead (Automerge
// refuses to load them).
func pushedChanges(b []byte, max int) (hashes, deps [][32]byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: no changes", errBadFrame)
	}
	total := 0
	for len(b) > 0 {
		n, used, err := chunkSize(b, max-total)
		if err != nil {
			return nil, nil, err
		}
		total += n
		if total > max {
			return nil, nil, fmt.Errorf("%w: pushed changes pass %d bytes", ErrTooLarge, max)
		}
		typ, body, err := chunkBody(b[:used])
		if err != nil {
			return nil, nil, err
		}
		if typ != 1 {
			return nil, nil, fmt.Errorf("%w: a pushed chunk of type %d is no change", errBadFrame, typ)
		}
		h := sha256.New()
		h.Write([]byte{1})
		h.Write(binary.AppendUvarint(nil, uint64(len(body))))
		h.Write(body)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		hashes = append(hashes, sum)
		nd, k := binary.Uvarint(body)
		if k <= 0 || nd > uint64(len(body)-k)/32 {
			return nil, nil, fmt.Errorf("%w: a change's dependencies", errBadFrame)
		}
		for i := range int(nd) {
			var d [32]byte
			copy(d[:], body[k+32*i:])
			deps = append(deps, d)
		}
		b = b[used:]
	}
	return hashes, deps, nil
}

// chunkBody returns a chunk's type and body, inflated when compressed
// (as a change: type 1); the chunk's size was checked.
func chunkBody(c []byte) (byte, []byte, error) {
	typ := c[8]
	_, k := binary.Uvarint(c[9:])
	body := c[9+k:]
	if typ != 2 {
		return typ, body, nil
	}
	r := flate.NewReader(bytes.NewReader(body))
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: a compressed change: %v", errBadFrame, err)
	}
	return 1, out, nil
}
