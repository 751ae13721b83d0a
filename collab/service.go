package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Rooms is what collab needs to know of the rooms: which are joined, who
// their members are, and whether a peer is one (in a password room: has
// proven the key).
type Rooms interface {
	JoinedHashes() []string
	Members(hash string) []peer.ID
	IsMember(hash string, p peer.ID) bool
}

// Limits on what a room's documents and its members' sync may take.
type Limits struct {
	DocBytes     int           // a document's saved size (save + changes) at most
	DocsPerRoom  int           // documents in a room at most
	FrameBytes   int           // one sync frame at most
	FramesPerSec float64       // sync frames a member may send a second (burst: 4 s worth)
	BytesPerSec  float64       // sync bytes a member may send a second (burst: DocBytes)
	CursorBytes  int           // one cursor (a page's selection, opaque) at most
	Compact      int           // changes stored before the document is saved whole again
	RedialAfter  time.Duration // a failed sync stream's member is dialled again after this
	Tick         time.Duration // how often the members are checked for a missing sync stream
}

// DefaultLimits are the limits a node uses.
func DefaultLimits() Limits {
	return Limits{
		DocBytes:     4 << 20,
		DocsPerRoom:  64,
		FrameBytes:   (4 << 20) + 4096,
		FramesPerSec: 200,
		BytesPerSec:  1 << 20,
		CursorBytes:  512,
		Compact:      256,
		RedialAfter:  2 * time.Second,
		Tick:         time.Second,
	}
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithEvents sets where the service's events go (doc.created,
// doc.changed, doc.reminder).
func WithEvents(f func(typ string, data any)) Option { return func(s *Service) { s.events = f } }

// WithLimits sets the limits.
func WithLimits(l Limits) Option { return func(s *Service) { s.limits = l } }

// WithClock sets the clock the reminders read.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// Event types.
const (
	EventCreated  = "doc.created"  // Info
	EventChanged  = "doc.changed"  // Change
	EventReminder = "doc.reminder" // Reminder
)

// Change tells that a document changed: by this node's own edit (Peer
// empty) or by a member's.
type Change struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Peer string `json:"peer,omitempty"`
}

// Info describes a document.
type Info struct {
	Room    string    `json:"room"`
	Name    string    `json:"name"`
	Kind    Kind      `json:"kind"`
	Size    int       `json:"size"`
	Heads   []string  `json:"heads"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated,omitzero"`
}

// Stats are the sync counters.
type Stats struct {
	FramesIn  uint64 `json:"frames_in"`
	FramesOut uint64 `json:"frames_out"`
	BytesIn   uint64 `json:"bytes_in"`
	BytesOut  uint64 `json:"bytes_out"`
	Rejected  uint64 `json:"rejected"` // corrupt sync messages and frames
	Oversize  uint64 `json:"oversize"` // frames or documents past a limit
	Refused   uint64 `json:"refused"`  // streams from peers that are not members
	Pushed    uint64 `json:"pushed"`   // frames of changes sent
	Synced    uint64 `json:"synced"`   // sync messages sent
	Sessions  int    `json:"sessions"`
}

// Service holds the documents of the joined rooms and syncs them.
type Service struct {
	h      host.Host
	rooms  Rooms
	st     *store
	log    *slog.Logger
	events func(string, any)
	limits Limits
	now    func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	mu       sync.Mutex
	docs     map[string]map[string]*doc // room hash -> name -> doc
	sessions map[string]map[*session]struct{}
	dialing  map[sessKey]time.Time // last dial attempt
	closed   bool

	remind chan struct{}

	framesIn, framesOut, bytesIn, bytesOut, rejected, oversize, refused, pushed, synced atomic.Uint64
}

type sessKey struct {
	room string
	peer peer.ID
}

type doc struct {
	room, name string
	created    time.Time

	mu       sync.Mutex
	d        *automerge.Doc
	kind     Kind
	size     int // bytes on disk: save + changes since
	pending  int // change rows since the save
	dirtyAll bool
	updated  time.Time
	backstop atomic.Bool // a member's change came: announce the heads at the next tick
	held     []heldPush  // pushed changes waiting for the changes they build on
}

