// The room's collaborative documents: the notes editor (Automerge in the
// page, synced with its daemon over a WebSocket, everyone's cursors
// shown), the todo list and the agenda (through the daemon's API), and
// the agenda's reminders as browser notifications.

import { html, useState, useEffect, useRef } from './vendor/htm-preact-standalone.module.js';
import * as A from './vendor/automerge/index.js';
import { P, call, room, short } from './api.js';

const docPath = (path, roomRef, name) => room(path, roomRef).replace('{doc}', encodeURIComponent(name));

let wasm = null;
function automerge() {
  if (!wasm) wasm = A.initializeWasm('/ui/vendor/automerge/automerge.wasm');
  return wasm;
}

// ensureDoc makes the room's document when it has none of that name yet.
async function ensureDoc(roomRef, name, kind) {
  await call('POST', room(`${P}/rooms/{room}/docs`, roomRef), { name, kind });
}

// DocSync keeps the page's copy of one document in sync with its daemon:
// Automerge's sync protocol as binary WebSocket messages, cursors as JSON.
// onChange(doc) hears every new version, onCursor(peer, anchor, head)
// the members' cursors, onState(s) 'open' / 'down'.
export class DocSync {
  constructor(roomRef, name, { onChange, onCursor, onState }) {
    this.roomRef = roomRef;
    this.name = name;
    this.onChange = onChange;
    this.onCursor = onCursor;
    this.onState = onState || (() => {});
    this.doc = A.init();
    this.sync = A.initSyncState();
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}${docPath(`${P}/rooms/{room}/docs/{doc}/sync`, this.roomRef, this.name)}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      // A fresh sync state each connection: the daemon's is fresh too.
      this.sync = A.initSyncState();
      this.onState('open');
      this.flush();
    };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        let c = null;
        try { c = JSON.parse(e.data); } catch (err) { return; }
        if (c && c.type === 'cursor' && c.peer) this.onCursor(c.peer, c.anchor, c.head);
        return;
      }
      const before = A.getHeads(this.doc).join(',');
      const [doc, sync] = A.receiveSyncMessage(this.doc, this.sync, new Uint8Array(e.data));
      this.doc = doc;
      this.sync = sync;
      if (A.getHeads(doc).join(',') !== before) this.onChange(doc, true);
      this.flush();
    };
    ws.onclose = () => {
      this.onState('down');
      if (!this.closed) setTimeout(() => this.connect(), 1000);
    };
  }

  // flush sends what the sync state asks for.
  flush() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < 8; i++) {
      const [sync, msg] = A.generateSyncMessage(this.doc, this.sync);
      this.sync = sync;
      if (!msg) break;
      this.ws.send(msg);
    }
  }

  // change edits the page's copy and sends the change.
  change(f) {
    this.doc = A.change(this.doc, f);
    this.onChange(this.doc, false);
    this.flush();
  }

  sendCursor(anchor, head) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'cursor', anchor, head }));
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

const colors = ['#e06c3c', '#2f9e6e', '#8e5bd6', '#c2417c', '#2b8fc7', '#b38a00'];
function colorOf(peer) {
  let h = 0;
  for (const ch of peer) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return colors[h % colors.length];
}

// oneSplice is the single splice (UTF-16 positions, as the textarea and
// Automerge's JavaScript count) that turns a into b.
function oneSplice(a, b) {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  return { pos: pre, del: a.length - pre - suf, ins: b.slice(pre, b.length - suf) };
}

