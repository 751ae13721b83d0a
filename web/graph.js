// The room's topology graph (GET /api/v1/topo?room=), drawn as SVG: the
// members on a circle, the mixer in the middle of a star; connections,
// gossip links and media edges as lines.

import { html } from './vendor/htm-preact-standalone.module.js';
import { short } from './api.js';

const COLORS = { connection: '#b8c0cc', gossip: '#7aa6d8', media: '#e06c3c' };

export function Graph({ graph, mixerInfo }) {
  if (!graph) return html`<p class="muted">No topology yet.</p>`;
  const W = 360, H = 320, cx = W / 2, cy = H / 2 - 10, R = 120;
  const nodes = graph.nodes || [];
  const star = graph.topology === 'star';
  const pos = {};
  const ring = nodes.filter((n) => !(star && n.mixer));
  ring.forEach((n, i) => {
    const a = (2 * Math.PI * i) / Math.max(ring.length, 1) - Math.PI / 2;
    pos[n.id] = [cx + R * Math.cos(a), cy + R * Math.sin(a)];
  });
  nodes.filter((n) => star && n.mixer).forEach((n) => { pos[n.id] = [cx, cy]; });
  // One line per pair and kind (both ends report it).
  const seen = new Set();
  const edges = [];
  for (const e of graph.edges || []) {
    const k = [e.from, e.to].sort().join('|') + e.kind;
    if (seen.has(k) || !pos[e.from] || !pos[e.to]) continue;
    seen.add(k);
    edges.push(e);
  }
  const order = { connection: 0, gossip: 1, media: 2 };
  edges.sort((a, b) => order[a.kind] - order[b.kind]);
  const term = mixerInfo ? mixerInfo.term : graph.term;
  return html`<div class="graph" data-testid="graph" data-mixer=${(nodes.find((n) => n.mixer) || {}).id || ''} data-topology=${graph.topology}>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label="room topology">
      ${edges.map((e) => {
        const [x1, y1] = pos[e.from];
        const [x2, y2] = pos[e.to];
        return html`<line x1=${x1} y1=${y1} x2=${x2} y2=${y2} stroke=${COLORS[e.kind] || '#999'}
          stroke-width=${e.kind === 'media' ? 3 : 1.5} stroke-dasharray=${e.kind === 'gossip' ? '4 3' : ''}><title>${e.kind} ${short(e.from)} → ${short(e.to)}${e.rtt_ms ? ` ${e.rtt_ms.toFixed(1)} ms` : ''}</title></line>`;
      })}
      ${nodes.map((n) => {
        const [x, y] = pos[n.id];
        return html`<g data-node=${n.id}>
          <circle cx=${x} cy=${y} r=${n.mixer ? 16 : 11} fill=${n.mixer ? '#e06c3c' : '#2f6fb3'} stroke="#fff" stroke-width="2" />
          <text x=${x} y=${y + (n.mixer ? 30 : 25)} text-anchor="middle">${n.nick || short(n.id)}</text>
        </g>`;
      })}
    </svg>
    <p class="legend"><span style="color:${COLORS.media}">━ media</span> <span style="color:${COLORS.gossip}">┅ gossip</span>
      <span style="color:${COLORS.connection}">━ connection</span> · ${graph.topology}, term ${term}</p>
    ${mixerInfo && mixerInfo.history && mixerInfo.history.length > 0 && html`<ol class="history">
      ${mixerInfo.history.slice(-5).reverse().map((h) => html`<li>${new Date(h.time).toLocaleTimeString()} term ${h.term}: ${h.nick || short(h.mixer) || 'none'} ${h.reason ? '(' + h.reason + ')' : ''}</li>`)}
    </ol>`}
  </div>`;
}
