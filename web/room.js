// A room: the call's tiles and controls, and the side panel with the chat,
// the files, the shared notes, todo list and agenda, and the network
// (members, mixer and the live topology).

import { html, useState, useEffect, useRef } from './vendor/htm-preact-standalone.module.js';
import { P, call, room, upload, gatewayURL, short, humanSize } from './api.js';
import { Call } from './call.js';
import { Graph } from './graph.js';
import { Stage } from './stage.js';
import { Notes, Todo, Agenda, Reminders } from './docs.js';

// Video plays a MediaStreamTrack set (muted: audio plays elsewhere).
function Video({ tracks, muted, testid }) {
  const ref = useRef(null);
  const ids = tracks.filter(Boolean).map((t) => t.id).join(',');
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    v.srcObject = new MediaStream(tracks.filter(Boolean));
    v.play().catch(() => {});
  }, [ids]);
  return html`<video ref=${ref} autoplay playsinline muted=${muted} data-testid=${testid}></video>`;
}

// Audio plays a remote audio track.
function Audio({ track }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current) return;
    ref.current.srcObject = new MediaStream([track]);
    ref.current.play().catch(() => {});
  }, [track && track.id]);
  return html`<audio ref=${ref} autoplay></audio>`;
}

function Tile({ name, video, audio, level, stalled, mixer, origin, kind, self, note }) {
  const speaking = level > 0.05;
  const cls = ['tile', kind === 'screen' ? 'screen' : kind === 'grid' ? 'grid' : '', speaking ? 'speaking' : '', stalled ? 'stalled' : ''].join(' ');
  return html`<figure class=${cls} data-tile=${kind} data-origin=${origin} data-level=${level ? level.toFixed(3) : '0'} data-stalled=${stalled ? '1' : '0'}>
    ${video ? html`<${Video} tracks=${[video]} muted=${true} testid=${kind + '-video'} />` : html`<div class="novideo">${(name || '?').slice(0, 1).toUpperCase()}</div>`}
    ${audio && !self && html`<${Audio} track=${audio} />`}
    <figcaption>${name}${kind === 'screen' ? ' (screen)' : ''}${mixer ? html` <span class="badge">mixer</span>` : ''}
      ${stalled ? html` <span class="badge warn">stalled</span>` : ''}${note ? html` <span class="badge">${note}</span>` : ''}</figcaption>
  </figure>`;
}

function nickOf(members, id) {
  const m = members.find((x) => x.id === id);
  return m ? m.nick || short(id) : short(id);
}

// lowNoteOf says what the mixer answered to low bandwidth (null: nothing
// yet).
function lowNoteOf(st, members, me) {
  if (me && st.mixer === me.id) return 'this node is the mixer now: it gets every stream';
  if (st.video_refused || st.mix_refused) return 'refused by the mixer: ' + (st.video_refused || st.mix_refused);
  if (st.composed_by) return 'one composed picture from ' + nickOf(members, st.composed_by);
  return null;
}