// New opens the documents in the SQLite database at dbPath and serves
// /f2f/doc/1 on h.
func New(h host.Host, rooms Rooms, dbPath string, opts ...Option) (*Service, error) {
	s := &Service{
		h: h, rooms: rooms, log: slog.New(slog.DiscardHandler), events: func(string, any) {},
		limits: DefaultLimits(), now: time.Now,
		kick: make(chan struct{}, 1), remind: make(chan struct{}, 1),
		docs: map[string]map[string]*doc{}, sessions: map[string]map[*session]struct{}{}, dialing: map[sessKey]time.Time{},
	}
	for _, o := range opts {
		o(s)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	st, err := openStore(s.ctx, dbPath)
	if err != nil {
		return nil, err
	}
	s.st = st
	stored, err := st.load(s.ctx)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	for _, sd := range stored {
		d, err := automerge.Load(sd.save)
		if err == nil {
			for _, c := range sd.changes {
				if err = d.LoadIncremental(c); err != nil {
					break
				}
			}
		}
		if err != nil {
			// A document that does not load is skipped, not lost: its rows
			// stay, and a member's copy can sync it back under another name.
			s.log.Warn("document does not load", "room", sd.room, "name", sd.name, "err", err)
			continue
		}
		size := len(sd.save)
		for _, c := range sd.changes {
			size += len(c)
		}
		s.addDoc(&doc{room: sd.room, name: sd.name, created: sd.created, d: d, kind: sd.kind, size: size, pending: len(sd.changes)})
	}
	h.SetStreamHandler(ProtocolID, s.handleStream)
	s.wg.Add(2)
	go s.loop()
	go s.reminders()
	return s, nil
}

// Close stops syncing and closes the database.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var all []*session
	for _, m := range s.sessions {
		for se := range m {
			all = append(all, se)
		}
	}
	s.mu.Unlock()
	s.h.RemoveStreamHandler(ProtocolID)
	s.cancel()
	for _, se := range all {
		se.close()
	}
	s.wg.Wait()
	return s.st.close()
}

func (s *Service) addDoc(d *doc) {
	m := s.docs[d.room]
	if m == nil {
		m = map[string]*doc{}
		s.docs[d.room] = m
	}
	m[d.name] = d
}

func (s *Service) lookup(room, name string) (*doc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	d := s.docs[room][name]
	if d == nil {
		return nil, fmt.Errorf("%w %q in this room (f2f doc ls lists them)", ErrNoDoc, name)
	}
	return d, nil
}

func (d *doc) info() Info {
	var heads []string
	for _, h := range d.d.Heads() {
		heads = append(heads, h.String())
	}
	sort.Strings(heads)
	return Info{Room: d.room, Name: d.name, Kind: d.kind, Size: d.size, Heads: heads, Created: d.created, Updated: d.updated}
}

