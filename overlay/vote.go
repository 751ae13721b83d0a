package overlay

import (
	"context"
	"errors"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
)

// VoteProtocol carries an election vote straight to the candidate it is
// for (DESIGN.md, "Wire names"). A vote matters to its candidate only;
// published on the control topic, every vote of a room of n would be
// delivered to and verified by all n members, n*n per candidacy, which in
// a room of 50 turned a contested election into thousands of messages a
// second and stalled the chat (issue 19). The stream carries the same
// signed envelope the topic would (KindElect, op vote); a vote that cannot
// go this way (no direct connection, the candidate does not speak the
// protocol, no answer) is published on the control topic as before.
//
//	voter -> candidate: varint length || envelope
//	candidate -> voter: 1 byte, voteOK
const VoteProtocol protocol.ID = "/f2f/vote/1"

const (
	maxVoteFrame = 4 << 10
	voteOK       = 1
	// maxVoteHandlers bounds the votes being checked at once.
	maxVoteHandlers = 16
)

var errVoteRefused = errors.New("vote not taken")

// sendVote delivers the vote m to its candidate over VoteProtocol, in the
// background, falling back to the control topic.
func (r *room) sendVote(m Elect) {
	raw, err := r.sealLive(KindElect, m.Marshal())
	if err != nil {
		return
	}
	to := m.Peer
	if to == r.s.h.ID() || !r.s.connected(to) {
		_ = r.control.Publish(r.ctx, raw)
		return
	}
	r.goroutine(func() {
		if err := r.s.deliverVote(r.ctx, to, raw); err != nil && r.ctx.Err() == nil {
			r.s.log.Debug("vote stream; publishing it", "room", r.hash, "peer", to, "err", err)
			_ = r.control.Publish(r.ctx, raw)
		}
	})
}

func (s *Service) deliverVote(ctx context.Context, to peer.ID, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.params.Room.StreamTimeout)
	defer cancel()
	st, err := s.h.NewStream(network.WithNoDial(ctx, "vote to a connected candidate"), to, VoteProtocol)
	if err != nil {
		return err
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	if err := msgio.NewVarintWriter(st).WriteMsg(raw); err != nil {
		_ = st.Reset()
		return err
	}
	_ = st.CloseWrite()
	var ack [1]byte
	if _, err := st.Read(ack[:]); err != nil {
		return err
	}
	if ack[0] != voteOK {
		return errVoteRefused
	}
	return nil
}

// handleVote takes a vote sent directly by its author: the same checks as
// a vote on the control topic (a proven member of the envelope's room,
// signed, fresh, within the author's rate), and the author must be the
// peer at the other end of the stream and a member the room knows. Only a
// vote taken is answered; anything else resets the stream.
func (s *Service) handleVote(st network.Stream) {
	defer st.Close()
	select {
	case s.voteSem <- struct{}{}:
		defer func() { <-s.voteSem }()
	default:
		_ = st.Reset()
		return
	}
	from := st.Conn().RemotePeer()
	_ = st.SetDeadline(time.Now().Add(s.params.Room.StreamTimeout))
	rd := msgio.NewVarintReaderSize(st, maxVoteFrame)
	data, err := rd.ReadMsg()
	if err != nil {
		_ = st.Reset()
		return
	}
	defer rd.ReleaseMsg(data)
	env, err := UnmarshalEnvelope(data)
	if err != nil {
		s.stats.malformed.Add(1)
		_ = st.Reset()
		return
	}
	r := s.roomByHash(env.Room)
	if r == nil || env.Author != from || !r.isMember(from) {
		_ = st.Reset()
		return
	}
	env, body, res := r.checkLive(controlTopic(r.hash), from, data, KindElect)
	if res != pubsub.ValidationAccept {
		_ = st.Reset()
		return
	}
	x, err := UnmarshalElect(body)
	if err != nil || x.Op != OpVote {
		s.stats.malformed.Add(1)
		_ = st.Reset()
		return
	}
	r.s.stats.votesDirect.Add(1)
	r.seen(env, body)
	r.el.onElect(from, x)
	_, _ = st.Write([]byte{voteOK})
}
