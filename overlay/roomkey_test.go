package overlay

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rawRoomKey encodes raw room key bytes the way RoomKey.String does, so tests
// can build keys String would never produce.
func rawRoomKey(t *testing.T, raw []byte) string {
	t.Helper()
	return RoomKeyPrefix + roomKeyEncoding().EncodeToString(raw)
}

// header builds version, flags, ID and Check bytes.
func roomKeyHeaderBytes(t *testing.T, version, flags byte, check [4]byte) []byte {
	t.Helper()
	b := []byte{version, flags}
	for i := range 16 {
		b = append(b, byte(i+1))
	}
	return append(b, check[:]...)
}

func TestRoomKeyRoundTrip(t *testing.T) {
	id := [16]byte{0: 0xff, 7: 0x42, 15: 0x01}
	tests := []struct {
		name string
		key  RoomKey
	}{
		{"open ascii", RoomKey{ID: id, Name: "lobby"}},
		{"open one byte", RoomKey{ID: id, Name: "x"}},
		{"password", RoomKey{ID: id, Name: "secret club", Password: true, Check: [4]byte{1, 2, 3, 4}}},
		{"password zero check", RoomKey{ID: id, Name: "zero", Password: true}},
		{"unicode", RoomKey{ID: id, Name: "café ☕ 日本語の部屋"}},
		{"emoji zwj", RoomKey{ID: id, Name: "👩‍👩‍👧 family", Password: true, Check: [4]byte{9, 9, 9, 9}}},
		{"max name", RoomKey{ID: id, Name: strings.Repeat("é", MaxRoomNameLen/2)}},
		{"zero id", RoomKey{Name: "zeros"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.key.String()
			if !strings.HasPrefix(s, "f2f1") || s != strings.ToLower(s) {
				t.Fatalf("String() = %q: want lower case with prefix f2f1", s)
			}
			got, err := ParseRoomKey(s)
			if err != nil {
				t.Fatalf("ParseRoomKey(%q): %v", s, err)
			}
			if got != tt.key {
				t.Fatalf("round trip: got %+v, want %+v", got, tt.key)
			}
			// Copy-paste from a terminal often carries white space.
			got, err = ParseRoomKey("  " + s + "\n")
			if err != nil || got != tt.key {
				t.Fatalf("ParseRoomKey with surrounding space: %+v, %v", got, err)
			}
		})
	}
}

func TestNewRoomKeyOpen(t *testing.T) {
	k, s, err := NewRoomKey("open room", "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Password || k.Check != ([4]byte{}) || k.Name != "open room" {
		t.Fatalf("unexpected key %+v", k)
	}
	if k.ID == ([16]byte{}) {
		t.Fatal("zero room ID")
	}
	if s.Encrypted() {
		t.Fatal("open room secrets are encrypted")
	}
	k2, _, err := NewRoomKey("open room", "")
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID == k.ID {
		t.Fatal("two rooms got the same ID")
	}
	parsed, err := ParseRoomKey(k.String())
	if err != nil || parsed != k {
		t.Fatalf("round trip: %+v, %v", parsed, err)
	}
}

func TestNewRoomKeyBadName(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("a", MaxRoomNameLen+1), "bad\xffutf8", "tab\there", "nl\n", "del\x7f", "c1\u0085"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			_, _, err := NewRoomKey(name, "")
			if !errors.Is(err, ErrBadRoomKey) {
				t.Fatalf("NewRoomKey(%q) = %v, want ErrBadRoomKey", name, err)
			}
		})
	}
}

