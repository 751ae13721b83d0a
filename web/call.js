// The page's side of a call: one RTCPeerConnection to its own daemon
// (pion), signalled over a WebSocket. The daemon always offers: three
// transceivers for the page's camera, microphone and screen (sendonly
// here), and one per track of another member (recvonly here). The daemon
// republishes the page's tracks into the room along the topology the
// election chose.

import { P, room } from './api.js';

const ROLES = ['camera', 'mic', 'screen'];

export class Call {
  // onChange() is called whenever tiles, state or levels change.
  constructor(roomRef, onChange) {
    this.roomRef = roomRef;
    this.onChange = onChange;
    this.local = { camera: null, mic: null, screen: null };
    this.stream = null; // the page's camera + mic (self view)
    this.remote = {}; // mid -> MediaStreamTrack
    this.tracks = {}; // mid -> {send, origin, kind} from the daemon
    this.state = 'idle'; // idle | connecting | connected | closed | down
    this.reason = '';
    this.mediaError = '';
    this.muted = false;
    this.cameraOff = false;
    this.closed = false;
    this.levels = {}; // origin -> 0..1
    this.frames = {}; // mid -> {n, at}
    this.stalled = {}; // mid -> true
    this.audioCtx = null;
    this.analysers = {}; // mid -> {an, buf}
    window.f2fCall = this; // for the console (and the tests)
  }

