package overlay

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

// Envelope size limits.
const (
	// MaxEnvelopeSize is the largest encoded envelope.
	MaxEnvelopeSize = 64 << 10
	// MaxBodySize is the largest envelope body.
	MaxBodySize = 60 << 10
	// MaxSigSize is the largest envelope signature.
	MaxSigSize = 256
	// MaxAuthorSize is the largest encoded author peer ID.
	MaxAuthorSize = 128
	// MaxLamport is the largest Lamport time an envelope may carry (the
	// store keeps it as a signed 64-bit integer).
	MaxLamport = math.MaxInt64
	// MaxLamportJump is how far ahead of the room's Lamport clock (the
	// largest stored) a received chat envelope may be. An honest room's
	// clock has no gaps (each message is one more than the largest its
	// author had seen), so only a forged clock jumps; bounding the jump
	// keeps a hostile member from running the clock out (2^63) or pushing
	// its message after everything honest members say later.
	MaxLamportJump = 1 << 20
)

// Text limits checked by ValidText.
const (
	// MaxChatRunes is the most runes in a chat or /me text (after trimming).
	MaxChatRunes = 4096
	// MaxNickRunes is the most runes in a nickname.
	MaxNickRunes = 32
	// MaxControlBody is the largest body of a join, leave or presence
	// envelope.
	MaxControlBody = 1 << 10
)

// envelopeDomain prefixes the bytes an envelope signature covers.
const envelopeDomain = "f2f-envelope/1"

// Envelope field numbers on the wire.
const (
	fieldAuthor  protowire.Number = 1
	fieldRoom    protowire.Number = 2
	fieldSeq     protowire.Number = 3
	fieldLamport protowire.Number = 4
	fieldTime    protowire.Number = 5
	fieldKind    protowire.Number = 6
	fieldBody    protowire.Number = 7
	fieldSig     protowire.Number = 8
)

// Kind says what an envelope carries.
type Kind uint8

// Envelope kinds.
const (
	// KindChat is a chat message; the body is its UTF-8 text.
	KindChat Kind = 1
	// KindMe is a /me action; the body is its UTF-8 text.
	KindMe Kind = 2
	// KindNick announces a new nickname; the body is the nickname.
	KindNick Kind = 3
	// KindJoin announces that the author joined; the body may carry a
	// nickname.
	KindJoin Kind = 4
	// KindLeave announces that the author left.
	KindLeave Kind = 5
	// KindPresence is a periodic liveness beacon.
	KindPresence Kind = 6
	// KindFile shares a file: the body is an encoded FileLink.
	KindFile Kind = 7
	// KindCaps is a capability report (control topic): an encoded CapReport.
	KindCaps Kind = 8
	// KindElect is a mixer election message (control topic): an encoded
	// Elect.
	KindElect Kind = 9
	// KindTelemetry is a member's network-activity summary (telemetry
	// topic): an encoded Telemetry.
	KindTelemetry Kind = 10
	// KindStage changes the room's stage (shared tabs): an encoded
	// StageOp. Stored and synced like chat.
	KindStage Kind = 11
)

