// The room's stage: shared files as tabs every member sees, with the one
// showing (GET/POST /api/v1/rooms/{room}/stage). Images, PDFs, videos
// and text are shown through the daemon's gateway.

import { html, useState, useEffect } from './vendor/htm-preact-standalone.module.js';
import { P, call, room, gatewayURL, humanSize, short } from './api.js';

// Larger files are offered for download instead of being shown.
const MAX_SHOW = 200e6;
const MAX_TEXT = 2e6;

function TextView({ url }) {
  const [text, setText] = useState('…');
  useEffect(() => {
    let live = true;
    fetch(url, { credentials: 'same-origin' }).then((r) => r.text()).then((t) => { if (live) setText(t); })
      .catch((e) => { if (live) setText(`could not load: ${e.message}`); });
    return () => { live = false; };
  }, [url]);
  return html`<pre class="textview" data-testid="stage-text">${text}</pre>`;
}

function Content({ file }) {
  const cid = file.cid['/'];
  const url = gatewayURL(cid, file.name);
  const mime = file.mime || '';
  const name = file.name.toLowerCase();
  if (file.size > MAX_SHOW) {
    return html`<div class="toolarge" data-testid="stage-too-large">${file.name} is ${humanSize(file.size)}, too large to show here:
      <a href=${url} download=${file.name}>download it</a>.</div>`;
  }
  if (mime.startsWith('image/')) return html`<img src=${url} alt=${file.name} data-testid="stage-image" />`;
  if (mime.startsWith('video/') || mime.startsWith('audio/')) return html`<video src=${url} controls data-testid="stage-video"></video>`;
  if (mime === 'application/pdf') return html`<iframe src=${url} title=${file.name} data-testid="stage-pdf"></iframe>`;
  if ((mime.startsWith('text/') || /\.(md|markdown|txt)$/.test(name)) && file.size <= MAX_TEXT) return html`<${TextView} url=${url} />`;
  return html`<div class="toolarge">${file.name} (${mime || 'unknown type'}) cannot be shown here: <a href=${url} download=${file.name}>download it</a>.</div>`;
}

export function Stage({ roomRef, stage, onChanged }) {
  const [err, setErr] = useState('');
  if (!stage || stage.tabs.length === 0) return null;
  const act = async (op, cid) => {
    setErr('');
    try { onChanged(await call('POST', room(`${P}/rooms/{room}/stage`, roomRef), { op, cid })); } catch (e) { setErr(e.message); }
  };
  const showing = stage.tabs.find((t) => t.file.cid['/'] === stage.showing);
  return html`<section class="stage" data-testid="stage" data-showing=${stage.showing || ''}>
    <nav class="stagetabs">${stage.tabs.map((t) => {
      const cid = t.file.cid['/'];
      return html`<span key=${cid} class=${'stagetab' + (cid === stage.showing ? ' active' : '')} data-cid=${cid}>
        <button class="ghost small" onClick=${() => act('show', cid)} title=${'put on the stage by ' + (t.nick || short(t.by))}>${t.file.name}</button>
        <button class="ghost small x" onClick=${() => act('close', cid)} title="close this tab for everyone">×</button>
      </span>`;
    })}</nav>
    ${err && html`<div class="banner err">${err}</div>`}
    <div class="stagebody">${showing ? html`<${Content} key=${stage.showing} file=${showing.file} />` : html`<p class="muted">No tab is showing.</p>`}</div>
  </section>`;
}
