package overlay

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

const testRoom = "0123456789abcdef0123456789abcdef"

func newEd25519(t testing.TB) crypto.PrivKey {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// signedEnvelope returns a valid envelope signed by sk.
func signedEnvelope(t testing.TB, sk crypto.PrivKey, kind Kind, body []byte) *Envelope {
	t.Helper()
	e := &Envelope{Room: testRoom, Seq: 7, Lamport: 42, Time: 1_750_000_000_123, Kind: kind, Body: body}
	if err := e.Sign(sk); err != nil {
		t.Fatal(err)
	}
	return e
}

func assertSameEnvelope(t *testing.T, got, want *Envelope) {
	t.Helper()
	if got.Author != want.Author || got.Room != want.Room || got.Seq != want.Seq ||
		got.Lamport != want.Lamport || got.Time != want.Time || got.Kind != want.Kind ||
		!bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Sig, want.Sig) {
		t.Fatalf("envelope mismatch:\n got %+v\nwant %+v", got, want)
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ed := newEd25519(t)
	secp, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sk   crypto.PrivKey
		kind Kind
		body []byte
	}{
		{"chat", ed, KindChat, []byte("hello, world")},
		{"me unicode", ed, KindMe, []byte("waves 👋 — ünïcödé")},
		{"nick", ed, KindNick, []byte("alice")},
		{"join empty", ed, KindJoin, nil},
		{"leave", ed, KindLeave, nil},
		{"presence", ed, KindPresence, []byte{0, 1, 2}},
		{"max body", ed, KindChat, bytes.Repeat([]byte{0xab}, MaxBodySize)},
		{"secp256k1", secp, KindChat, []byte("other key type")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := signedEnvelope(t, tt.sk, tt.kind, tt.body)
			if !e.Author.MatchesPrivateKey(tt.sk) {
				t.Fatal("Sign did not set Author")
			}
			if err := e.Verify(); err != nil {
				t.Fatalf("Verify before marshal: %v", err)
			}
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxEnvelopeSize {
				t.Fatalf("encoded %d bytes", len(b))
			}
			got, err := UnmarshalEnvelope(b)
			if err != nil {
				t.Fatal(err)
			}
			assertSameEnvelope(t, got, e)
			if err := got.Verify(); err != nil {
				t.Fatalf("Verify after round trip: %v", err)
			}
			b2, err := got.Marshal()
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("re-marshal differs (%v)", err)
			}
			// The decoded envelope must not alias the input.
			for i := range b {
				b[i] = 0
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("decoded envelope aliases its input: %v", err)
			}
		})
	}
}