// String returns the kind's lower-case name, or "Kind(N)" for an unknown kind.
func (k Kind) String() string {
	switch k {
	case KindChat:
		return "chat"
	case KindMe:
		return "me"
	case KindNick:
		return "nick"
	case KindJoin:
		return "join"
	case KindLeave:
		return "leave"
	case KindPresence:
		return "presence"
	case KindFile:
		return "file"
	case KindCaps:
		return "caps"
	case KindElect:
		return "elect"
	case KindTelemetry:
		return "telemetry"
	case KindStage:
		return "stage"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k >= KindChat && k <= KindStage }

// Stored reports whether envelopes of kind k are chat-log messages (stored
// and synced); the others are live control and telemetry messages.
func (k Kind) Stored() bool {
	return k >= KindChat && k <= KindFile && k != KindPresence || k == KindStage
}

// Envelope is a signed room message. It can be relayed and synced by anyone
// and still be verified against its author's libp2p key.
//
// Wire format (protobuf, encoded by hand with protowire): 1 author (bytes,
// peer ID), 2 room (string, room hash), 3 seq, 4 lamport, 5 time (unix
// milliseconds), 6 kind (varints), 7 body, 8 sig (bytes). All eight fields
// are written, in field order, with minimal varints; UnmarshalEnvelope
// accepts only that canonical form, so an envelope has exactly one encoding.
type Envelope struct {
	// Author is the signer's peer ID; its public key must be embedded in
	// the ID (Ed25519, secp256k1 or small ECDSA keys).
	Author peer.ID
	// Room is the room hash (RoomSecrets.Hash).
	Room string
	// Seq is the author's per-room sequence number, starting at 1.
	Seq uint64
	// Lamport is the Lamport clock of the message, at least 1.
	Lamport uint64
	// Time is the author's wall clock in unix milliseconds.
	Time int64
	// Kind says what Body holds.
	Kind Kind
	// Body is the payload, sealed with RoomSecrets.Seal in password rooms.
	Body []byte
	// Sig is the author's signature over SigningBytes.
	Sig []byte
}

// appendFields appends fields 1..7 in canonical form.
func (e *Envelope) appendFields(b []byte) []byte {
	b = protowire.AppendTag(b, fieldAuthor, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte(e.Author))
	b = protowire.AppendTag(b, fieldRoom, protowire.BytesType)
	b = protowire.AppendString(b, e.Room)
	b = protowire.AppendTag(b, fieldSeq, protowire.VarintType)
	b = protowire.AppendVarint(b, e.Seq)
	b = protowire.AppendTag(b, fieldLamport, protowire.VarintType)
	b = protowire.AppendVarint(b, e.Lamport)
	b = protowire.AppendTag(b, fieldTime, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(e.Time))
	b = protowire.AppendTag(b, fieldKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(e.Kind))
	b = protowire.AppendTag(b, fieldBody, protowire.BytesType)
	b = protowire.AppendBytes(b, e.Body)
	return b
}

// SigningBytes returns what the signature covers: "f2f-envelope/1" followed
// by the canonical encoding of fields 1..7.
func (e *Envelope) SigningBytes() []byte {
	return e.appendFields([]byte(envelopeDomain))
}

// Sign sets Author to the peer ID of sk and Sig to sk's signature over
// SigningBytes. The key's public key must be embeddable in a peer ID
// (e.g. Ed25519), or no one could verify the envelope.
func (e *Envelope) Sign(sk crypto.PrivKey) error {
	if sk == nil {
		return errors.New("sign envelope: nil key")
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	if _, err := id.ExtractPublicKey(); err != nil {
		return fmt.Errorf("sign envelope: public key is not embedded in peer ID %s: %w", id, err)
	}
	e.Author = id
	sig, err := sk.Sign(e.SigningBytes())
	if err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	e.Sig = sig
	return nil
}

// Verify checks Sig against the public key embedded in Author. Any failure
// (no key in the ID, unknown key type, wrong signature) gives an error
// wrapping ErrBadSignature. It does not check the other fields; see
// Validate.
func (e *Envelope) Verify() error {
	if len(e.Sig) == 0 || len(e.Sig) > MaxSigSize {
		return fmt.Errorf("%w: missing or oversized signature", ErrBadSignature)
	}
	if len(e.Author) == 0 || len(e.Author) > MaxAuthorSize {
		return fmt.Errorf("%w: bad author", ErrBadSignature)
	}
	pk, err := e.Author.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("%w: author key: %v", ErrBadSignature, err)
	}
	ok, err := pk.Verify(e.SigningBytes(), e.Sig)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// Validate checks the fields of an in-memory envelope with the same rules
// UnmarshalEnvelope applies: a valid author peer ID, a room hash of 32
// lower-case hex characters, seq and lamport in 1..2^63-1, a non-negative time,
// a known kind, a body of at most MaxBodySize and a signature of 1..MaxSigSize
// bytes. It returns an error wrapping ErrMalformed. It does not verify the
// signature; see Verify.
func (e *Envelope) Validate() error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func (e *Envelope) validate() error {
	if len(e.Author) == 0 {
		return errors.New("missing author")
	}
	if len(e.Author) > MaxAuthorSize {
		return errors.New("author too long")
	}
	if _, err := peer.IDFromBytes([]byte(e.Author)); err != nil {
		return fmt.Errorf("invalid author peer ID: %v", err)
	}
	if !validRoomHash(e.Room) {
		return errors.New("room is not 32 lower-case hex characters")
	}
	if e.Seq == 0 {
		return errors.New("seq is 0")
	}
	if e.Seq > math.MaxInt64 {
		return errors.New("seq out of range")
	}
	if e.Lamport == 0 {
		return errors.New("lamport is 0")
	}
	if e.Lamport > MaxLamport {
		return errors.New("lamport out of range")
	}
	if e.Time < 0 {
		return errors.New("negative time")
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("unknown kind %d", e.Kind)
	}
	if len(e.Body) > MaxBodySize {
		return fmt.Errorf("body of %d bytes exceeds %d", len(e.Body), MaxBodySize)
	}
	if len(e.Sig) == 0 {
		return errors.New("missing signature")
	}
	if len(e.Sig) > MaxSigSize {
		return fmt.Errorf("signature of %d bytes exceeds %d", len(e.Sig), MaxSigSize)
	}
	return nil
}

// validRoomHash reports whether s is 32 lower-case hex characters.
func validRoomHash(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Marshal encodes a valid (signed) envelope. It returns ErrTooLarge when the
// body exceeds MaxBodySize or the encoding exceeds MaxEnvelopeSize, and
// ErrMalformed when Validate fails.
func (e *Envelope) Marshal() ([]byte, error) {
	if len(e.Body) > MaxBodySize {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrTooLarge, len(e.Body), MaxBodySize)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := e.appendFields(make([]byte, 0, 64+len(e.Author)+len(e.Body)+len(e.Sig)))
	b = protowire.AppendTag(b, fieldSig, protowire.BytesType)
	b = protowire.AppendBytes(b, e.Sig)
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope of %d bytes exceeds %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	return b, nil
}

// UnmarshalEnvelope decodes and validates an envelope from the network. It
// returns ErrTooLarge when b exceeds MaxEnvelopeSize and an error wrapping
// ErrMalformed for bad wire data, unknown, duplicate, missing or
// out-of-order fields, non-canonical encodings and every Validate failure. It
// does not verify the signature; see Verify. The result does not alias b.
func UnmarshalEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope of %d bytes exceeds %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	e, err := decodeEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

func decodeEnvelope(b []byte) (*Envelope, error) {
	e := new(Envelope)
	var seen uint16 // bit n set when field n was read
	in := b
	for len(in) > 0 {
		num, typ, n := protowire.ConsumeTag(in)
		if n < 0 {
			return nil, fmt.Errorf("bad tag: %v", protowire.ParseError(n))
		}
		in = in[n:]
		if num < fieldAuthor || num > fieldSig {
			return nil, fmt.Errorf("unknown field %d", num)
		}
		if seen&(1<<num) != 0 {
			return nil, fmt.Errorf("duplicate field %d", num)
		}
		seen |= 1 << num
		switch num {
		case fieldAuthor, fieldRoom, fieldBody, fieldSig:
			if typ != protowire.BytesType {
				return nil, fmt.Errorf("field %d: wrong wire type %d", num, typ)
			}
			v, n := protowire.ConsumeBytes(in)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			in = in[n:]
			switch num {
			case fieldAuthor:
				if len(v) > MaxAuthorSize {
					return nil, errors.New("author too long")
				}
				e.Author = peer.ID(v)
			case fieldRoom:
				e.Room = string(v)
			case fieldBody:
				if len(v) > MaxBodySize {
					return nil, fmt.Errorf("body of %d bytes exceeds %d", len(v), MaxBodySize)
				}
				e.Body = append([]byte{}, v...)
			case fieldSig:
				if len(v) > MaxSigSize {
					return nil, fmt.Errorf("signature of %d bytes exceeds %d", len(v), MaxSigSize)
				}
				e.Sig = append([]byte{}, v...)
			}
		default: // seq, lamport, time, kind
			if typ != protowire.VarintType {
				return nil, fmt.Errorf("field %d: wrong wire type %d", num, typ)
			}
			v, n := protowire.ConsumeVarint(in)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %v", num, protowire.ParseError(n))
			}
			in = in[n:]
			switch num {
			case fieldSeq:
				e.Seq = v
			case fieldLamport:
				e.Lamport = v
			case fieldTime:
				if v > 1<<63-1 {
					return nil, errors.New("time out of range")
				}
				e.Time = int64(v)
			case fieldKind:
				if v > 255 || !Kind(v).Valid() {
					return nil, fmt.Errorf("unknown kind %d", v)
				}
				e.Kind = Kind(v)
			}
		}
	}
	for num := fieldAuthor; num <= fieldSig; num++ {
		if seen&(1<<num) == 0 {
			return nil, fmt.Errorf("missing field %d", num)
		}
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	// Accept only the canonical encoding (field order, minimal varints), so
	// that equal envelopes are equal bytes.
	canon := e.appendFields(make([]byte, 0, len(b)))
	canon = protowire.AppendTag(canon, fieldSig, protowire.BytesType)
	canon = protowire.AppendBytes(canon, e.Sig)
	if string(canon) != string(b) {
		return nil, errors.New("non-canonical encoding")
	}
	return e, nil
}

// ValidText checks a decrypted envelope body against the rules for its kind
// and returns an error wrapping ErrMalformed with the reason:
//   - KindChat, KindMe: valid UTF-8, 1..MaxChatRunes runes after trimming
//     white space, no control characters except newline and tab;
//   - KindNick: valid UTF-8, 1..MaxNickRunes runes, no control characters,
//     not only white space and no leading or trailing white space;
//   - KindJoin, KindLeave, KindPresence: anything up to MaxControlBody bytes;
//   - KindFile: a canonical FileLink (see FileLink.Validate);
//   - KindStage: a StageOp with a canonical FileLink;
//   - KindCaps, KindElect, KindTelemetry: a valid CapReport, Elect or
//     Telemetry.
func ValidText(kind Kind, body []byte) error {
	if err := validText(kind, body); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, kind, err)
	}
	return nil
}

func validText(kind Kind, body []byte) error {
	switch kind {
	case KindChat, KindMe:
		if !utf8.Valid(body) {
			return errors.New("text is not valid UTF-8")
		}
		text := strings.TrimSpace(string(body))
		if text == "" {
			return errors.New("empty text")
		}
		if n := utf8.RuneCountInString(text); n > MaxChatRunes {
			return fmt.Errorf("text of %d runes exceeds %d", n, MaxChatRunes)
		}
		for _, r := range text {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				return fmt.Errorf("text contains control character %U", r)
			}
		}
		return nil
	case KindNick:
		if !utf8.Valid(body) {
			return errors.New("nickname is not valid UTF-8")
		}
		nick := string(body)
		if strings.TrimSpace(nick) == "" {
			return errors.New("empty nickname")
		}
		if strings.TrimSpace(nick) != nick {
			return errors.New("nickname has leading or trailing white space")
		}
		if n := utf8.RuneCountInString(nick); n > MaxNickRunes {
			return fmt.Errorf("nickname of %d runes exceeds %d", n, MaxNickRunes)
		}
		for _, r := range nick {
			if unicode.IsControl(r) {
				return fmt.Errorf("nickname contains control character %U", r)
			}
		}
		return nil
	case KindFile:
		_, err := decodeFileLink(body)
		return err
	case KindCaps:
		_, err := UnmarshalCapReport(body)
		return err
	case KindElect:
		_, err := UnmarshalElect(body)
		return err
	case KindTelemetry:
		_, err := UnmarshalTelemetry(body)
		return err
	case KindStage:
		_, err := decodeStageOp(body)
		return err
	case KindJoin, KindLeave, KindPresence:
		if len(body) > MaxControlBody {
			return fmt.Errorf("body of %d bytes exceeds %d", len(body), MaxControlBody)
		}
		return nil
	}
	return fmt.Errorf("unknown kind %d", kind)
}

// MessageID is the GossipSub message ID of face2face topics: the SHA-256
// of the message's bytes (messages carry no pubsub author or seqno; the
// envelope inside is signed by its author). Pass it to
// pubsub.WithMessageIdFn.
func MessageID(m *pubsubpb.Message) string {
	h := sha256.Sum256(m.GetData())
	return string(h[:])
}
