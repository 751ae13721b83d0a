package media

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A member asks the mixer for mixed audio: with libopus it records one
// mixed stream instead of one per publisher; without, the mixer says why.
func TestMixedAudio(t *testing.T) {
	rooms := &staticRooms{hash: "room1"}
	nodes := newTestNodes(t, 4, func(int) Rooms { return rooms })
	var ids []peer.ID
	for _, n := range nodes {
		ids = append(ids, n.h.ID())
	}
	rooms.set(Topology{Star: true, Mixer: ids[0], Members: ids})
	dir := t.TempDir()
	if err := nodes[3].svc.SetMix("room1", true, false); err != nil {
		t.Fatal(err)
	}
	if err := nodes[3].svc.Record("room1", dir); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:3] {
		if err := n.svc.Publish("room1", PublishSpec{Video: "../testnet/testdata/test.ivf", Audio: "../testnet/testdata/test.ogg", Loop: true}); err != nil {
			t.Fatal(err)
		}
	}
	if nodes[0].svc.MixingAvailable() != nil {
		waitFor(t, 30*time.Second, "the mixer's refusal", func() bool {
			return nodes[3].svc.Stats("room1").MixRefused != ""
		})
		st := nodes[3].svc.Stats("room1")
		t.Logf("refused: %s", st.MixRefused)
		waitFor(t, 30*time.Second, "separate audio instead", func() bool {
			st := nodes[3].svc.Stats("room1")
			return recordedFrames(st, ids[1], kindAudio) > 0 && recordedFrames(st, ids[2], kindAudio) > 0
		})
		return
	}
	mixKey := func(st RoomStats) uint64 {
		for _, f := range st.Files {
			if f.Kind == kindAudio && f.Origin == ids[0].String() && len(f.Path) > 0 && f.Path[len(f.Path)-len("mix-audio.ogg"):] == "mix-audio.ogg" {
				return f.Frames
			}
		}
		return 0
	}
	waitFor(t, 30*time.Second, "100 mixed audio packets", func() bool { return mixKey(nodes[3].svc.Stats("room1")) >= 100 })
	st := nodes[3].svc.Stats("room1")
	if st.MixedBy != ids[0].String() {
		t.Fatalf("mixed by %q", st.MixedBy)
	}
	// From the mixer: video per publisher, one mixed audio.
	waitFor(t, 30*time.Second, "only the mixed audio from the mixer", func() bool {
		for _, e := range nodes[3].svc.Stats("room1").Edges {
			if e.Direction != "recv" || e.Peer != ids[0].String() {
				continue
			}
			audio, mix := 0, 0
			for _, tr := range e.Tracks {
				if tr.Kind == kindAudio {
					audio++
					if tr.ID == trackMix {
						mix++
					}
				}
			}
			return audio == 1 && mix == 1
		}
		return false
	})
	mst := nodes[0].svc.Stats("room1").Mix
	if mst == nil || mst.Receivers != 1 || mst.Inputs != 3 {
		t.Fatalf("mixer stats %+v", mst)
	}
	t.Logf("mixer: %+v", *mst)
	res, err := nodes[3].svc.Stop("room1")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		ffmpegDecodes(t, f.Path)
	}
}
