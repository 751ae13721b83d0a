package overlay

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func stageFile(t testing.TB, name string) FileLink {
	t.Helper()
	h, err := multihash.Sum([]byte(name), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return FileLink{CID: cid.NewCidV1(cid.Raw, h), Name: name, Size: 10, MIME: "image/png"}
}

// TestStageFold: opening shows a tab, show switches, close falls back to
// a neighbour, and the oldest tab closes past MaxStageTabs; every op
// round-trips through its wire form.
func TestStageFold(t *testing.T) {
	a, b, c := stageFile(t, "a.png"), stageFile(t, "b.png"), stageFile(t, "c.png")
	st := Stage{Tabs: []StageTab{}}
	for i, step := range []struct {
		op      StageOp
		tabs    int
		showing FileLink
	}{
		{StageOp{StageOpen, a}, 1, a},
		{StageOp{StageOpen, b}, 2, b},
		{StageOp{StageShow, a}, 2, a},
		{StageOp{StageOpen, c}, 3, c},
		{StageOp{StageClose, c}, 2, b},
		{StageOp{StageShow, c}, 2, b}, // not open: no change
		{StageOp{StageClose, a}, 1, b},
	} {
		raw, err := step.op.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		op, err := decodeStageOp(raw)
		if err != nil || op.Op != step.op.Op || !op.File.CID.Equals(step.op.File.CID) {
			t.Fatalf("step %d: round trip %+v %v", i, op, err)
		}
		if err := ValidText(KindStage, raw); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		st.apply(op, ChatMessage{Author: "x", Time: time.Now()})
		if len(st.Tabs) != step.tabs || st.Showing != step.showing.CID.String() {
			t.Fatalf("step %d (%s %s): %d tabs showing %q, want %d showing %s", i, step.op.Op, step.op.File.Name, len(st.Tabs), st.Showing, step.tabs, step.showing.Name)
		}
	}
	for i := range MaxStageTabs + 3 {
		st.apply(StageOp{StageOpen, stageFile(t, string(rune('d'+i))+".txt")}, ChatMessage{})
	}
	if len(st.Tabs) != MaxStageTabs {
		t.Fatalf("%d tabs, want at most %d", len(st.Tabs), MaxStageTabs)
	}
	for _, bad := range [][]byte{nil, {0x08, 0x09}, {0x08, 0x01}, {0x08, 0x01, 0x12, 0x01, 0x00}} {
		if err := ValidText(KindStage, bad); err == nil {
			t.Errorf("stage body %x accepted", bad)
		}
	}
}

func FuzzDecodeStageOp(f *testing.F) {
	raw, err := StageOp{StageOpen, stageFile(f, "a.png")}.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := decodeStageOp(b)
		if err != nil {
			return
		}
		if _, err := op.Marshal(); err != nil {
			t.Fatalf("decoded op %+v does not encode: %v", op, err)
		}
	})
}