func TestSigningBytes(t *testing.T) {
	e := signedEnvelope(t, newEd25519(t), KindChat, []byte("hi"))
	sb := e.SigningBytes()
	if !bytes.HasPrefix(sb, []byte("f2f-envelope/1")) {
		t.Fatalf("SigningBytes = %q: missing domain prefix", sb)
	}
	if !bytes.Equal(sb, e.SigningBytes()) {
		t.Fatal("SigningBytes is not deterministic")
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The encoding is the signed fields followed by the signature.
	if !bytes.HasPrefix(b, sb[len("f2f-envelope/1"):]) {
		t.Fatal("Marshal does not start with the signed fields")
	}
}

func TestSignRejectsKeysWithoutInlinePublicKey(t *testing.T) {
	sk, _, err := crypto.GenerateECDSAKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Envelope{Room: testRoom, Seq: 1, Lamport: 1, Kind: KindChat, Body: []byte("x")}
	if err := e.Sign(sk); err == nil {
		t.Fatal("Sign with an ECDSA key (hashed peer ID) succeeded; no one could verify it")
	}
	if err := e.Sign(nil); err == nil {
		t.Fatal("Sign(nil) succeeded")
	}
}

func TestEnvelopeVerifyRejects(t *testing.T) {
	sk := newEd25519(t)
	other := newEd25519(t)
	otherID, err := peer.IDFromPrivateKey(other)
	if err != nil {
		t.Fatal(err)
	}
	hashedID, err := peer.IDFromBytes(append([]byte{0x12, 0x20}, bytes.Repeat([]byte{7}, 32)...)) // sha2-256 multihash
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(e *Envelope)
	}{
		{"body", func(e *Envelope) { e.Body[0] ^= 1 }},
		{"body appended", func(e *Envelope) { e.Body = append(e.Body, '!') }},
		{"seq", func(e *Envelope) { e.Seq++ }},
		{"lamport", func(e *Envelope) { e.Lamport++ }},
		{"time", func(e *Envelope) { e.Time++ }},
		{"kind", func(e *Envelope) { e.Kind = KindMe }},
		{"room", func(e *Envelope) { e.Room = "fedcba9876543210fedcba9876543210" }},
		{"author", func(e *Envelope) { e.Author = otherID }},
		{"sig flipped", func(e *Envelope) { e.Sig[3] ^= 0x80 }},
		{"sig truncated", func(e *Envelope) { e.Sig = e.Sig[:len(e.Sig)-1] }},
		{"sig missing", func(e *Envelope) { e.Sig = nil }},
		{"sig oversized", func(e *Envelope) { e.Sig = make([]byte, MaxSigSize+1) }},
		{"author empty", func(e *Envelope) { e.Author = "" }},
		{"author without key", func(e *Envelope) { e.Author = hashedID }},
		{"author garbage", func(e *Envelope) { e.Author = peer.ID("\x00\x03abc") }},
		{"signed by another key", func(e *Envelope) {
			author := e.Author
			if err := e.Sign(other); err != nil {
				t.Fatal(err)
			}
			e.Author = author // claim the original author
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := signedEnvelope(t, sk, KindChat, []byte("original text"))
			tt.mutate(e)
			if err := e.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify = %v, want ErrBadSignature", err)
			}
			// A tampered but well-formed envelope still decodes; Verify catches it.
			if b, err := e.Marshal(); err == nil {
				got, err := UnmarshalEnvelope(b)
				if err != nil {
					t.Fatal(err)
				}
				if err := got.Verify(); !errors.Is(err, ErrBadSignature) {
					t.Fatalf("Verify after round trip = %v, want ErrBadSignature", err)
				}
			}
		})
	}
}

func TestEnvelopeTooLarge(t *testing.T) {
	sk := newEd25519(t)
	e := signedEnvelope(t, sk, KindChat, bytes.Repeat([]byte("a"), MaxBodySize+1))
	if _, err := e.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Marshal = %v, want ErrTooLarge", err)
	}
	if _, err := UnmarshalEnvelope(make([]byte, MaxEnvelopeSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("UnmarshalEnvelope = %v, want ErrTooLarge", err)
	}
}

// wireField is one raw field for building hand-made encodings.
type wireField struct {
	num protowire.Number
	typ protowire.Type
	b   []byte // BytesType value
	v   uint64 // VarintType value
	raw []byte // if set, appended verbatim instead of tag and value
}

func encodeFields(fs []wireField) []byte {
	var b []byte
	for _, f := range fs {
		if f.raw != nil {
			b = append(b, f.raw...)
			continue
		}
		b = protowire.AppendTag(b, f.num, f.typ)
		switch f.typ {
		case protowire.BytesType:
			b = protowire.AppendBytes(b, f.b)
		case protowire.VarintType:
			b = protowire.AppendVarint(b, f.v)
		case protowire.Fixed32Type:
			b = protowire.AppendFixed32(b, uint32(f.v))
		case protowire.Fixed64Type:
			b = protowire.AppendFixed64(b, f.v)
		}
	}
	return b
}

func envelopeFields(e *Envelope) []wireField {
	return []wireField{
		{num: 1, typ: protowire.BytesType, b: []byte(e.Author)},
		{num: 2, typ: protowire.BytesType, b: []byte(e.Room)},
		{num: 3, typ: protowire.VarintType, v: e.Seq},
		{num: 4, typ: protowire.VarintType, v: e.Lamport},
		{num: 5, typ: protowire.VarintType, v: uint64(e.Time)},
		{num: 6, typ: protowire.VarintType, v: uint64(e.Kind)},
		{num: 7, typ: protowire.BytesType, b: e.Body},
		{num: 8, typ: protowire.BytesType, b: e.Sig},
	}
}