func TestParseRoomKeyRejects(t *testing.T) {
	valid := RoomKey{ID: [16]byte{1, 2, 3}, Name: "room"}.String()
	body := strings.TrimPrefix(valid, RoomKeyPrefix)
	open := func(name string) []byte {
		return append(roomKeyHeaderBytes(t, 1, 0, [4]byte{}), name...)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"prefix only", RoomKeyPrefix},
		{"no prefix", body},
		{"other version prefix", "f2f2" + body},
		{"upper case", strings.ToUpper(valid)},
		{"upper case body", RoomKeyPrefix + strings.ToUpper(body)},
		{"invalid base32 char", valid[:len(valid)-1] + "1"},
		{"padding", valid + "="},
		{"inner space", valid[:10] + " " + valid[10:]},
		{"truncated header", rawRoomKey(t, open("")[:10])},
		{"version 0", rawRoomKey(t, append(roomKeyHeaderBytes(t, 0, 0, [4]byte{}), "room"...))},
		{"version 3", rawRoomKey(t, append(roomKeyHeaderBytes(t, 3, 0, [4]byte{}), "room"...))},
		{"unknown flag", rawRoomKey(t, append(roomKeyHeaderBytes(t, 1, 2, [4]byte{}), "room"...))},
		{"open room with check", rawRoomKey(t, append(roomKeyHeaderBytes(t, 1, 0, [4]byte{0, 0, 0, 1}), "room"...))},
		{"empty name", rawRoomKey(t, open(""))},
		{"name too long", rawRoomKey(t, open(strings.Repeat("a", MaxRoomNameLen+1)))},
		{"invalid utf8", rawRoomKey(t, open("ro\xc3om"))},
		{"control char", rawRoomKey(t, open("ro\x1bom"))},
		{"newline", rawRoomKey(t, open("room\n"))},
		{"very long", RoomKeyPrefix + strings.Repeat("a", 10000)},
	}
	// A non-canonical encoding: the last character carries unused bits.
	// "room" makes 26 bytes = 42 base32 chars, 2 unused bits in the last one.
	last := body[len(body)-1]
	idx := strings.IndexByte(roomKeyAlphabet, last)
	alt := roomKeyAlphabet[idx^1]
	tests = append(tests, struct {
		name string
		in   string
	}{"non-canonical trailing bits", RoomKeyPrefix + body[:len(body)-1] + string(alt)})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseRoomKey(tt.in)
			if !errors.Is(err, ErrBadRoomKey) {
				t.Fatalf("ParseRoomKey(%q) = %+v, %v; want ErrBadRoomKey", tt.in, k, err)
			}
			t.Log(err)
		})
	}
}

// roomFixture holds secrets derived once (Argon2id is deliberately slow).
type roomFixture struct {
	key       RoomKey // password room "Café Secret" with password "hunter2"
	created   *RoomSecrets
	joined    *RoomSecrets
	otherPass *RoomSecrets // same ID and name, password "hunter3"
	openKey   RoomKey      // open room with the same ID and name
	open      *RoomSecrets
	otherRoom *RoomSecrets // another open room
}

