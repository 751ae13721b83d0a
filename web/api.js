// The daemon's local API, as the page speaks it (api/README.md). The page
// carries its session cookie; it never sees the API token.

export const P = '/api/v1';

export class APIError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// call sends one request and returns its JSON (null when empty); a failed
// request throws an APIError with the daemon's message and code.
export async function call(method, path, body) {
  const opt = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opt);
  } catch (e) {
    throw new APIError('the daemon is not answering (stopped?)', 'offline', 0);
  }
  const text = await r.text();
  let v = null;
  try { v = text ? JSON.parse(text) : null; } catch (e) { v = null; }
  if (!r.ok) {
    throw new APIError((v && v.error) || `${r.status} ${r.statusText}`, (v && v.code) || '', r.status);
  }
  return v;
}

export const room = (path, ref) => path.replace('{room}', encodeURIComponent(ref));

// gatewayURL links a file for download or display through the daemon.
export function gatewayURL(cid, name, download) {
  const q = new URLSearchParams();
  if (name) q.set('filename', name);
  if (download) q.set('download', 'true');
  const s = q.toString();
  return `/ipfs/${encodeURIComponent(cid)}${s ? '?' + s : ''}`;
}

// upload adds a file (shared in the room) with progress(loaded, total);
// it resolves to the AddResult.
export function upload(file, roomRef, progress) {
  return new Promise((resolve, reject) => {
    const q = new URLSearchParams({ name: file.name });
    if (roomRef) q.set('room', roomRef);
    const x = new XMLHttpRequest();
    x.open('POST', `${P}/files/add?${q}`);
    x.upload.onprogress = (e) => progress(e.loaded, e.total || file.size);
    x.onload = () => {
      let v = null;
      try { v = JSON.parse(x.responseText); } catch (e) { v = null; }
      if (x.status >= 200 && x.status < 300) resolve(v);
      else reject(new APIError((v && v.error) || `upload failed (${x.status})`, (v && v.code) || '', x.status));
    };
    x.onerror = () => reject(new APIError('the upload was cut off (daemon stopped?)', 'offline', 0));
    x.send(file);
  });
}

// Events is the daemon's event stream (server-sent events): on(type, f)
// registers a handler; state(f) hears 'open' / 'down'. The browser
// reconnects by itself when the daemon comes back.
export class Events {
  constructor(types) {
    this.handlers = {};
    this.stateHandlers = [];
    this.es = new EventSource(`${P}/events`);
    for (const t of ['stream.ready', ...types]) {
      this.es.addEventListener(t, (e) => {
        let ev = null;
        try { ev = JSON.parse(e.data); } catch (err) { return; }
        if (t === 'stream.ready') this.stateHandlers.forEach((f) => f('open'));
        (this.handlers[t] || []).forEach((f) => f(ev.data || {}, ev));
      });
    }
    this.es.onerror = () => this.stateHandlers.forEach((f) => f('down'));
  }
  on(type, f) {
    (this.handlers[type] = this.handlers[type] || []).push(f);
    return () => { this.handlers[type] = this.handlers[type].filter((g) => g !== f); };
  }
  state(f) { this.stateHandlers.push(f); }
}

export function short(id) {
  return id ? id.slice(-6) : '';
}

export function humanSize(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(n < 10 ? 1 : 0) : n} ${u[i]}`;
}
