package testnet

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"

	"github.com/ipfs/go-cid"

	"github.com/fluttershy/face2face/node"
)

// RandomReader returns n pseudo-random bytes from seed (ChaCha8): the same
// seed gives the same bytes, which do not compress or deduplicate.
func RandomReader(n int64, seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// SHA256Of hashes what r yields.
func SHA256Of(r io.Reader) ([32]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(r, 1<<20)); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// CatSHA256 hashes a node's local copy of root.
func CatSHA256(ctx context.Context, nd *node.Node, root cid.Cid) ([32]byte, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := nd.Files().Cat(ctx, root, pw)
		pw.CloseWithError(err)
	}()
	sum, err := SHA256Of(pr)
	pr.CloseWithError(errors.New("done"))
	return sum, err
}