func newRoomFixture(t *testing.T) *roomFixture {
	t.Helper()
	var f roomFixture
	var err error
	f.key, f.created, err = NewRoomKey("Café Secret", "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if f.joined, err = f.key.Secrets("hunter2"); err != nil {
		t.Fatal(err)
	}
	other := RoomKey{ID: f.key.ID, Name: f.key.Name, Password: true}
	other.Check = passwordCheck(passwordKey(other.ID, "hunter3", other.version()))
	if f.otherPass, err = other.Secrets("hunter3"); err != nil {
		t.Fatal(err)
	}
	f.openKey = RoomKey{ID: f.key.ID, Name: f.key.Name}
	if f.open, err = f.openKey.Secrets(""); err != nil {
		t.Fatal(err)
	}
	if _, f.otherRoom, err = NewRoomKey("Café Secret", ""); err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestSecrets(t *testing.T) {
	f := newRoomFixture(t)

	t.Run("password key", func(t *testing.T) {
		if !f.key.Password || f.key.Check == ([4]byte{}) {
			t.Fatalf("password room key %+v has no check", f.key)
		}
		if !f.created.Encrypted() || !f.joined.Encrypted() {
			t.Fatal("password room secrets are not encrypted")
		}
		if f.open.Encrypted() {
			t.Fatal("open room secrets are encrypted")
		}
	})

	t.Run("right password matches creator", func(t *testing.T) {
		if f.joined.Hash() != f.created.Hash() || f.joined.Rendezvous() != f.created.Rendezvous() {
			t.Fatal("joiner derived other secrets than the creator")
		}
		if !bytes.Equal(f.joined.AuthMAC([]byte("x")), f.created.AuthMAC([]byte("x"))) {
			t.Fatal("joiner derived another auth key than the creator")
		}
	})

	t.Run("parsed key", func(t *testing.T) {
		k, err := ParseRoomKey(f.key.String())
		if err != nil {
			t.Fatal(err)
		}
		if k != f.key {
			t.Fatalf("got %+v, want %+v", k, f.key)
		}
	})

	errTests := []struct {
		name     string
		key      RoomKey
		password string
		want     error
	}{
		{"wrong password", f.key, "hunter3", ErrWrongPassword},
		{"wrong case", f.key, "Hunter2", ErrWrongPassword},
		{"missing password", f.key, "", ErrPasswordRequired},
		{"unexpected password", f.openKey, "hunter2", ErrNoPasswordExpected},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.key.Secrets(tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Secrets(%q) = %v, %v; want %v", tt.password, s, err, tt.want)
			}
			if s != nil {
				t.Fatal("secrets returned with an error")
			}
		})
	}

	t.Run("wrong password message", func(t *testing.T) {
		_, err := f.key.Secrets("nope")
		if want := `wrong password for room "Café Secret"`; err == nil || err.Error() != want {
			t.Fatalf("error %v, want %q", err, want)
		}
	})

	t.Run("open room stable", func(t *testing.T) {
		again, err := f.openKey.Secrets("")
		if err != nil {
			t.Fatal(err)
		}
		if again.Hash() != f.open.Hash() || again.Rendezvous() != f.open.Rendezvous() {
			t.Fatal("open room secrets are not stable")
		}
	})

	t.Run("formats", func(t *testing.T) {
		for _, s := range []*RoomSecrets{f.created, f.otherPass, f.open, f.otherRoom} {
			if !validRoomHash(s.Hash()) {
				t.Errorf("Hash() = %q: want 32 lower-case hex chars", s.Hash())
			}
			rv, ok := strings.CutPrefix(s.Rendezvous(), "f2f-rendezvous/")
			if !ok || len(rv) != 64 || strings.ToLower(rv) != rv {
				t.Errorf("Rendezvous() = %q", s.Rendezvous())
			}
			if _, err := hex.DecodeString(rv); err != nil {
				t.Errorf("Rendezvous() = %q: %v", s.Rendezvous(), err)
			}
		}
	})

	t.Run("distinct", func(t *testing.T) {
		all := map[string]*RoomSecrets{"password": f.created, "other password": f.otherPass, "open": f.open, "other room": f.otherRoom}
		hashes, rvs := map[string]string{}, map[string]string{}
		for name, s := range all {
			if prev, dup := hashes[s.Hash()]; dup {
				t.Errorf("%s and %s share hash %s", name, prev, s.Hash())
			}
			hashes[s.Hash()] = name
			if prev, dup := rvs[s.Rendezvous()]; dup {
				t.Errorf("%s and %s share rendezvous %s", name, prev, s.Rendezvous())
			}
			rvs[s.Rendezvous()] = name
		}
	})

	t.Run("no leaks", func(t *testing.T) {
		idHex := hex.EncodeToString(f.key.ID[:])
		forbidden := []string{"café", "café secret", "hunter2", idHex, idHex[:16], idHex[16:]}
		for _, s := range []*RoomSecrets{f.created, f.open} {
			for _, v := range []string{s.Hash(), s.Rendezvous(), s.String(), fmt.Sprintf("%v %+v %#v", s, s, s)} {
				lower := strings.ToLower(v)
				for _, bad := range forbidden {
					if strings.Contains(lower, bad) {
						t.Errorf("%q contains %q", v, bad)
					}
				}
			}
		}
		for _, v := range []string{fmt.Sprintf("%v", f.created), fmt.Sprintf("%+v", f.created), fmt.Sprintf("%#v", f.created)} {
			if strings.Contains(v, hex.EncodeToString(f.created.authKey)) || strings.Contains(v, string(f.created.authKey)) {
				t.Errorf("formatting leaks the auth key: %q", v)
			}
		}
	})
}

