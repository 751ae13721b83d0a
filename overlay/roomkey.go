package overlay

// Room keys and the secrets derived from them.
//
// A room key is the one token `f2f room create` prints and `f2f room join`
// takes. It carries a random 16-byte room ID, the room's human name, whether
// the room needs a password and, for password rooms, a short password
// verifier so that a wrong password is reported at once instead of leaving the
// user in an empty room.
//
// Derivation (all HKDF is HKDF-SHA256 from golang.org/x/crypto/hkdf with an
// empty salt; the quoted strings are the HKDF info labels):
//
//	passwordKey = Argon2id(password, salt = ID, time = 3, memory = 64 MiB, threads = 1, keyLen = 32)   key version 2
//	passwordKey = Argon2id(password, salt = ID, time = 2, memory = 19 MiB, threads = 1, keyLen = 32)   key version 1 (older keys)
//	Check       = HMAC-SHA256(passwordKey, "f2f-room-verify/1")[:4]
//	base        = HKDF(ikm = ID,               info "f2f-room-base/1")   open room
//	base        = HKDF(ikm = ID || passwordKey, info "f2f-room-base/1")  password room
//	hash        = HKDF(base, "f2f-room-hash/1")[:16]          -> 32 lower-case hex chars
//	rendezvous  = "f2f-rendezvous/" + hex(HKDF(base, "f2f-rendezvous/1")[:32])
//	aead key    = HKDF(base, "f2f-room-aead/1")[:32]          XChaCha20-Poly1305, password rooms only
//	auth key    = HKDF(base, "f2f-room-auth/1")[:32]          HMAC-SHA256 for /f2f/room-auth/1
//
// Anyone holding a password room's key can test password guesses offline
// against Check (and so could anyone holding one of its sealed messages
// against the AEAD): each guess costs one Argon2id derivation. Version 2
// keys use RFC 9106's second recommended parameters, about 0.2 s and 64
// MiB per guess on one core here (see BenchmarkPasswordGuess and the
// README's security model); version 1 keys (19 MiB, 2 passes: 5x cheaper)
// still work.
//
// The hash and rendezvous are one-way functions of the base secret, so the
// topics and the DHT never see the room name, ID or password, and the same
// room ID gives unrelated values when opened with another password (or none).

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// Room key encoding constants.
const (
	// RoomKeyPrefix starts every room key string.
	RoomKeyPrefix = "f2f1"
	// RoomKeyVersion is the version byte of new room keys; version 1 keys
	// (a cheaper password derivation) are still read.
	RoomKeyVersion = 2
	// MaxRoomNameLen is the longest room name in bytes.
	MaxRoomNameLen = 64
	// RendezvousPrefix starts every room rendezvous namespace.
	RendezvousPrefix = "f2f-rendezvous/"
)

// Derivation labels; see the comment at the top of this file.
const (
	labelVerify     = "f2f-room-verify/1"
	labelBase       = "f2f-room-base/1"
	labelHash       = "f2f-room-hash/1"
	labelRendezvous = "f2f-rendezvous/1"
	labelAEAD       = "f2f-room-aead/1"
	labelAuth       = "f2f-room-auth/1"
	labelTURN       = "f2f-room-turn/1"
)

// Argon2id parameters for the password key: RFC 9106's second recommended
// option (t = 3, 64 MiB) for version 2 keys, OWASP's minimum (t = 2,
// 19 MiB) for version 1 keys.
const (
	argonTime     = 3
	argonMemory   = 64 * 1024 // KiB
	argonTimeV1   = 2
	argonMemoryV1 = 19 * 1024 // KiB
	argonThreads  = 1
	argonKeyLen   = 32
)

const (
	flagPassword  = 1 << 0
	roomKeyHeader = 1 + 1 + 16 + 4 // version, flags, ID, Check
	keySize       = 32
)

// roomKeyAlphabet is the lower-case RFC 4648 base32 alphabet.
const roomKeyAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// roomKeyEncoding returns lower-case RFC 4648 base32 without padding. It is
// built per call to keep the package free of global variables.
func roomKeyEncoding() *base32.Encoding {
	return base32.NewEncoding(roomKeyAlphabet).WithPadding(base32.NoPadding)
}

// RoomKey is the one token `f2f room create` prints and `f2f room join` takes.
// Its String form is "f2f1" followed by lower-case unpadded base32 of: the
// version byte (1), a flags byte (bit 0: password), the 16-byte ID, the 4-byte
// Check and the name bytes.
type RoomKey struct {
	// ID is the random room identifier.
	ID [16]byte
	// Name is the human room name: 1..64 bytes of valid UTF-8 without
	// control characters.
	Name string
	// Password reports whether the room needs a password.
	Password bool
	// Check is the password verifier, the first 4 bytes of
	// HMAC-SHA256(passwordKey, "f2f-room-verify/1"); zero when !Password.
	Check [4]byte
	// Version is the key's version byte: 0 (new keys) means
	// RoomKeyVersion; 1 is the older, cheaper password derivation.
	Version byte
}