func TestUnmarshalEnvelopeMalformed(t *testing.T) {
	e := signedEnvelope(t, newEd25519(t), KindChat, []byte("hello"))
	good, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encodeFields(envelopeFields(e)), good) {
		t.Fatal("test encoder disagrees with Marshal")
	}
	// with returns the valid fields with field i replaced by f.
	with := func(i int, f wireField) []byte {
		fs := envelopeFields(e)
		fs[i] = f
		return encodeFields(fs)
	}
	without := func(i int) []byte {
		fs := envelopeFields(e)
		return encodeFields(append(fs[:i:i], fs[i+1:]...))
	}
	plus := func(extra ...wireField) []byte {
		return encodeFields(append(envelopeFields(e), extra...))
	}
	bytesField := func(num protowire.Number, b []byte) wireField {
		return wireField{num: num, typ: protowire.BytesType, b: b}
	}
	varint := func(num protowire.Number, v uint64) wireField {
		return wireField{num: num, typ: protowire.VarintType, v: v}
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"garbage", []byte("this is not an envelope")},
		{"truncated", good[:len(good)-1]},
		{"truncated in tag", good[:1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"field zero", append([]byte{0x00}, good...)},
		{"unknown field 9", plus(varint(9, 1))},
		{"unknown field 100", plus(bytesField(100, []byte("x")))},
		{"group wire type", append([]byte{0x0b}, good...)},
		{"duplicate seq", plus(varint(3, 8))},
		{"duplicate body", plus(bytesField(7, []byte("again")))},
		{"out of order", encodeFields(func() []wireField {
			fs := envelopeFields(e)
			fs[2], fs[3] = fs[3], fs[2]
			return fs
		}())},
		{"overlong varint", with(2, wireField{raw: []byte{0x18, 0x87, 0x00}})}, // seq 7 in two bytes
		{"author as varint", with(0, varint(1, 5))},
		{"seq as bytes", with(2, bytesField(3, []byte{7}))},
		{"kind as fixed32", with(5, wireField{num: 6, typ: protowire.Fixed32Type, v: 1})},
		{"invalid peer ID", with(0, bytesField(1, []byte("not a multihash")))},
		{"empty author", with(0, bytesField(1, nil))},
		{"author too long", with(0, bytesField(1, append([]byte{0x00, 0x81, 0x01}, make([]byte, 129)...)))},
		{"room upper case", with(1, bytesField(2, []byte(strings.ToUpper(testRoom))))},
		{"room short", with(1, bytesField(2, []byte(testRoom[:31])))},
		{"room long", with(1, bytesField(2, []byte(testRoom+"0")))},
		{"room not hex", with(1, bytesField(2, []byte("0123456789abcdef0123456789abcdeg")))},
		{"room name", with(1, bytesField(2, []byte("lobby")))},
		{"seq zero", with(2, varint(3, 0))},
		{"lamport zero", with(3, varint(4, 0))},
		{"negative time", with(4, varint(5, 1<<63))},
		{"kind zero", with(5, varint(6, 0))},
		{"kind twelve", with(5, varint(6, 12))},
		{"kind 257", with(5, varint(6, 257))},
		{"body too large", with(6, bytesField(7, make([]byte, MaxBodySize+1)))},
		{"sig empty", with(7, bytesField(8, nil))},
		{"sig too large", with(7, bytesField(8, make([]byte, MaxSigSize+1)))},
		{"length past end", with(7, wireField{raw: []byte{0x42, 0x7f, 1, 2}})},
	}
	for i, name := range []string{"author", "room", "seq", "lamport", "time", "kind", "body", "sig"} {
		tests = append(tests, struct {
			name string
			in   []byte
		}{"missing " + name, without(i)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalEnvelope(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalEnvelope = %+v, %v; want ErrMalformed", got, err)
			}
			t.Log(err)
			if got != nil {
				t.Fatal("envelope returned with an error")
			}
		})
	}
}