// testSecrets builds secrets without Argon2: pk stands in for a password key.
func testSecrets(t *testing.T, id byte, pk []byte) *RoomSecrets {
	t.Helper()
	s, err := newRoomSecrets([16]byte{id}, pk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	room := testSecrets(t, 1, []byte("password key one"))
	otherPass := testSecrets(t, 1, []byte("password key two"))
	otherRoom := testSecrets(t, 2, []byte("password key one"))
	open := testSecrets(t, 1, nil)
	ad := []byte("f2f/room/chat")

	t.Run("round trip", func(t *testing.T) {
		for _, plain := range [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte("x"), MaxBodySize)} {
			sealed, err := room.Seal(plain, ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(plain)+24+16 {
				t.Fatalf("sealed %d bytes from %d", len(sealed), len(plain))
			}
			if len(plain) > 0 && bytes.Contains(sealed, plain) {
				t.Fatal("sealed text contains the plain text")
			}
			got, err := room.Open(sealed, ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Open = %q, want %q", got, plain)
			}
		}
	})

	t.Run("random nonce", func(t *testing.T) {
		a, _ := room.Seal([]byte("same"), ad)
		b, _ := room.Seal([]byte("same"), ad)
		if bytes.Equal(a, b) {
			t.Fatal("two seals of the same text are equal")
		}
	})

	sealed, err := room.Seal([]byte("attack at dawn"), ad)
	if err != nil {
		t.Fatal(err)
	}
	tamper := []struct {
		name   string
		secret *RoomSecrets
		sealed []byte
		ad     []byte
	}{
		{"other ad", room, sealed, []byte("f2f/room/control")},
		{"nil ad", room, sealed, nil},
		{"other password", otherPass, sealed, ad},
		{"other room", otherRoom, sealed, ad},
		{"empty", room, nil, ad},
		{"short", room, sealed[:39], ad},
		{"truncated", room, sealed[:len(sealed)-1], ad},
		{"appended", room, append(append([]byte{}, sealed...), 0), ad},
	}
	for _, i := range []int{0, 23, 24, len(sealed) / 2, len(sealed) - 1} {
		b := append([]byte{}, sealed...)
		b[i] ^= 0x01
		tamper = append(tamper, struct {
			name   string
			secret *RoomSecrets
			sealed []byte
			ad     []byte
		}{fmt.Sprintf("flip byte %d", i), room, b, ad})
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.secret.Open(tt.sealed, tt.ad)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}

	t.Run("open room passes through", func(t *testing.T) {
		plain := []byte("plain text")
		s, err := open.Seal(plain, ad)
		if err != nil || !bytes.Equal(s, plain) {
			t.Fatalf("Seal = %q, %v", s, err)
		}
		s[0] = 'X'
		if plain[0] != 'p' {
			t.Fatal("Seal aliases its input")
		}
		o, err := open.Open(plain, nil)
		if err != nil || !bytes.Equal(o, plain) {
			t.Fatalf("Open = %q, %v", o, err)
		}
		o[0] = 'X'
		if plain[0] != 'p' {
			t.Fatal("Open aliases its input")
		}
	})
}

func TestAuthMAC(t *testing.T) {
	room := testSecrets(t, 1, []byte("pk"))
	same := testSecrets(t, 1, []byte("pk"))
	other := testSecrets(t, 1, []byte("pk2"))
	open := testSecrets(t, 1, nil)

	m := room.AuthMAC([]byte("nonce"), []byte("peer"))
	if len(m) != 32 {
		t.Fatalf("MAC of %d bytes", len(m))
	}
	if !bytes.Equal(m, same.AuthMAC([]byte("nonce"), []byte("peer"))) {
		t.Fatal("same room, different MAC")
	}
	differ := []struct {
		name string
		mac  []byte
	}{
		{"other password", other.AuthMAC([]byte("nonce"), []byte("peer"))},
		{"open room", open.AuthMAC([]byte("nonce"), []byte("peer"))},
		{"moved boundary", room.AuthMAC([]byte("noncep"), []byte("eer"))},
		{"joined parts", room.AuthMAC([]byte("noncepeer"))},
		{"extra empty part", room.AuthMAC([]byte("nonce"), []byte("peer"), nil)},
		{"swapped", room.AuthMAC([]byte("peer"), []byte("nonce"))},
	}
	for _, tt := range differ {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(m, tt.mac) {
				t.Fatal("MACs collide")
			}
		})
	}
}

func FuzzParseRoomKey(f *testing.F) {
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for _, k := range []RoomKey{
		{ID: id, Name: "lobby"},
		{ID: id, Name: "café ☕", Password: true, Check: [4]byte{1, 2, 3, 4}},
		{ID: id, Name: strings.Repeat("z", MaxRoomNameLen)},
	} {
		f.Add(k.String())
	}
	f.Add("")
	f.Add("f2f1")
	f.Add("f2f1aaaa")
	f.Add("F2F1AEAQ")
	f.Add("f2f1" + strings.Repeat("7", 200))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseRoomKey(s)
		if err != nil {
			if !errors.Is(err, ErrBadRoomKey) {
				t.Fatalf("error %v does not wrap ErrBadRoomKey", err)
			}
			return
		}
		if got := k.String(); got != strings.TrimSpace(s) {
			t.Fatalf("String() = %q, input %q", got, s)
		}
		if err := validRoomName(k.Name); err != nil {
			t.Fatalf("parsed invalid name %q: %v", k.Name, err)
		}
	})
}

// TestRoomKeyVersions: new password rooms get version 2 keys (the costlier
// derivation); a version 1 key still opens with its password and keeps its
// string.
func TestRoomKeyVersions(t *testing.T) {
	k, _, err := NewRoomKey("v", "pw")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRoomKey(k.String())
	if err != nil || back.version() != RoomKeyVersion || back.String() != k.String() {
		t.Fatalf("new key %s parses as version %d (%v)", k, back.version(), err)
	}
	old := RoomKey{ID: k.ID, Name: "v", Password: true, Version: 1}
	old.Check = passwordCheck(passwordKey(old.ID, "pw", 1))
	parsed, err := ParseRoomKey(old.String())
	if err != nil || parsed.Version != 1 || parsed.String() != old.String() {
		t.Fatalf("version 1 key: %+v %v", parsed, err)
	}
	if _, err := parsed.Secrets("pw"); err != nil {
		t.Fatalf("version 1 key with its password: %v", err)
	}
	if _, err := parsed.Secrets("nope"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("version 1 key with a wrong password: %v", err)
	}
}
