// face2face's page: the rooms, and in a room the call (tiles, controls),
// the stage, the chat, the files and the network. It speaks the daemon's
// documented local API like the CLI does (api/README.md).

import { html, render, useState, useEffect, useCallback } from './vendor/htm-preact-standalone.module.js';
import { P, call, Events, short } from './api.js';
import { RoomView } from './room.js';

const events = new Events([
  'room.joined', 'room.left', 'room.forgotten', 'room.member_joined', 'room.member_left', 'room.member_gone',
  'room.mixer_changed', 'chat.message', 'media.route', 'media.gap', 'media.browser', 'peer.connected', 'peer.disconnected',
  'doc.created', 'doc.changed', 'doc.reminder', 'net.reachability',
]);

// The room in the URL's fragment: #room=<key> (a share link; a password is
// never in it).
function roomFromHash() {
  const m = /(?:^#|&)room=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

function keyFromInput(s) {
  s = s.trim();
  const m = /[#&]room=([^&\s]+)/.exec(s);
  return m ? decodeURIComponent(m[1]) : s;
}

function Banner({ daemon, login }) {
  if (login === 'expired') {
    return html`<div class="banner warn" data-testid="login-expired">This login link was already used or has expired. Run <code>f2f open</code> again for a new one.</div>`;
  }
  if (login === 'none') {
    return html`<div class="banner warn" data-testid="login-needed">This page is not logged in to its daemon. Run <code>f2f open</code> and open the link it prints.</div>`;
  }
  if (daemon === 'down') {
    return html`<div class="banner err" data-testid="daemon-down">The daemon is not answering (stopped?). This page reconnects when it is back.</div>`;
  }
  return null;
}

function StartPage({ rooms, onOpen, onChanged }) {
  const [name, setName] = useState('');
  const [pw, setPw] = useState('');
  const [key, setKey] = useState('');
  const [jpw, setJpw] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const create = async (e) => {
    e.preventDefault();
    setErr(''); setBusy(true);
    try {
      const r = await call('POST', `${P}/rooms`, { name: name.trim(), password: pw });
      setName(''); setPw('');
      onChanged();
      onOpen(r.key);
    } catch (x) { setErr(x.message); }
    setBusy(false);
  };
  const join = async (e) => {
    e.preventDefault();
    setErr(''); setBusy(true);
    try {
      const r = await call('POST', `${P}/rooms/join`, { key: keyFromInput(key), password: jpw });
      setKey(''); setJpw('');
      onChanged();
      onOpen(r.key);
    } catch (x) { setErr(x.message); }
    setBusy(false);
  };
  const joined = rooms.filter((r) => r.joined);
  const left = rooms.filter((r) => !r.joined);
  return html`<main class="start">
    <h1>face2face</h1>
    <p class="sub">A conference with no server: your daemon is your peer.</p>
    ${err && html`<div class="banner err" data-testid="start-error">${err}</div>`}
    <div class="cards">
      <form class="card" onSubmit=${create} data-testid="create-form">
        <h2>Create a room</h2>
        <label>Name <input name="name" value=${name} onInput=${(e) => setName(e.target.value)} required maxlength="64" /></label>
        <label>Password (optional) <input name="password" type="password" value=${pw} onInput=${(e) => setPw(e.target.value)} autocomplete="new-password" /></label>
        <button disabled=${busy}>Create</button>
      </form>
      <form class="card" onSubmit=${join} data-testid="join-form">
        <h2>Join a room</h2>
        <label>Room key or share link <input name="key" value=${key} onInput=${(e) => setKey(e.target.value)} required /></label>
        <label>Password (if it has one) <input name="password" type="password" value=${jpw} onInput=${(e) => setJpw(e.target.value)} /></label>
        <button disabled=${busy}>Join</button>
      </form>
    </div>
    <h2>Your rooms</h2>
    ${joined.length === 0 && html`<p class="muted">You are in no room yet.</p>`}
    <ul class="rooms" data-testid="rooms">
      ${joined.map((r) => html`<li key=${r.key}>
        <a href=${'#room=' + encodeURIComponent(r.key)} onClick=${(e) => { e.preventDefault(); onOpen(r.key); }}>${r.name}</a>
        <span class="muted">${r.members} present${r.password ? ', password' : ''}</span>
      </li>`)}
    </ul>
    ${left.length > 0 && html`<details><summary>Rooms you left (${left.length})</summary>
      <ul class="rooms">${left.map((r) => html`<li key=${r.key}>${r.name} <span class="muted">${r.messages} messages kept</span></li>`)}</ul>
    </details>`}
  </main>`;
}

// JoinByLink asks for a share link's room: join it (password typed here).
function JoinByLink({ roomKey, known, onJoined, onCancel }) {
  const [pw, setPw] = useState('');
  const [err, setErr] = useState('');
  const join = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      await call('POST', `${P}/rooms/join`, { key: roomKey, password: pw });
      onJoined();
    } catch (x) { setErr(x.message); }
  };
  return html`<main class="start"><form class="card" onSubmit=${join} data-testid="link-join">
    <h2>${known ? `Rejoin ${known.name}` : 'Join this room'}</h2>
    <p class="muted mono">${roomKey}</p>
    ${err && html`<div class="banner err" data-testid="join-error">${err}</div>`}
    <label>Password (if it has one) <input type="password" value=${pw} onInput=${(e) => setPw(e.target.value)} /></label>
    <div class="row"><button>Join</button><button type="button" class="ghost" onClick=${onCancel}>Back</button></div>
  </form></main>`;
}

// Reach says in a word how this node is reachable (AutoNAT, relays, hole
// punching); the whole sentence is its tooltip.
function Reach({ nat }) {
  let word = 'reachability unknown';
  let cls = 'reach';
  if (nat.reachability === 'public') { word = 'public'; cls += ' ok'; } else if (nat.reachability === 'private') {
    word = nat.relay_addresses && nat.relay_addresses.length ? 'behind NAT · via relay' : 'behind NAT · no relay yet';
    cls += nat.relay_addresses && nat.relay_addresses.length ? ' ok' : ' warn';
  }
  return html`<span class=${cls} title=${nat.summary} data-testid="reachability">${word}</span>`;
}

function App() {
  const [me, setMe] = useState(null);
  const [rooms, setRooms] = useState([]);
  const [roomKey, setRoomKey] = useState(roomFromHash());
  const [daemon, setDaemon] = useState('up');
  const [login, setLogin] = useState(new URLSearchParams(location.search).get('login') || '');
  const refresh = useCallback(async () => {
    try {
      const [id, rs] = await Promise.all([call('GET', `${P}/id`), call('GET', `${P}/rooms`)]);
      setMe(id);
      setRooms(rs || []);
      setDaemon('up');
      if (login === 'none') setLogin('');
    } catch (e) {
      if (e.status === 401) setLogin((l) => l || 'none');
      else if (e.code === 'offline') setDaemon('down');
    }
  }, [login]);
  useEffect(() => {
    refresh();
    events.state((s) => { setDaemon(s === 'open' ? 'up' : 'down'); if (s === 'open') refresh(); });
    for (const t of ['room.joined', 'room.left', 'room.forgotten', 'room.member_joined', 'room.member_left', 'net.reachability']) events.on(t, () => refresh());
    // Relay reservations and hole punches change how the node is reachable
    // without an event: look again now and then.
    const poll = setInterval(() => { if (!document.hidden) refresh(); }, 15000);
    const onHash = () => setRoomKey(roomFromHash());
    window.addEventListener('hashchange', onHash);
    if (login) history.replaceState(null, '', '/' + location.hash);
    return () => { window.removeEventListener('hashchange', onHash); clearInterval(poll); };
  }, []);
  const open = (key) => { location.hash = key ? 'room=' + encodeURIComponent(key) : ''; setRoomKey(key); };
  const current = rooms.find((r) => r.key === roomKey);
  let body;
  if (!me) {
    body = html`<main class="start"><p class="muted">Connecting to the daemon…</p></main>`;
  } else if (roomKey && current && current.joined) {
    body = html`<${RoomView} key=${current.key} info=${current} me=${me} events=${events} daemon=${daemon}
      onLeave=${() => { refresh(); open(''); }} />`;
  } else if (roomKey) {
    body = html`<${JoinByLink} roomKey=${roomKey} known=${current} onJoined=${refresh} onCancel=${() => open('')} />`;
  } else {
    body = html`<${StartPage} rooms=${rooms} onOpen=${open} onChanged=${refresh} />`;
  }
  return html`<div class="app">
    <header class="top">
      <a class="brand" href="#" onClick=${(e) => { e.preventDefault(); open(''); }}>face2face</a>
      ${me && html`<span class="muted mono" title=${me.id}>node ${short(me.id)}</span>`}
      ${me && me.nat && html`<${Reach} nat=${me.nat} />`}
      <span class=${'dot ' + daemon} title=${daemon === 'up' ? 'connected to the daemon' : 'daemon not answering'}></span>
    </header>
    <${Banner} daemon=${daemon} login=${login} />
    ${body}
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
