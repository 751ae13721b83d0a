package overlay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Stage operations: a member opens a shared file as a tab on the room's
// stage (and shows it), shows another open tab, or closes one.
const (
	StageOpen  = "open"
	StageShow  = "show"
	StageClose = "close"
)

var stageOps = []string{"", StageOpen, StageShow, StageClose}

// StageOp is the body of a KindStage envelope: one change of the room's
// stage. The stage is room state: every member folds the room's log of
// stage messages the same way, and history sync brings a late joiner the
// whole log.
//
// Wire format (protobuf, by hand): 1 op (varint: 1 open, 2 show, 3 close),
// 2 the file (an encoded FileLink), in field order.
type StageOp struct {
	Op   string   `json:"op"`
	File FileLink `json:"file"`
}

// Marshal encodes the op; it validates first.
func (o StageOp) Marshal() ([]byte, error) {
	i := slices.Index(stageOps, o.Op)
	if i <= 0 {
		return nil, fmt.Errorf("%w: stage op %q (want open, show or close)", ErrMalformed, o.Op)
	}
	link, err := o.File.Marshal()
	if err != nil {
		return nil, err
	}
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(i))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, link), nil
}

func decodeStageOp(b []byte) (StageOp, error) {
	if len(b) > MaxFileLinkSize+16 {
		return StageOp{}, fmt.Errorf("stage op of %d bytes is too large", len(b))
	}
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != 1 || typ != protowire.VarintType {
		return StageOp{}, errors.New("stage op: want field 1 (op)")
	}
	b = b[n:]
	v, n := protowire.ConsumeVarint(b)
	if n < 0 || v == 0 || v >= uint64(len(stageOps)) {
		return StageOp{}, errors.New("stage op: unknown op")
	}
	b = b[n:]
	num, typ, n = protowire.ConsumeTag(b)
	if n < 0 || num != 2 || typ != protowire.BytesType {
		return StageOp{}, errors.New("stage op: want field 2 (file)")
	}
	b = b[n:]
	link, n := protowire.ConsumeBytes(b)
	if n < 0 || n != len(b) {
		return StageOp{}, errors.New("stage op: bad file field or trailing bytes")
	}
	l, err := decodeFileLink(link)
	if err != nil {
		return StageOp{}, err
	}
	return StageOp{Op: stageOps[v], File: l}, nil
}

// StageTab is one open tab of a room's stage.
type StageTab struct {
	File FileLink  `json:"file"`
	By   string    `json:"by"`
	Nick string    `json:"nick"`
	Time time.Time `json:"time"`
}

// Stage is a room's stage: its open tabs in the order they were opened and
// the one showing (its CID; empty when no tab is open).
type Stage struct {
	Room    string     `json:"room"`
	Tabs    []StageTab `json:"tabs"`
	Showing string     `json:"showing,omitempty"`
}

// MaxStageTabs is the most tabs a stage keeps open: opening another closes
// the oldest.
const MaxStageTabs = 16

// SetStage posts a stage change in a room's chat: op on a file shared in
// the room. Stored before it is published, like Send.
func (s *Service) SetStage(ctx context.Context, ref string, op StageOp) (ChatMessage, error) {
	r, err := s.joined(ctx, ref)
	if err != nil {
		return ChatMessage{}, err
	}
	body, err := op.Marshal()
	if err != nil {
		return ChatMessage{}, err
	}
	return r.publishChat(ctx, KindStage, body)
}

// Stage folds a room's stage messages, in log order, into its stage.
func (s *Service) Stage(ctx context.Context, ref string) (Stage, error) {
	msgs, err := s.Log(ctx, ref, time.Time{}, 0)
	if err != nil {
		return Stage{}, err
	}
	st := Stage{Tabs: []StageTab{}}
	for _, m := range msgs {
		st.Room = m.Room
		if m.Stage == nil {
			continue
		}
		st.apply(*m.Stage, m)
	}
	return st, nil
}

func (st *Stage) apply(op StageOp, m ChatMessage) {
	key := op.File.CID.String()
	i := slices.IndexFunc(st.Tabs, func(t StageTab) bool { return t.File.CID.Equals(op.File.CID) })
	switch op.Op {
	case StageOpen:
		if i < 0 {
			st.Tabs = append(st.Tabs, StageTab{File: op.File, By: m.Author, Nick: m.Nick, Time: m.Time})
			if len(st.Tabs) > MaxStageTabs {
				st.Tabs = st.Tabs[1:]
			}
		}
		st.Showing = key
	case StageShow:
		if i >= 0 {
			st.Showing = key
		}
	case StageClose:
		if i < 0 {
			return
		}
		st.Tabs = slices.Delete(st.Tabs, i, i+1)
		if st.Showing == key {
			st.Showing = ""
			if n := len(st.Tabs); n > 0 {
				st.Showing = st.Tabs[min(i, n-1)].File.CID.String()
			}
		}
	}
	if st.Showing != "" && !slices.ContainsFunc(st.Tabs, func(t StageTab) bool { return t.File.CID.String() == st.Showing }) {
		st.Showing = ""
	}
}

// stageText is a stage message's text in the chat log.
func stageText(op StageOp) string {
	switch op.Op {
	case StageOpen:
		return "put " + op.File.Name + " on the stage"
	case StageShow:
		return "showed " + op.File.Name + " on the stage"
	}
	return "took " + op.File.Name + " off the stage"
}