// version is the key's version byte.
func (k RoomKey) version() byte {
	if k.Version == 0 {
		return RoomKeyVersion
	}
	return k.Version
}

// NewRoomKey creates a room with a random ID and returns its key and secrets.
// An empty password creates an open room. An invalid name gives an error
// wrapping ErrBadRoomKey.
func NewRoomKey(name, password string) (RoomKey, *RoomSecrets, error) {
	if err := validRoomName(name); err != nil {
		return RoomKey{}, nil, fmt.Errorf("%w: %w", ErrBadRoomKey, err)
	}
	k := RoomKey{Name: name, Password: password != ""}
	if _, err := rand.Read(k.ID[:]); err != nil {
		return RoomKey{}, nil, fmt.Errorf("room ID: %w", err)
	}
	var pk []byte
	if k.Password {
		pk = passwordKey(k.ID, password, k.version())
		k.Check = passwordCheck(pk)
	}
	s, err := newRoomSecrets(k.ID, pk)
	if err != nil {
		return RoomKey{}, nil, err
	}
	return k, s, nil
}

// ParseRoomKey parses a room key string as printed by RoomKey.String.
// Surrounding white space is ignored; otherwise the string must be exactly
// the canonical encoding. Any problem gives an error wrapping ErrBadRoomKey.
func ParseRoomKey(s string) (RoomKey, error) {
	k, err := parseRoomKey(strings.TrimSpace(s))
	if err != nil {
		return RoomKey{}, fmt.Errorf("%w: %w", ErrBadRoomKey, err)
	}
	return k, nil
}

func parseRoomKey(s string) (RoomKey, error) {
	// The longest valid key is the prefix plus base32 of header+name.
	enc := roomKeyEncoding()
	maxLen := len(RoomKeyPrefix) + enc.EncodedLen(roomKeyHeader+MaxRoomNameLen)
	if len(s) > maxLen {
		return RoomKey{}, errors.New("too long")
	}
	body, ok := strings.CutPrefix(s, RoomKeyPrefix)
	if !ok {
		return RoomKey{}, fmt.Errorf("does not start with %q", RoomKeyPrefix)
	}
	raw, err := enc.DecodeString(body)
	if err != nil {
		return RoomKey{}, errors.New("invalid base32")
	}
	// Reject non-canonical encodings (non-zero trailing bits) so that every
	// room has exactly one key string.
	if enc.EncodeToString(raw) != body {
		return RoomKey{}, errors.New("non-canonical base32")
	}
	if len(raw) < roomKeyHeader {
		return RoomKey{}, errors.New("too short")
	}
	if raw[0] != 1 && raw[0] != RoomKeyVersion {
		return RoomKey{}, fmt.Errorf("unsupported version %d", raw[0])
	}
	flags := raw[1]
	if flags&^flagPassword != 0 {
		return RoomKey{}, fmt.Errorf("unknown flags %#02x", flags)
	}
	var k RoomKey
	if raw[0] != RoomKeyVersion {
		k.Version = raw[0]
	}
	k.Password = flags&flagPassword != 0
	copy(k.ID[:], raw[2:18])
	copy(k.Check[:], raw[18:22])
	k.Name = string(raw[22:])
	if !k.Password && k.Check != [4]byte{} {
		return RoomKey{}, errors.New("password check set on an open room")
	}
	if err := validRoomName(k.Name); err != nil {
		return RoomKey{}, err
	}
	return k, nil
}