function CallView({ roomRef, members, mixer, me }) {
  const [, setTick] = useState(0);
  const cref = useRef(null);
  const [devices, setDevices] = useState({ cams: [], mics: [] });
  if (!cref.current) cref.current = new Call(roomRef, () => setTick((t) => t + 1));
  const c = cref.current;
  useEffect(() => () => c.stop(), []);
  const listDevices = async () => {
    try {
      const ds = await navigator.mediaDevices.enumerateDevices();
      setDevices({ cams: ds.filter((d) => d.kind === 'videoinput'), mics: ds.filter((d) => d.kind === 'audioinput') });
    } catch (e) { /* none */ }
  };
  const join = async () => { await c.start(); listDevices(); };
  // In low bandwidth the mixer's answer can change (a new mixer, or it
  // sheds the stream when it runs over its budget): follow it.
  useEffect(() => {
    if (!c.lowBandwidth) return undefined;
    const id = setInterval(async () => {
      try {
        const note = lowNoteOf(await call('GET', room(`${P}/rooms/{room}/media/stats`, roomRef)), members, me);
        if (note && note !== c.lowNote) { c.lowNote = note; setTick((t) => t + 1); }
      } catch (e) { /* the next poll */ }
    }, 2000);
    return () => clearInterval(id);
  }, [c.lowBandwidth]);
  if (c.state === 'idle') {
    return html`<section class="call idle">
      <p>Join the call to see and hear the others, with your camera and microphone.</p>
      <button class="big" onClick=${join} data-testid="join-call">Join the call</button>
    </section>`;
  }
  // A member gone from the room leaves no tile behind.
  const all = c.tiles().filter((t) => !members.some((m) => m.id === t.origin && m.gone));
  // The mixer's composed picture (low bandwidth) is one large tile; a
  // member whose tracks come only through it has no tile of its own.
  const grids = all.filter((t) => t.grid);
  const tiles = all.filter((t) => t.video || t.audio || t.screen);
  const screens = tiles.filter((t) => t.screen);
  const lowBandwidth = async () => {
    const on = !c.lowBandwidth;
    c.lowBandwidth = on;
    c.lowNote = on ? 'asking the mixer…' : '';
    setTick((t) => t + 1);
    try {
      let st = await call('POST', room(`${P}/rooms/{room}/media/mix`, roomRef), { on, video: on });
      // The mixer answers once it sends to this node: wait up to 10 s.
      for (let i = 0; on && i < 20 && !st.composed_by && !st.video_refused && !st.mix_refused; i++) {
        await new Promise((r) => setTimeout(r, 500));
        st = await call('GET', room(`${P}/rooms/{room}/media/stats`, roomRef));
      }
      c.lowNote = on ? lowNoteOf(st, members, me) || 'the mixer has not answered yet' : '';
    } catch (e) {
      c.lowNote = e.message;
    }
    setTick((t) => t + 1);
  };
  return html`<section class="call">
    ${c.mediaError && html`<div class="banner warn" data-testid="media-error">${c.mediaError} <button class="ghost" onClick=${() => c.openDevices()}>Retry devices</button></div>`}
    ${c.reason && html`<div class="banner warn" data-testid="call-closed">${c.reason}
      ${c.state === 'closed' && html` <button onClick=${() => { c.reason = ''; c.start(); }} data-testid="take-back">Continue the call here</button>`}</div>`}
    ${c.state === 'down' && html`<div class="banner err" data-testid="call-down">Media connection lost; reconnecting…</div>`}
    ${c.lowNote && html`<div class="banner" data-testid="low-bandwidth-state">Low bandwidth: ${c.lowNote}</div>`}
    ${grids.length > 0 && html`<div class="screens">${grids.map((t) => html`<${Tile} key=${t.origin + 'g'} kind="grid" origin=${t.origin}
        name=${'Everyone, composed by ' + nickOf(members, t.origin)} video=${t.grid} />`)}</div>`}
    ${screens.length > 0 && html`<div class="screens">${screens.map((t) => html`<${Tile} key=${t.origin + 's'} kind="screen" origin=${t.origin}
        name=${nickOf(members, t.origin)} video=${t.screen} stalled=${c.stalled[t.mids.screen]} />`)}</div>`}
    <div class=${'tiles n' + Math.min(tiles.length + 1, 9)} data-testid="tiles">
      <${Tile} kind="self" self=${true} origin=${me.id} name="You" video=${c.local.camera} audio=${c.local.mic}
        note=${c.muted ? 'muted' : c.local.screen ? 'sharing screen' : ''} mixer=${mixer === me.id} />
      ${tiles.map((t) => html`<${Tile} key=${t.origin} kind="video" origin=${t.origin} name=${nickOf(members, t.origin)}
        video=${t.video} audio=${t.audio} level=${c.levels[t.origin] || 0} stalled=${t.mids.video && c.stalled[t.mids.video]} mixer=${mixer === t.origin} />`)}
      ${all.filter((t) => t.mix).map((t) => html`<${Audio} key=${t.origin + 'm'} track=${t.mix} />`)}
    </div>
    <div class="controls" data-testid="controls" data-state=${c.state}>
      <button onClick=${() => c.setMuted(!c.muted)} data-testid="mute" class=${c.muted ? 'on' : ''}>${c.muted ? 'Unmute' : 'Mute'}</button>
      <button onClick=${() => c.setCameraOff(!c.cameraOff)} data-testid="camera" class=${c.cameraOff ? 'on' : ''}>${c.cameraOff ? 'Camera on' : 'Camera off'}</button>
      <button onClick=${lowBandwidth} data-testid="low-bandwidth" class=${c.lowBandwidth ? 'on' : ''}
        title="one composed picture and one mixed sound from the mixer instead of a stream per member">${c.lowBandwidth ? 'All streams' : 'Low bandwidth'}</button>
      ${c.local.screen
        ? html`<button onClick=${() => c.stopScreen()} data-testid="stop-screen" class="on">Stop sharing</button>`
        : html`<button onClick=${() => c.shareScreen().catch((e) => { c.reason = 'screen sharing: ' + e.message; setTick((t) => t + 1); })} data-testid="share-screen">Share screen</button>`}
      <select onChange=${(e) => c.chooseDevices(e.target.value, c.micId)} title="camera" data-testid="camera-select">
        ${devices.cams.map((d, i) => html`<option value=${d.deviceId}>${d.label || 'camera ' + (i + 1)}</option>`)}
      </select>
      <select onChange=${(e) => c.chooseDevices(c.cameraId, e.target.value)} title="microphone" data-testid="mic-select">
        ${devices.mics.map((d, i) => html`<option value=${d.deviceId}>${d.label || 'microphone ' + (i + 1)}</option>`)}
      </select>
      <button class="danger" onClick=${() => { c.stop(); cref.current = null; setTick((t) => t + 1); }} data-testid="hangup">Leave the call</button>
      <span class="muted">${c.state}</span>
    </div>
  </section>`;
}