func TestEnvelopeValidate(t *testing.T) {
	sk := newEd25519(t)
	tests := []struct {
		name   string
		mutate func(e *Envelope)
	}{
		{"no author", func(e *Envelope) { e.Author = "" }},
		{"bad author", func(e *Envelope) { e.Author = peer.ID("xyz") }},
		{"author too long", func(e *Envelope) { e.Author = peer.ID(append([]byte{0x00, 0x81, 0x01}, make([]byte, 129)...)) }},
		{"room empty", func(e *Envelope) { e.Room = "" }},
		{"room upper", func(e *Envelope) { e.Room = strings.ToUpper(testRoom) }},
		{"seq zero", func(e *Envelope) { e.Seq = 0 }},
		{"lamport zero", func(e *Envelope) { e.Lamport = 0 }},
		{"negative time", func(e *Envelope) { e.Time = -1 }},
		{"kind zero", func(e *Envelope) { e.Kind = 0 }},
		{"kind unknown", func(e *Envelope) { e.Kind = 200 }},
		{"no sig", func(e *Envelope) { e.Sig = nil }},
		{"sig too large", func(e *Envelope) { e.Sig = make([]byte, MaxSigSize+1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := signedEnvelope(t, sk, KindChat, []byte("x"))
			if err := e.Validate(); err != nil {
				t.Fatalf("valid envelope: %v", err)
			}
			tt.mutate(e)
			if err := e.Validate(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Validate = %v, want ErrMalformed", err)
			}
			if _, err := e.Marshal(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Marshal = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("body too large", func(t *testing.T) {
		e := signedEnvelope(t, sk, KindChat, make([]byte, MaxBodySize+1))
		if err := e.Validate(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Validate = %v, want ErrMalformed", err)
		}
	})
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{KindChat: "chat", KindMe: "me", KindNick: "nick", KindJoin: "join",
		KindLeave: "leave", KindPresence: "presence", 0: "Kind(0)", 99: "Kind(99)"}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, s)
		}
		if k.Valid() != !strings.HasPrefix(s, "Kind(") {
			t.Errorf("Kind(%d).Valid() = %v", uint8(k), k.Valid())
		}
	}
}

func TestValidText(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		body string
		ok   bool
	}{
		{"chat", KindChat, "hello", true},
		{"chat multi-line", KindChat, "line one\n\tline two", true},
		{"chat unicode", KindChat, "日本語 👋", true},
		{"chat padded", KindChat, "  hi  ", true},
		{"chat max", KindChat, strings.Repeat("é", MaxChatRunes), true},
		{"chat max after trim", KindChat, " " + strings.Repeat("a", MaxChatRunes) + "\n", true},
		{"chat too long", KindChat, strings.Repeat("é", MaxChatRunes+1), false},
		{"chat empty", KindChat, "", false},
		{"chat blank", KindChat, " \n\t ", false},
		{"chat bad utf8", KindChat, "hi \xff", false},
		{"chat escape sequence", KindChat, "\x1b[2Jgotcha", false},
		{"chat carriage return", KindChat, "fake\rline", false},
		{"chat nul", KindChat, "a\x00b", false},
		{"me", KindMe, "waves", true},
		{"me empty", KindMe, "", false},
		{"nick", KindNick, "alice", true},
		{"nick inner space", KindNick, "alice b", true},
		{"nick unicode max", KindNick, strings.Repeat("ü", MaxNickRunes), true},
		{"nick too long", KindNick, strings.Repeat("a", MaxNickRunes+1), false},
		{"nick empty", KindNick, "", false},
		{"nick blank", KindNick, "   ", false},
		{"nick padded", KindNick, " alice", false},
		{"nick newline", KindNick, "ali\nce", false},
		{"nick control", KindNick, "ali\x07ce", false},
		{"nick bad utf8", KindNick, "\xc3", false},
		{"join empty", KindJoin, "", true},
		{"join nickname", KindJoin, "alice", true},
		{"join binary", KindJoin, "\xff\x00", true},
		{"join max", KindJoin, strings.Repeat("a", MaxControlBody), true},
		{"join too large", KindJoin, strings.Repeat("a", MaxControlBody+1), false},
		{"leave", KindLeave, "", true},
		{"presence", KindPresence, "x", true},
		{"presence too large", KindPresence, strings.Repeat("a", MaxControlBody+1), false},
		{"unknown kind", Kind(0), "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidText(tt.kind, []byte(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("ValidText: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ValidText = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzUnmarshalEnvelope(f *testing.F) {
	// A fixed key keeps the seed corpus deterministic.
	seed := sha256.Sum256([]byte("f2f fuzz seed"))
	sk, _, err := crypto.GenerateEd25519Key(bytes.NewReader(seed[:]))
	if err != nil {
		f.Fatal(err)
	}
	for i, kind := range []Kind{KindChat, KindNick, KindJoin, KindPresence} {
		e := signedEnvelope(f, sk, kind, []byte(fmt.Sprintf("body %d", i)))
		b, err := e.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(bytes.Repeat([]byte{0x0b}, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded envelope fails Validate: %v", err)
		}
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("decoded envelope fails Marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("decoded envelope re-encodes differently")
		}
		_ = e.Verify() // must not panic
		_ = ValidText(e.Kind, e.Body)
	})
}