// validRoomName checks the room name rules.
func validRoomName(name string) error {
	if name == "" {
		return errors.New("empty room name")
	}
	if len(name) > MaxRoomNameLen {
		return fmt.Errorf("room name longer than %d bytes", MaxRoomNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("room name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("room name contains a control character")
		}
	}
	return nil
}

// String returns the room key in its printable form; ParseRoomKey inverts it.
func (k RoomKey) String() string {
	raw := make([]byte, 0, roomKeyHeader+len(k.Name))
	var flags byte
	if k.Password {
		flags |= flagPassword
	}
	raw = append(raw, k.version(), flags)
	raw = append(raw, k.ID[:]...)
	raw = append(raw, k.Check[:]...)
	raw = append(raw, k.Name...)
	return RoomKeyPrefix + roomKeyEncoding().EncodeToString(raw)
}

// Secrets derives the room's secrets. For an open room password must be
// empty (else ErrNoPasswordExpected); a password room needs its password
// (ErrPasswordRequired when empty, an error wrapping ErrWrongPassword that
// names the room when it does not match Check). Password rooms run Argon2id,
// which takes tens of milliseconds and 19 MiB: derive once and keep the
// result.
func (k RoomKey) Secrets(password string) (*RoomSecrets, error) {
	if !k.Password {
		if password != "" {
			return nil, ErrNoPasswordExpected
		}
		return newRoomSecrets(k.ID, nil)
	}
	if password == "" {
		return nil, ErrPasswordRequired
	}
	pk := passwordKey(k.ID, password, k.version())
	check := passwordCheck(pk)
	if subtle.ConstantTimeCompare(check[:], k.Check[:]) != 1 {
		return nil, fmt.Errorf("%w %q", ErrWrongPassword, k.Name)
	}
	return newRoomSecrets(k.ID, pk)
}

func passwordKey(id [16]byte, password string, version byte) []byte {
	if version == 1 {
		return argon2.IDKey([]byte(password), id[:], argonTimeV1, argonMemoryV1, argonThreads, argonKeyLen)
	}
	return argon2.IDKey([]byte(password), id[:], argonTime, argonMemory, argonThreads, argonKeyLen)
}

func passwordCheck(pk []byte) [4]byte {
	m := hmac.New(sha256.New, pk)
	m.Write([]byte(labelVerify))
	var c [4]byte
	copy(c[:], m.Sum(nil))
	return c
}

// deriveKey returns n bytes of HKDF-SHA256(ikm, info) with an empty salt.
func deriveKey(ikm []byte, info string, n int) ([]byte, error) {
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, []byte(info)), out); err != nil {
		return nil, fmt.Errorf("hkdf %s: %w", info, err)
	}
	return out, nil
}

// RoomSecrets holds the keys derived from a room key (and password). It is
// immutable and safe for concurrent use. Its String form shows only the
// public room hash, never a key.
type RoomSecrets struct {
	hash       string
	rendezvous string
	aead       cipher.AEAD // nil for open rooms
	authKey    []byte
	turnKey    []byte
}

func newRoomSecrets(id [16]byte, pk []byte) (*RoomSecrets, error) {
	ikm := append(id[:len(id):len(id)], pk...)
	base, err := deriveKey(ikm, labelBase, keySize)
	if err != nil {
		return nil, err
	}
	h, err := deriveKey(base, labelHash, 16)
	if err != nil {
		return nil, err
	}
	rv, err := deriveKey(base, labelRendezvous, keySize)
	if err != nil {
		return nil, err
	}
	auth, err := deriveKey(base, labelAuth, keySize)
	if err != nil {
		return nil, err
	}
	turn, err := deriveKey(base, labelTURN, keySize)
	if err != nil {
		return nil, err
	}
	s := &RoomSecrets{
		hash:       hex.EncodeToString(h),
		rendezvous: RendezvousPrefix + hex.EncodeToString(rv),
		authKey:    auth,
		turnKey:    turn,
	}
	if pk != nil {
		ak, err := deriveKey(base, labelAEAD, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		s.aead, err = chacha20poly1305.NewX(ak)
		if err != nil {
			return nil, fmt.Errorf("room cipher: %w", err)
		}
	}
	return s, nil
}

// Hash returns the room hash, 32 lower-case hex characters, used in the
// room's topic names (f2f/<Hash>/chat, ...) and envelopes.
func (s *RoomSecrets) Hash() string { return s.hash }

// Rendezvous returns the room's DHT rendezvous namespace: "f2f-rendezvous/"
// followed by 64 hex characters. It never contains the room name, ID or
// password.
func (s *RoomSecrets) Rendezvous() string { return s.rendezvous }

// Encrypted reports whether bodies are encrypted (password rooms).
func (s *RoomSecrets) Encrypted() bool { return s.aead != nil }

// String describes the secrets by their public room hash only.
func (s *RoomSecrets) String() string { return "RoomSecrets(" + s.hash + ")" }

// GoString is like String, so that %#v does not print keys either.
func (s *RoomSecrets) GoString() string { return s.String() }

// Seal encrypts plain with associated data ad. In a password room it returns
// a random 24-byte nonce followed by the XChaCha20-Poly1305 ciphertext; in an
// open room it returns a copy of plain.
func (s *RoomSecrets) Seal(plain, ad []byte) ([]byte, error) {
	if s.aead == nil {
		return append([]byte(nil), plain...), nil
	}
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return s.aead.Seal(out, out, plain, ad), nil
}

// Open inverts Seal. In a password room any failure (short input, tampering,
// other associated data, another room's secrets) gives ErrDecrypt; in an open
// room it returns a copy of sealed.
func (s *RoomSecrets) Open(sealed, ad []byte) ([]byte, error) {
	if s.aead == nil {
		return append([]byte(nil), sealed...), nil
	}
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// AuthMAC returns HMAC-SHA256, keyed with the room's auth key, over parts,
// each prefixed by its length as an 8-byte big-endian integer (so distinct
// part lists never collide). The /f2f/room-auth/1 challenge-response uses it
// to prove knowledge of the room secrets.
func (s *RoomSecrets) AuthMAC(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.authKey)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}
