package overlay

import (
	"strconv"
	"testing"
)

// BenchmarkPasswordGuess is one offline password guess against a room key:
// the Argon2id derivation and the check compare (what someone holding a
// password room's key, but not its password, must pay per guess). Guesses
// per second per core = 1e9 / ns/op with GOMAXPROCS=1.
func BenchmarkPasswordGuess(b *testing.B) {
	for _, v := range []byte{RoomKeyVersion, 1} {
		b.Run("keyv"+strconv.Itoa(int(v)), func(b *testing.B) {
			var id [16]byte
			var check [4]byte
			for i := 0; b.Loop(); i++ {
				c := passwordCheck(passwordKey(id, "guess"+strconv.Itoa(i), v))
				if c == check {
					b.Log("hit")
				}
			}
		})
	}
}
