package overlay

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Has reports whether the room's log holds the message (author, seq): the
// chat validator's replay check.
func (s *Store) Has(ctx context.Context, room string, author peer.ID, seq uint64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM messages WHERE room = ? AND author = ? AND seq = ?`,
		room, author.String(), int64(seq)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("overlay: has %s/%s/%d: %w", room, author, seq, err)
	}
	return n > 0, nil
}