// Notes is the live notes editor.
export function Notes({ roomRef, members, me }) {
  const [state, setState] = useState('connecting');
  const [err, setErr] = useState('');
  const [text, setText] = useState('');
  const [cursors, setCursors] = useState({}); // peer -> {anchor, head}
  const ta = useRef(null);
  const mirror = useRef(null);
  const sref = useRef(null);
  const lastSent = useRef(0);

  useEffect(() => {
    let s = null;
    let live = true;
    (async () => {
      try {
        await automerge();
        await ensureDoc(roomRef, 'notes', 'notes');
      } catch (e) { setErr(e.message); return; }
      if (!live) return;
      s = new DocSync(roomRef, 'notes', {
        onChange: (doc, remote) => {
          const el = ta.current;
          const t = typeof doc.text === 'string' ? doc.text : '';
          if (remote && el && document.activeElement === el) {
            // Keep the caret where it was in the text, not at its old index.
            const old = s.prevDoc || doc;
            let a = el.selectionStart;
            let b = el.selectionEnd;
            try {
              const ca = A.getCursor(old, ['text'], a);
              const cb = A.getCursor(old, ['text'], b);
              a = A.getCursorPosition(doc, ['text'], ca);
              b = A.getCursorPosition(doc, ['text'], cb);
            } catch (e) { /* keep the indexes */ }
            el.value = t;
            el.setSelectionRange(a, b);
          } else if (el && el.value !== t) {
            el.value = t;
          }
          s.prevDoc = doc;
          setText(t);
        },
        onCursor: (peer, anchor, head) => setCursors((c) => ({ ...c, [peer]: { anchor, head, at: Date.now() } })),
        onState: setState,
      });
      sref.current = s;
      window.f2fNotes = s; // for the tests: the page's copy
    })();
    return () => { live = false; if (s) s.close(); sref.current = null; };
  }, [roomRef]);

  const sendCursor = () => {
    const s = sref.current;
    const el = ta.current;
    if (!s || !el) return;
    const now = Date.now();
    if (now - lastSent.current < 100) {
      clearTimeout(sendCursor.t);
      sendCursor.t = setTimeout(sendCursor, 100);
      return;
    }
    lastSent.current = now;
    try {
      s.sendCursor(A.getCursor(s.doc, ['text'], el.selectionStart), A.getCursor(s.doc, ['text'], el.selectionEnd));
    } catch (e) { /* an empty text has no cursor yet */ }
  };

  const onInput = (e) => {
    const s = sref.current;
    if (!s) return;
    const before = typeof s.doc.text === 'string' ? s.doc.text : '';
    const sp = oneSplice(before, e.target.value);
    if (sp.del === 0 && sp.ins === '') return;
    s.change((d) => {
      if (typeof d.text !== 'string') d.text = '';
      A.splice(d, ['text'], sp.pos, sp.del, sp.ins);
    });
    sendCursor();
  };

  // The members' cursors and selections, drawn in a mirror of the text.
  const marks = [];
  const s = sref.current;
  for (const [peer, c] of Object.entries(cursors)) {
    if (peer === me.id || !s) continue;
    try {
      const a = A.getCursorPosition(s.doc, ['text'], c.anchor);
      const b = A.getCursorPosition(s.doc, ['text'], c.head);
      marks.push({ peer, from: Math.min(a, b), to: Math.max(a, b), head: b });
    } catch (e) { /* their cursor's text has not arrived yet */ }
  }
  marks.sort((x, y) => x.from - y.from);
  const parts = [];
  let at = 0;
  for (const m of marks) {
    if (m.from < at) continue;
    const nick = (members.find((x) => x.id === m.peer) || {}).nick || short(m.peer);
    parts.push(text.slice(at, m.from));
    const caret = html`<span class="caret" style=${'border-color:' + colorOf(m.peer)} data-peer=${m.peer}><i style=${'background:' + colorOf(m.peer)}>${nick}</i></span>`;
    if (m.head === m.from) parts.push(caret);
    parts.push(html`<mark style=${'background:' + colorOf(m.peer) + '33'}>${text.slice(m.from, m.to)}</mark>`);
    if (m.head !== m.from) parts.push(caret);
    at = m.to;
  }
  parts.push(text.slice(at) + '\n');

  return html`<div class="notes" data-testid="notes" data-state=${state}>
    ${err && html`<div class="banner err">${err}</div>`}
    ${state === 'down' && html`<div class="banner warn">Reconnecting to the daemon… your edits are kept and sent when it is back.</div>`}
    <div class="notesbox">
      <div class="mirror" ref=${mirror} aria-hidden="true">${parts}</div>
      <textarea ref=${ta} data-testid="notes-text" spellcheck="false" placeholder="Shared notes: everyone in the room types here."
        onInput=${onInput} onKeyUp=${sendCursor} onClick=${sendCursor} onSelect=${sendCursor}
        onScroll=${(e) => { if (mirror.current) mirror.current.scrollTop = e.target.scrollTop; }}></textarea>
    </div>
    <div class="muted small">${Object.keys(cursors).filter((p) => p !== me.id).length} other members' cursors shown · ${state}</div>
  </div>`;
}