function fmtTime(t) {
  const d = new Date(t);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function ChatLine({ m }) {
  if (m.local) return html`<li class="local"><pre>${m.text}</pre></li>`;
  if (m.kind === 'me') return html`<li class="me"><span class="t">${fmtTime(m.time)}</span> * ${m.nick} ${m.text}</li>`;
  if (m.file) {
    const cid = m.file.cid['/'];
    return html`<li class="file"><span class="t">${fmtTime(m.time)}</span> <b>${m.nick}</b> shared${' '}<a href=${gatewayURL(cid, m.file.name)} download=${m.file.name} data-testid="file-link" data-cid=${cid}>${m.file.name}</a>${' '}<span class="muted">(${humanSize(m.file.size)})</span></li>`;
  }
  if (m.kind === 'nick') return html`<li class="sys"><span class="t">${fmtTime(m.time)}</span> * ${m.nick} is now known as ${m.text}</li>`;
  if (m.kind === 'reminder') return html`<li class="reminder" data-testid="chat-reminder"><span class="t">${fmtTime(m.time)}</span> Reminder: ${m.text}</li>`;
  if (m.kind === 'join') return html`<li class="sys"><span class="t">${fmtTime(m.time)}</span> → ${m.nick} joined</li>`;
  if (m.kind === 'leave') return html`<li class="sys"><span class="t">${fmtTime(m.time)}</span> ← ${m.nick} left</li>`;
  if (m.kind === 'file' && !m.file) return html`<li class="sys"><span class="t">${fmtTime(m.time)}</span> ${m.nick}: a file link this version cannot read</li>`;
  return html`<li><span class="t">${fmtTime(m.time)}</span> <b>${m.nick}</b> ${m.text}</li>`;
}

function Chat({ roomRef, hash, events }) {
  const [log, setLog] = useState([]);
  const [text, setText] = useState('');
  const [err, setErr] = useState('');
  const list = useRef(null);
  useEffect(() => {
    let live = true;
    call('GET', room(`${P}/rooms/{room}/log`, roomRef) + '?limit=500').then((l) => { if (live) setLog(l || []); }).catch((e) => setErr(e.message));
    const off = events.on('chat.message', (m) => {
      if (m.room !== hash) return;
      setLog((l) => (l.some((x) => x.author === m.author && x.seq === m.seq && x.kind === m.kind) ? l : [...l, m]));
    });
    return () => { live = false; off(); };
  }, [roomRef]);
  useEffect(() => { if (list.current) list.current.scrollTop = list.current.scrollHeight; }, [log.length]);
  const send = async (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    setErr('');
    try {
      const r = await call('POST', room(`${P}/rooms/{room}/chat`, roomRef), { text });
      if (r.output) setLog((l) => [...l, { local: true, text: r.output, seq: -Date.now() }]);
      setText('');
    } catch (x) { setErr(x.message); }
  };
  return html`<div class="chat">
    <ul class="log" ref=${list} data-testid="chat-log">${log.map((m) => html`<${ChatLine} key=${m.kind + ':' + m.author + ':' + m.seq} m=${m} />`)}</ul>
    ${err && html`<div class="banner err">${err}</div>`}
    <form onSubmit=${send} class="say">
      <input value=${text} onInput=${(e) => setText(e.target.value)} placeholder="Message, or /help" data-testid="chat-input" maxlength="4000" />
      <button data-testid="chat-send">Send</button>
    </form>
  </div>`;
}

function Files({ roomRef, hash, events, onStage }) {
  const [files, setFiles] = useState([]);
  const [up, setUp] = useState(null); // {name, loaded, total}
  const [err, setErr] = useState('');
  const [drag, setDrag] = useState(false);
  const input = useRef(null);
  const load = () => call('GET', `${P}/files?room=${encodeURIComponent(roomRef)}`).then((f) => setFiles(f || [])).catch((e) => setErr(e.message));
  useEffect(() => {
    load();
    return events.on('chat.message', (m) => { if (m.room === hash && m.file) load(); });
  }, [roomRef]);
  const share = async (list) => {
    setErr('');
    for (const f of list) {
      setUp({ name: f.name, loaded: 0, total: f.size });
      try {
        await upload(f, roomRef, (loaded, total) => setUp({ name: f.name, loaded, total }));
      } catch (x) { setErr(`${f.name}: ${x.message}`); }
    }
    setUp(null);
    load();
  };
  return html`<div class=${'files' + (drag ? ' drag' : '')} data-testid="files"
      onDragOver=${(e) => { e.preventDefault(); setDrag(true); }} onDragLeave=${() => setDrag(false)}
      onDrop=${(e) => { e.preventDefault(); setDrag(false); share([...e.dataTransfer.files]); }}>
    <div class="row">
      <button onClick=${() => input.current.click()} data-testid="share-file">Share a file…</button>
      <span class="muted">or drop files here</span>
      <input type="file" multiple ref=${input} hidden data-testid="file-input" onChange=${(e) => { share([...e.target.files]); e.target.value = ''; }} />
    </div>
    ${up && html`<div class="progress" data-testid="upload-progress"><span>${up.name}</span>
      <progress max=${up.total || 1} value=${up.loaded}></progress> ${Math.round((100 * up.loaded) / (up.total || 1))} %</div>`}
    ${err && html`<div class="banner err" data-testid="file-error">${err}</div>`}
    <ul class="filelist">${files.map((f) => html`<li key=${f.cid['/']}>
      <a href=${gatewayURL(f.cid['/'], f.name)} download=${f.name} data-testid="room-file">${f.name}</a>
      <span class="muted">${humanSize(f.size)} · ${f.nick}${f.local ? '' : ' · not here yet'}</span>
      ${onStage && html`<button class="ghost small" onClick=${() => onStage(f)} data-testid="to-stage">On stage</button>`}
    </li>`)}</ul>
  </div>`;
}

function People({ members, mixerInfo, me }) {
  const scores = {};
  for (const m of (mixerInfo && mixerInfo.members) || []) scores[m.id] = m;
  return html`<table class="people" data-testid="people">
    <tr><th>member</th><th>role</th><th>score</th><th>uplink</th><th>rtt</th><th>state</th></tr>
    ${[{ id: me.id, nick: 'you', connected: true, me: true }, ...members].map((m) => {
      const s = scores[m.id] || {};
      const rep = s.report || {};
      return html`<tr key=${m.id} data-member=${m.id}>
        <td title=${m.id}>${m.nick || short(m.id)}</td>
        <td>${s.mixer ? html`<span class="badge">mixer</span>` : ''}</td>
        <td>${s.score || ''}</td>
        <td>${rep.upload_bps ? (rep.upload_bps / 1e6).toFixed(1) + ' MB/s' : ''}</td>
        <td>${m.rtt_ms ? m.rtt_ms.toFixed(1) + ' ms' : ''}</td>
        <td>${m.me ? 'this node' : m.gone ? 'gone' : m.connected ? 'connected' : 'not connected'}</td>
      </tr>`;
    })}
  </table>`;
}

export function RoomView({ info, me, events, daemon, onLeave }) {
  const roomRef = info.key;
  const [tab, setTab] = useState('chat');
  const [members, setMembers] = useState([]);
  const [mixerInfo, setMixerInfo] = useState(null);
  const [graph, setGraph] = useState(null);
  const [copied, setCopied] = useState(false);
  const [stage, setStage] = useState(null);
  const loadStage = () => call('GET', room(`${P}/rooms/{room}/stage`, roomRef)).then(setStage).catch(() => {});
  const toStage = async (f) => {
    try { setStage(await call('POST', room(`${P}/rooms/{room}/stage`, roomRef), { op: 'open', cid: f.cid['/'] })); } catch (e) { /* shown on retry */ }
  };
  const refresh = async () => {
    try {
      const [ms, mi, g] = await Promise.all([
        call('GET', room(`${P}/rooms/{room}/peers`, roomRef)),
        call('GET', room(`${P}/rooms/{room}/mixer`, roomRef)),
        call('GET', `${P}/topo?room=${encodeURIComponent(roomRef)}`),
      ]);
      setMembers(ms || []);
      setMixerInfo(mi);
      setGraph(g);
    } catch (e) { /* shown by the daemon banner */ }
  };
  useEffect(() => {
    refresh();
    const offs = ['room.member_joined', 'room.member_left', 'room.member_gone', 'room.mixer_changed', 'media.route']
      .map((t) => events.on(t, (d) => { if (!d.room || d.room === info.hash) refresh(); }));
    loadStage();
    offs.push(events.on('chat.message', (m) => { if (m.room === info.hash && m.kind === 'stage') loadStage(); }));
    offs.push(events.on('stream.ready', () => loadStage()));
    const iv = setInterval(refresh, 2000);
    return () => { offs.forEach((f) => f()); clearInterval(iv); };
  }, [roomRef]);
  const leave = async () => {
    try { await call('POST', room(`${P}/rooms/{room}/leave`, roomRef), {}); } catch (e) { /* gone already */ }
    onLeave();
  };
  const shareLink = `${location.origin}/#room=${encodeURIComponent(roomRef)}`;
  const copy = async () => {
    try { await navigator.clipboard.writeText(shareLink); setCopied(true); setTimeout(() => setCopied(false), 1500); } catch (e) { /* no clipboard */ }
  };
  const mixer = mixerInfo && mixerInfo.mixer;
  return html`<div class="room" data-testid="room" data-room=${info.hash}>
    <div class="roomhead">
      <h2>${info.name}</h2>
      <span class="muted" data-testid="room-mixer" data-mixer=${mixer || ''}>${members.filter((m) => m.connected && !m.gone).length + 1} present${info.password ? ' · password room' : ''}
        · ${mixerInfo ? mixerInfo.topology : ''}${mixer ? ' · mixer ' + nickOf([...members, { id: me.id, nick: 'you' }], mixer) : ''}</span>
      <button class="ghost small" onClick=${copy} title=${shareLink} data-testid="copy-link">${copied ? 'Copied' : 'Copy the room key link'}</button>
      <button class="ghost small" onClick=${leave} data-testid="leave-room">Leave the room</button>
    </div>
    <${Reminders} hash=${info.hash} events=${events} />
    <div class=${'roomgrid' + (tab === 'notes' ? ' wide' : '')}>
      <div class="main">
        <${Stage} roomRef=${roomRef} stage=${stage} onChanged=${setStage} />
        <${CallView} roomRef=${roomRef} members=${members} mixer=${mixer} me=${me} />
      </div>
      <aside class="side">
        <nav class="tabs">
          ${['chat', 'files', 'notes', 'todo', 'agenda', 'people', 'network'].map((t) => html`<button class=${tab === t ? 'active' : ''} onClick=${() => setTab(t)} data-testid=${'tab-' + t}>${t}</button>`)}
        </nav>
        <div hidden=${tab !== 'chat'}><${Chat} roomRef=${roomRef} hash=${info.hash} events=${events} /></div>
        <div hidden=${tab !== 'files'}><${Files} roomRef=${roomRef} hash=${info.hash} events=${events} onStage=${toStage} /></div>
        ${tab === 'notes' && html`<${Notes} roomRef=${roomRef} members=${members} me=${me} />`}
        ${tab === 'todo' && html`<${Todo} roomRef=${roomRef} hash=${info.hash} events=${events} />`}
        ${tab === 'agenda' && html`<${Agenda} roomRef=${roomRef} hash=${info.hash} events=${events} />`}
        ${tab === 'people' && html`<${People} members=${members} mixerInfo=${mixerInfo} me=${me} />`}
        ${tab === 'network' && html`<${Graph} graph=${graph} mixerInfo=${mixerInfo} />`}
      </aside>
    </div>
  </div>`;
}