  // start asks for the camera and microphone (a failure is shown, and the
  // call goes on receiving only) and connects to the daemon.
  async start(opts = {}) {
    this.closed = false;
    try {
      this.audioCtx = this.audioCtx || new AudioContext();
      await this.audioCtx.resume();
    } catch (e) { /* no WebAudio: no levels */ }
    await this.openDevices(opts);
    this.connect();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.poll(), 500);
  }

  async openDevices({ cameraId, micId } = {}) {
    this.mediaError = '';
    const want = {
      video: cameraId ? { deviceId: { exact: cameraId } } : { width: 640, height: 360 },
      audio: micId ? { deviceId: { exact: micId } } : true,
    };
    let s = null;
    try {
      s = await navigator.mediaDevices.getUserMedia(want);
    } catch (e) {
      this.mediaError = e.name === 'NotAllowedError'
        ? 'Camera and microphone are blocked for this page: the others cannot see or hear you, but you see and hear them. Allow them in the address bar and press "Retry devices".'
        : `Camera and microphone unavailable (${e.name}: ${e.message}). You still see and hear the others.`;
      try { // perhaps only the camera is missing
        s = await navigator.mediaDevices.getUserMedia({ audio: want.audio });
      } catch (e2) { s = null; }
    }
    const old = this.stream;
    this.stream = s;
    this.local.camera = s ? s.getVideoTracks()[0] || null : null;
    this.local.mic = s ? s.getAudioTracks()[0] || null : null;
    if (this.local.mic) this.local.mic.enabled = !this.muted;
    if (this.cameraOff && this.local.camera) { this.local.camera.stop(); this.local.camera = null; }
    await this.attachLocal();
    if (old) old.getTracks().forEach((t) => { if (t !== this.local.camera && t !== this.local.mic) t.stop(); });
    this.onChange();
  }

  connect() {
    if (this.closed) return;
    this.state = 'connecting';
    this.onChange();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}${room(P + '/rooms/{room}/media/browser', this.roomRef)}`);
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.ws = ws;
    this.pc = pc;
    this.remote = {};
    this.tracks = {};
    pc.onicecandidate = (e) => this.send({ type: 'cand', cand: e.candidate ? e.candidate.toJSON() : { candidate: '' } });
    pc.ontrack = (e) => {
      const mid = e.transceiver.mid;
      this.remote[mid] = e.track;
      e.track.onunmute = () => this.onChange();
      this.onChange();
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      console.info(`f2f: media connection ${pc.connectionState}`);
      if (pc.connectionState === 'connected') this.state = 'connected';
      if (pc.connectionState === 'failed') ws.close();
      this.onChange();
    };
    ws.onmessage = (e) => this.onSignal(JSON.parse(e.data)).catch((err) => {
      console.warn('f2f: media negotiation failed', err);
      this.reason = `media negotiation failed: ${err.message}`;
      ws.close();
    });
    ws.onclose = (e) => {
      console.info(`f2f: media session closed (${e.code} ${e.reason || ''})`);
      if (ws !== this.ws) return;
      pc.close();
      this.remote = {};
      this.tracks = {};
      if (this.closed) {
        this.state = 'closed';
      } else {
        // The daemon stopped or restarts: try again.
        this.state = 'down';
        this.retry = setTimeout(() => this.connect(), 2000);
      }
      this.onChange();
    };
  }

  send(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  async onSignal(m) {
    const pc = this.pc;
    if (m.type === 'closed') {
      // Taken over by another tab (or the room was left): this tab lets
      // go of the camera and microphone until it takes the call back.
      this.closed = true;
      this.reason = m.reason || 'the call ended';
      this.ws.close();
      for (const r of ROLES) if (this.local[r]) this.local[r].stop();
      this.local = { camera: null, mic: null, screen: null };
      this.stream = null;
      return;
    }
    if (m.type !== 'offer') return;
    this.tracks = m.tracks || {};
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    for (const t of pc.getTransceivers()) {
      const tr = this.tracks[t.mid];
      if (tr && tr.send) {
        t.direction = 'sendonly';
        const want = this.local[tr.kind] || null;
        if (t.sender.track !== want) await t.sender.replaceTrack(want);
      }
    }
    const ans = await pc.createAnswer();
    await pc.setLocalDescription(ans);
    this.send({ type: 'answer', sdp: pc.localDescription.sdp });
    this.sendSending();
    this.onChange();
  }

  // attachLocal puts the page's current tracks on their transceivers.
  async attachLocal() {
    if (!this.pc) return;
    for (const t of this.pc.getTransceivers()) {
      const tr = this.tracks[t.mid];
      if (tr && tr.send && t.sender.track !== (this.local[tr.kind] || null)) {
        await t.sender.replaceTrack(this.local[tr.kind] || null);
      }
    }
    this.sendSending();
  }

  sendSending() {
    const sending = {};
    for (const r of ROLES) sending[r] = !!(this.local[r] && this.local[r].readyState === 'live');
    this.send({ type: 'sending', sending });
  }

  setMuted(m) {
    this.muted = m;
    if (this.local.mic) this.local.mic.enabled = !m;
    this.onChange();
  }

  async setCameraOff(off) {
    this.cameraOff = off;
    if (off) {
      if (this.local.camera) this.local.camera.stop();
      this.local.camera = null;
      await this.attachLocal();
      this.onChange();
      return;
    }
    await this.openDevices({ cameraId: this.cameraId, micId: this.micId });
  }

  async chooseDevices(cameraId, micId) {
    this.cameraId = cameraId;
    this.micId = micId;
    await this.openDevices({ cameraId, micId });
  }

  async shareScreen() {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const t = s.getVideoTracks()[0];
    this.local.screen = t;
    t.onended = () => this.stopScreen(); // the browser's own "stop sharing"
    await this.attachLocal();
    this.onChange();
  }

  async stopScreen() {
    if (this.local.screen) this.local.screen.stop();
    this.local.screen = null;
    await this.attachLocal();
    this.onChange();
  }

  stop() {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.timer);
    if (this.ws) this.ws.close();
    if (this.pc) this.pc.close();
    for (const r of ROLES) if (this.local[r]) this.local[r].stop();
    this.local = { camera: null, mic: null, screen: null };
    this.stream = null;
    this.state = 'closed';
    this.onChange();
  }

  // tiles groups the other members' live tracks by origin: {origin,
  // video, audio, screen, and from the mixer mix (mixed audio) and grid
  // (composed video)}.
  tiles() {
    const by = {};
    for (const [mid, t] of Object.entries(this.tracks)) {
      const track = this.remote[mid];
      if (t.send || !track || track.readyState !== 'live') continue;
      const tile = by[t.origin] || (by[t.origin] = { origin: t.origin, mids: {} });
      const k = t.kind === 'video' ? 'video' : t.kind === 'screen' ? 'screen' : t.kind === 'grid' ? 'grid' : 'audio';
      if (t.kind === 'mix') tile.mix = track; else tile[k] = track;
      tile.mids[k] = mid;
    }
    return Object.values(by).sort((a, b) => a.origin.localeCompare(b.origin));
  }

  // level of a remote audio track: the peak of its last 680 ms (the poll
  // runs every 500 ms, so no sound is missed), 0..1.
  levelOf(mid, track) {
    if (!this.audioCtx) return 0;
    let a = this.analysers[mid];
    if (!a || a.track !== track) {
      const src = this.audioCtx.createMediaStreamSource(new MediaStream([track]));
      const an = this.audioCtx.createAnalyser();
      an.fftSize = 32768;
      src.connect(an);
      a = this.analysers[mid] = { an, track, buf: new Float32Array(an.fftSize) };
    }
    a.an.getFloatTimeDomainData(a.buf);
    let peak = 0;
    for (const v of a.buf) peak = Math.max(peak, Math.abs(v));
    return peak;
  }

  // poll samples levels and frame progress twice a second.
  async poll() {
    if (!this.pc || this.state !== 'connected') return;
    const levels = {};
    for (const tile of this.tiles()) {
      if (tile.audio) levels[tile.origin] = this.levelOf(tile.mids.audio, tile.audio);
    }
    const now = performance.now();
    try {
      const st = await this.pc.getStats();
      st.forEach((r) => {
        if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
        const f = this.frames[r.mid] || { n: -1, at: now };
        if (r.framesDecoded !== f.n) { f.n = r.framesDecoded; f.at = now; }
        this.frames[r.mid] = f;
        this.stalled[r.mid] = now - f.at > 2000;
      });
    } catch (e) { /* closed meanwhile */ }
    this.levels = levels;
    this.onChange();
  }
}