// useDoc reads a document through the API, again whenever it changes.
function useDoc(roomRef, hash, name, kind, events) {
  const [doc, setDoc] = useState(null);
  const [err, setErr] = useState('');
  const load = () => call('GET', docPath(`${P}/rooms/{room}/docs/{doc}`, roomRef, name)).then((d) => { setDoc(d); setErr(''); })
    .catch((e) => { if (e.code === 'unknown_doc') setDoc(null); else setErr(e.message); });
  useEffect(() => {
    load();
    const offs = [events.on('doc.changed', (c) => { if (c.room === hash && c.name === name) load(); }),
      events.on('doc.created', (c) => { if (c.room === hash && c.name === name) load(); })];
    return () => offs.forEach((f) => f());
  }, [roomRef, name]);
  const act = async (path, body) => {
    setErr('');
    try {
      await ensureDoc(roomRef, name, kind);
      const r = await call('POST', docPath(path, roomRef, name), body);
      setDoc(r.doc);
      return true;
    } catch (e) { setErr(e.message); return false; }
  };
  return { doc, err, act };
}

export function Todo({ roomRef, hash, events }) {
  const { doc, err, act } = useDoc(roomRef, hash, 'todo', 'todo', events);
  const [text, setText] = useState('');
  const [assignee, setAssignee] = useState('');
  const [due, setDue] = useState('');
  const path = `${P}/rooms/{room}/docs/{doc}/todo`;
  const add = async (e) => {
    e.preventDefault();
    if (await act(path, { op: 'add', text, assignee, due: due ? due.replace('T', ' ') : '' })) { setText(''); setAssignee(''); setDue(''); }
  };
  const items = (doc && doc.todo) || [];
  return html`<div class="todo" data-testid="todo">
    ${err && html`<div class="banner err" data-testid="todo-error">${err}</div>`}
    <ul class="items">${items.map((it) => html`<li key=${it.id} data-item=${it.id} class=${it.done ? 'done' : ''}>
      <label class="check"><input type="checkbox" checked=${it.done} data-testid="todo-done"
        onChange=${(e) => act(path, { op: e.target.checked ? 'done' : 'undone', item: it.id })} />
      <span data-testid="todo-text">${it.text}</span></label>
      <span class="muted">${it.assignee ? '@' + it.assignee : ''}${it.due ? ' · due ' + new Date(it.due).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' }) : ''}</span>
    </li>`)}</ul>
    ${items.length === 0 && html`<p class="muted">Nothing to do yet.</p>`}
    <form onSubmit=${add} class="itemform">
      <input value=${text} onInput=${(e) => setText(e.target.value)} placeholder="A thing to do" data-testid="todo-input" maxlength="1000" required />
      <input value=${assignee} onInput=${(e) => setAssignee(e.target.value)} placeholder="who" class="short" data-testid="todo-assignee" />
      <input type="datetime-local" value=${due} onInput=${(e) => setDue(e.target.value)} title="due" data-testid="todo-due" />
      <button data-testid="todo-add">Add</button>
    </form>
  </div>`;
}

const hhmm = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function Agenda({ roomRef, hash, events }) {
  const { doc, err, act } = useDoc(roomRef, hash, 'agenda', 'agenda', events);
  const [title, setTitle] = useState('');
  const [at, setAt] = useState('');
  const [minutes, setMinutes] = useState('10');
  const [owner, setOwner] = useState('');
  const [start, setStart] = useState('');
  const path = `${P}/rooms/{room}/docs/{doc}/agenda`;
  const add = async (e) => {
    e.preventDefault();
    if (await act(path, { op: 'add', title, at: at ? at.replace('T', ' ') : '', minutes: parseInt(minutes, 10) || 0, owner })) {
      setTitle(''); setAt(''); setOwner('');
    }
  };
  const items = (doc && doc.agenda) || [];
  const now = Date.now();
  return html`<div class="agenda" data-testid="agenda">
    ${err && html`<div class="banner err" data-testid="agenda-error">${err}</div>`}
    <${NotifyButton} />
    <p data-testid="agenda-start">${doc && doc.start ? 'The meeting starts ' + new Date(doc.start).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : 'No start time yet.'}</p>
    <form class="itemform" onSubmit=${(e) => { e.preventDefault(); act(path, { op: 'start', at: start.replace('T', ' ') }); }}>
      <input type="datetime-local" value=${start} onInput=${(e) => setStart(e.target.value)} required data-testid="agenda-start-input" />
      <button class="ghost" data-testid="agenda-set-start">Set the start</button>
    </form>
    <ol class="items">${items.map((it) => {
      const end = new Date(it.at).getTime() + it.minutes * 60000;
      const cls = now >= new Date(it.at).getTime() && now < end ? 'now' : now >= end ? 'past' : '';
      return html`<li key=${it.id} class=${cls} data-item=${it.id}><b>${hhmm(it.at)}</b> <span data-testid="agenda-title">${it.title}</span>
        <span class="muted">${it.minutes} min${it.owner ? ' · ' + it.owner : ''}</span></li>`;
    })}</ol>
    <form onSubmit=${add} class="itemform">
      <input value=${title} onInput=${(e) => setTitle(e.target.value)} placeholder="Agenda item" data-testid="agenda-input" maxlength="1000" required />
      <input type="datetime-local" value=${at} onInput=${(e) => setAt(e.target.value)} title="starts at (empty: after the last item)" data-testid="agenda-at" />
      <input type="number" min="0" max="1440" value=${minutes} onInput=${(e) => setMinutes(e.target.value)} class="short" title="minutes" data-testid="agenda-minutes" />
      <input value=${owner} onInput=${(e) => setOwner(e.target.value)} placeholder="who" class="short" data-testid="agenda-owner" />
      <button data-testid="agenda-add">Add</button>
    </form>
  </div>`;
}

function NotifyButton() {
  const [perm, setPerm] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);
  if (perm === 'granted' || perm === 'unsupported') return null;
  return html`<div class="banner">Reminders show in this page${perm === 'denied' ? ' (notifications are blocked for it)' : ''}.
    ${perm === 'default' && html` <button class="small" onClick=${() => Notification.requestPermission().then(setPerm)}>Also as notifications</button>`}</div>`;
}

// Reminders shows the agenda's reminders of this room as they come: a
// browser notification (when allowed) and a banner in the page.
export function Reminders({ hash, events }) {
  const [shown, setShown] = useState([]);
  useEffect(() => events.on('doc.reminder', (r) => {
    if (r.room !== hash) return;
    window.f2fReminders = [...(window.f2fReminders || []), { ...r, seen: Date.now() }];
    if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
      try { new Notification('face2face: ' + r.title, { body: `${r.doc} · ${hhmm(r.at)}`, tag: `${r.room}/${r.doc}/${r.key}` }); } catch (e) { /* not here */ }
    }
    setShown((s) => [...s.slice(-2), r]);
  }), [hash]);
  return html`${shown.map((r) => html`<div class="banner reminder" key=${r.key + r.at} data-testid="reminder">
    Reminder: ${r.title} <span class="muted">(${r.doc}, ${hhmm(r.at)})</span>
    <button class="ghost small" onClick=${() => setShown((s) => s.filter((x) => x !== r))}>Dismiss</button></div>`)}`;
}
