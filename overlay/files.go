package overlay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// SharedFile is a file shared into a room (`f2f file ls --room`).
type SharedFile struct {
	FileLink
	Room   string    `json:"room"`
	Sharer string    `json:"sharer"`
	Nick   string    `json:"nick"`
	Time   time.Time `json:"time"`
}

// ShareFile posts link in a room's chat (the /share command). It is stored
// before it is published, like Send.
func (s *Service) ShareFile(ctx context.Context, ref string, link FileLink) (ChatMessage, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return ChatMessage{}, err
	}
	body, err := link.Marshal()
	if err != nil {
		return ChatMessage{}, err
	}
	return r.publishChat(ctx, KindFile, body)
}

// Files lists the files shared in a room, in log order, with the sharer's
// nickname at the time.
func (s *Service) Files(ctx context.Context, ref string) ([]SharedFile, error) {
	msgs, err := s.Log(ctx, ref, time.Time{}, 0)
	if err != nil {
		return nil, err
	}
	var out []SharedFile
	for _, m := range msgs {
		if m.File == nil {
			continue
		}
		out = append(out, SharedFile{FileLink: *m.File, Room: m.Room, Sharer: m.Author, Nick: m.Nick, Time: m.Time})
	}
	return out, nil
}

// noteFile records that the file of a KindFile body was shared in r.
func (s *Service) noteFile(r *room, body []byte) {
	l, err := decodeFileLink(body)
	if err != nil {
		return
	}
	s.addFileRoom(l.CID, r.hash, r.sec.Encrypted())
}

func (s *Service) addFileRoom(c cid.Cid, room string, encrypted bool) {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	if s.fileRooms == nil {
		s.fileRooms = map[string]map[string]bool{}
	}
	rooms := s.fileRooms[c.KeyString()]
	if rooms == nil {
		rooms = map[string]bool{}
		s.fileRooms[c.KeyString()] = rooms
	}
	rooms[room] = encrypted
}

// loadFileRooms rebuilds the file access policy from the file messages of
// every stored room, joined or not: a password room's files stay limited
// to its members after this node left the room.
func (s *Service) loadFileRooms(ctx context.Context) error {
	recs, err := s.store.Rooms(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range recs {
		key, err := ParseRoomKey(rec.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("room %s: %w", rec.Name, err))
			continue
		}
		sec, err := key.Secrets(rec.Password)
		if err != nil {
			errs = append(errs, fmt.Errorf("room %s: %w", rec.Name, err))
			continue
		}
		msgs, err := s.store.FileMessages(ctx, rec.Hash)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range msgs {
			body, err := sec.Open(m.Env.Body, []byte(rec.Hash))
			if err != nil {
				continue
			}
			if l, err := decodeFileLink(body); err == nil {
				s.addFileRoom(l.CID, rec.Hash, sec.Encrypted())
			}
		}
	}
	cids, hashes, err := s.store.Fetched(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for i, b := range cids {
		if c, err := cid.Cast(b); err == nil {
			s.addFileRoom(c, hashes[i], true)
		}
	}
	return errors.Join(errs...)
}

// NoteFetched is told, once every block of file c is here, which peers sent
// them. When c was shared in no room the node knows of and every sender is
// a proven member of a joined password room, c is a password-room file
// that reached the node through its membership: it stays restricted to
// those rooms (recorded, so also after a restart and after leaving), and
// is neither served to others nor announced. A file any other peer sent is
// left as it is.
func (s *Service) NoteFetched(ctx context.Context, c cid.Cid, from []peer.ID) error {
	s.fileMu.Lock()
	known := len(s.fileRooms[c.KeyString()]) > 0
	s.fileMu.Unlock()
	if known || len(from) == 0 {
		return nil
	}
	s.mu.Lock()
	joined := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		if r.sec.Encrypted() {
			joined = append(joined, r)
		}
	}
	s.mu.Unlock()
	rooms := map[string]bool{}
	for _, p := range from {
		in := false
		for _, r := range joined {
			if r.isProven(p) {
				rooms[r.hash], in = true, true
			}
		}
		if !in {
			return nil
		}
	}
	for h := range rooms {
		if err := s.store.AddFetched(ctx, c.Bytes(), h); err != nil {
			return err
		}
		s.addFileRoom(c, h, true)
	}
	return nil
}

// FileRestricted reports whether the file c was shared only in password
// rooms: its blocks go only to proven members of those rooms, and it is
// not announced in the DHT.
func (s *Service) FileRestricted(c cid.Cid) bool {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	rooms := s.fileRooms[c.KeyString()]
	if len(rooms) == 0 {
		return false
	}
	for _, enc := range rooms {
		if !enc {
			return false
		}
	}
	return true
}

// FileAllowed reports whether p may receive the blocks of file c: yes
// unless c was shared only in password rooms, and then only when p proved
// the key of one of them.
func (s *Service) FileAllowed(c cid.Cid, p peer.ID) bool {
	s.fileMu.Lock()
	rooms := s.fileRooms[c.KeyString()]
	var pw []string
	for h, enc := range rooms {
		if !enc {
			s.fileMu.Unlock()
			return true
		}
		pw = append(pw, h)
	}
	s.fileMu.Unlock()
	if len(pw) == 0 {
		return true
	}
	for _, h := range pw {
		if r := s.roomByHash(h); r != nil && r.isProven(p) {
			return true
		}
	}
	return false
}

// CheckJoined returns nil when ref names a joined room, and otherwise the
// error ShareFile would give (so a share can fail before a long import).
func (s *Service) CheckJoined(ctx context.Context, ref string) error {
	_, err := s.joined(ctx, ref)
	return err
}