// List lists a room's documents by name.
func (s *Service) List(room string) []Info {
	s.mu.Lock()
	var ds []*doc
	for _, d := range s.docs[room] {
		ds = append(ds, d)
	}
	s.mu.Unlock()
	out := make([]Info, 0, len(ds))
	for _, d := range ds {
		d.mu.Lock()
		out = append(out, d.info())
		d.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Create makes a document in a room; making one that exists with the same
// kind is not an error (members who create "notes" apart share one).
func (s *Service) Create(ctx context.Context, room, name string, kind Kind) (Info, error) {
	if err := CheckName(name); err != nil {
		return Info{}, err
	}
	d, created, err := s.ensure(ctx, room, name, kind, true)
	if err != nil {
		return Info{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kind != kind {
		return Info{}, fmt.Errorf("%w: %s is a %s document", ErrExists, name, d.kind)
	}
	if created {
		s.events(EventCreated, d.info())
	}
	return d.info(), nil
}

// ensure returns the room's document called name, creating it (with its
// genesis change when local, empty for a member's sync to fill) when
// missing.
func (s *Service) ensure(ctx context.Context, room, name string, kind Kind, local bool) (*doc, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	if d := s.docs[room][name]; d != nil {
		return d, false, nil
	}
	if len(s.docs[room]) >= s.limits.DocsPerRoom {
		return nil, false, fmt.Errorf("%w: a room holds %d documents at most", ErrTooMany, s.limits.DocsPerRoom)
	}
	var am *automerge.Doc
	var err error
	if local {
		am, err = genesis(room, name, kind)
	} else {
		am = automerge.New()
	}
	if err != nil {
		return nil, false, fmt.Errorf("collab: create %s: %w", name, err)
	}
	save := am.Save()
	now := time.Now()
	if err := s.st.create(ctx, room, name, kind, save, now); err != nil {
		return nil, false, err
	}
	d := &doc{room: room, name: name, created: now, d: am, kind: kind, size: len(save), updated: now}
	s.addDoc(d)
	for se := range s.sessions[room] {
		se.markDirty(name)
	}
	select { // the room may have had no streams
	case s.kick <- struct{}{}:
	default:
	}
	return d, true, nil
}

// Get returns a document's content.
func (s *Service) Get(room, name string) (View, error) {
	d, err := s.lookup(room, name)
	if err != nil {
		return View{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return readView(d.d, d.info()), nil
}

// Save returns the document saved whole (Automerge's binary format, which
// automerge-go and @automerge/automerge load).
func (s *Service) Save(room, name string) ([]byte, Info, error) {
	d, err := s.lookup(room, name)
	if err != nil {
		return nil, Info{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.d.Save(), d.info(), nil
}

// edit runs f on the document with the kind want and stores the change it
// commits; the call returns once the change is on disk.
func (s *Service) edit(ctx context.Context, room, name string, want Kind, msg string, f func(*automerge.Doc) error) (View, error) {
	d, err := s.lookup(room, name)
	if err != nil {
		return View{}, err
	}
	d.mu.Lock()
	if d.kind != want {
		d.mu.Unlock()
		return View{}, fmt.Errorf("%w: %s is a %s document, not %s", ErrWrongKind, name, d.kind, want)
	}
	if d.size > s.limits.DocBytes {
		d.mu.Unlock()
		return View{}, fmt.Errorf("%w: %s has reached %d bytes", ErrTooLarge, name, s.limits.DocBytes)
	}
	if err := f(d.d); err != nil {
		// f checks before it writes; whatever it wrote before an error of
		// Automerge's is committed like any edit, never left pending.
		if cerr := commit(d.d, msg); cerr == nil {
			_, _ = s.persist(ctx, d)
		}
		d.mu.Unlock()
		return View{}, err
	}
	if err := commit(d.d, msg); err != nil {
		d.mu.Unlock()
		return View{}, fmt.Errorf("collab: commit: %w", err)
	}
	inc, err := s.persist(ctx, d)
	v := readView(d.d, d.info())
	d.mu.Unlock()
	if err != nil {
		return View{}, err
	}
	s.changed(d, nil, inc)
	return v, nil
}

// persist stores the document's changes since the last persist (d.mu
// held) and returns them (Automerge change chunks, for the members):
// appended as a row, or the document saved whole every Limits.Compact
// rows (and after a failed append).
func (s *Service) persist(ctx context.Context, d *doc) ([]byte, error) {
	d.updated = time.Now()
	inc := d.d.SaveIncremental()
	if d.dirtyAll || d.pending >= s.limits.Compact {
		save := d.d.Save()
		if err := s.st.compact(ctx, d.room, d.name, save); err != nil {
			d.dirtyAll = true
			return inc, err
		}
		d.dirtyAll, d.pending, d.size = false, 0, len(save)
		return inc, nil
	}
	if len(inc) == 0 {
		return nil, nil
	}
	if err := s.st.appendChanges(ctx, d.room, d.name, inc); err != nil {
		d.dirtyAll = true // the next persist saves whole
		return inc, err
	}
	d.pending++
	d.size += len(inc)
	return inc, nil
}

// changed passes a change of a document on: its changes (inc) pushed to
// every member's session of the room when it is this node's own (or its
// page's), the pages' sessions told to sync, and the event stream told.
//
// Pushing the changes themselves, rather than running the sync protocol
// with every member on every change, keeps a keystroke's cost flat: the
// sync protocol's messages cost time in proportion to the document's
// history (3.4 ms a member at 10,000 changes, 18 ms at 40,000, in
// automerge-go's core), so it runs when a session starts, which brings
// a member up to date whatever it missed, and when a member announces
// heads this node still lacks a tick later (a member with no session to
// a change's author: see announceHeads).
func (s *Service) changed(d *doc, from *session, inc []byte) {
	var push []byte
	if len(inc) > 0 {
		push = frame{typ: frameChanges, name: d.name, kind: d.kind, payload: inc}.encode()
	}
	// A member's change goes no further by push (its author pushed it to
	// every member it has a session with); a member without one learns
	// from the heads announced at the next tick that it lacks it.
	relay := from != nil && from.peer != ""
	s.mu.Lock()
	for se := range s.sessions[d.room] {
		switch {
		case se == from:
		case se.peer == "" || push == nil:
			se.markDirty(d.name)
		case relay:
			d.backstop.Store(true)
		default:
			se.queue(push)
		}
	}
	s.mu.Unlock()
	c := Change{Room: d.room, Name: d.name, Kind: d.kind}
	if from != nil && from.peer != "" {
		c.Peer = from.peer.String()
	}
	s.events(EventChanged, c)
	if d.kind == KindAgenda {
		select {
		case s.remind <- struct{}{}:
		default:
		}
	}
}

// Forget drops a room's documents (f2f room forget).
func (s *Service) Forget(ctx context.Context, room string) error {
	s.mu.Lock()
	delete(s.docs, room)
	s.mu.Unlock()
	return s.st.forget(ctx, room)
}

// Stats returns the sync counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	n := 0
	for _, m := range s.sessions {
		n += len(m)
	}
	s.mu.Unlock()
	return Stats{FramesIn: s.framesIn.Load(), FramesOut: s.framesOut.Load(), BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		Rejected: s.rejected.Load(), Oversize: s.oversize.Load(), Refused: s.refused.Load(), Pushed: s.pushed.Load(),
		Synced: s.synced.Load(), Sessions: n}
}

// SetText makes the notes document's text new, as the splices that turn
// old (the text at the heads base) into new, applied on top of base: the
// edits members made since base are kept. Empty base means the current
// version.
func (s *Service) SetText(ctx context.Context, room, name string, base []string, old, text string) (View, error) {
	if len(text) > s.limits.DocBytes/2 {
		return View{}, fmt.Errorf("%w: a text of %d bytes (%d at most)", ErrTooLarge, len(text), s.limits.DocBytes/2)
	}
	var hashes []automerge.ChangeHash
	for _, b := range base {
		h, err := automerge.NewChangeHash(b)
		if err != nil {
			return View{}, fmt.Errorf("%w %q", ErrStale, b)
		}
		hashes = append(hashes, h)
	}
	return s.edit(ctx, room, name, KindNotes, "edit", func(d *automerge.Doc) error {
		target := d
		if len(hashes) > 0 {
			f, err := d.Fork(hashes...)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrStale, err)
			}
			target = f
		}
		v, err := target.RootMap().Get(keyText)
		if err != nil || v.Kind() != automerge.KindText {
			return errors.New("collab: notes document has no text")
		}
		t := v.Text()
		cur, _ := t.Get()
		if len(hashes) == 0 || old == "" && cur != "" {
			old = cur
		}
		if cur != old {
			return fmt.Errorf("%w: the text at that version differs from the one edited", ErrStale)
		}
		for _, sp := range diffSplices(old, text) {
			if err := t.Splice(sp.pos, sp.del, sp.ins); err != nil {
				return err
			}
		}
		if target != d {
			if err := commit(target, "edit"); err != nil {
				return err
			}
			if _, err := d.Merge(target); err != nil {
				return err
			}
		}
		return nil
	})
}

// Splice applies one splice to the notes text (the page's and the tests'
// fine-grained edit): del code points at pos replaced by ins.
func (s *Service) Splice(ctx context.Context, room, name string, pos, del int, ins string) (View, error) {
	return s.edit(ctx, room, name, KindNotes, "edit", func(d *automerge.Doc) error {
		v, err := d.RootMap().Get(keyText)
		if err != nil || v.Kind() != automerge.KindText {
			return errors.New("collab: notes document has no text")
		}
		t := v.Text()
		n := t.Len()
		if pos < 0 || pos > n || del < 0 || pos+del > n {
			return fmt.Errorf("%w: splice at %d deleting %d in a text of %d", ErrBadItem, pos, del, n)
		}
		return t.Splice(pos, del, ins)
	})
}

// TodoAdd adds an item to a todo document.
func (s *Service) TodoAdd(ctx context.Context, room, name string, it TodoItem) (TodoItem, error) {
	if err := checkItemText("todo text", it.Text); err != nil {
		return TodoItem{}, err
	}
	if len(it.Assignee) > 100 {
		return TodoItem{}, fmt.Errorf("%w: assignee longer than 100 bytes", ErrBadItem)
	}
	it.ID = newItemID()
	it.Text = strings.TrimSpace(it.Text)
	_, err := s.edit(ctx, room, name, KindTodo, "todo add", func(d *automerge.Doc) error {
		var due int64
		if !it.Due.IsZero() {
			due = it.Due.UnixMilli()
		}
		return appendItem(d, map[string]any{"id": it.ID, "text": it.Text, "done": false, "assignee": it.Assignee, "due": due})
	})
	return it, err
}

// TodoDone marks a todo item (by number or id prefix) done or not done.
func (s *Service) TodoDone(ctx context.Context, room, name, ref string, done bool) (TodoItem, error) {
	var out TodoItem
	_, err := s.edit(ctx, room, name, KindTodo, "todo done", func(d *automerge.Doc) error {
		m, err := findItem(itemMaps(d.RootMap()), ref)
		if err != nil {
			return err
		}
		out = TodoItem{ID: str(m, "id"), Text: str(m, "text"), Done: done, Assignee: str(m, "assignee"), Due: millis(num(m, "due"))}
		return m.Set("done", done)
	})
	return out, err
}

// AgendaStart sets the meeting's start.
func (s *Service) AgendaStart(ctx context.Context, room, name string, at time.Time) (View, error) {
	if at.IsZero() {
		return View{}, fmt.Errorf("%w: no start time", ErrBadTime)
	}
	return s.edit(ctx, room, name, KindAgenda, "agenda start", func(d *automerge.Doc) error {
		return d.RootMap().Set(keyStart, at.UnixMilli())
	})
}

// AgendaAdd adds an item; without a time it follows the last item (or
// starts with the meeting).
func (s *Service) AgendaAdd(ctx context.Context, room, name string, it AgendaItem) (AgendaItem, error) {
	if err := checkItemText("agenda title", it.Title); err != nil {
		return AgendaItem{}, err
	}
	if it.Minutes < 0 || it.Minutes > 24*60 {
		return AgendaItem{}, fmt.Errorf("%w: %d minutes (0 to 1440)", ErrBadItem, it.Minutes)
	}
	if len(it.Owner) > 100 {
		return AgendaItem{}, fmt.Errorf("%w: owner longer than 100 bytes", ErrBadItem)
	}
	it.ID = newItemID()
	it.Title = strings.TrimSpace(it.Title)
	_, err := s.edit(ctx, room, name, KindAgenda, "agenda add", func(d *automerge.Doc) error {
		if it.At.IsZero() {
			v := readView(d, Info{Kind: KindAgenda})
			it.At = v.Start
			for _, a := range v.Agenda {
				if end := a.At.Add(time.Duration(a.Minutes) * time.Minute); end.After(it.At) {
					it.At = end
				}
			}
			if it.At.IsZero() {
				return fmt.Errorf("%w: give the item a time (--at) or the meeting a start (f2f agenda start)", ErrBadTime)
			}
		}
		return appendItem(d, map[string]any{"id": it.ID, "title": it.Title, "at": it.At.UnixMilli(), "minutes": int64(it.Minutes), "owner": it.Owner})
	})
	return it, err
}

// commit commits the pending operations; none is no error.
func commit(d *automerge.Doc, msg string) error {
	if _, err := d.Commit(msg); err != nil && err.Error() != "Commit is empty" {
		return err
	}
	return nil
}
