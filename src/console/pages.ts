import type { HistoryRecord } from '../state/state-store.js';

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}
header a{color:#cfe0ff;text-decoration:none}header strong a{color:#fff}
main{padding:1rem;max-width:1100px;margin:auto}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e7;border-radius:6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eef0f3;white-space:nowrap;vertical-align:top}
th{font-size:.8rem;color:#5b6472;text-transform:uppercase;letter-spacing:.03em}td.num{text-align:right;font-variant-numeric:tabular-nums}
.succeeded{color:#137333}.failed{color:#b3261e}.skipped{color:#8a6d00}.active{color:#0b57d0}
.muted{color:#6b7380;font-size:.85rem}pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.6rem;margin:.3rem 0}
form.inline{display:flex;gap:.5rem;flex-wrap:wrap;align-items:flex-start}textarea{font:13px monospace;width:min(100%,28rem);height:3.5rem}
button{font:inherit;padding:.35rem .9rem;border-radius:6px;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer}button.danger{background:#fff;color:#b3261e;border-color:#b3261e}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.6rem .8rem;flex:1 1 14rem}
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #dde1e7;border-radius:6px}.err td{white-space:normal;color:#b3261e}
.banner{background:#e8f0fe;border:1px solid #b6cdfb;padding:.5rem .8rem;border-radius:6px;margin-bottom:1rem}
`;

export function layout(title: string, body: string, options: { queues: boolean }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · restq</title><style>${STYLE}</style></head><body>
<header><strong><a href="/">restq</a></strong><a href="/">jobs</a>${options.queues ? '<a href="/queues">queues</a>' : ''}<a href="/metrics">metrics</a><a href="/healthz">health</a></header>
<main>${body}</main></body></html>`;
}

/** "2026-11-29T01:45:00.000Z" → "2026-11-29 01:45:00 UTC". */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '-';
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

const number = new Intl.NumberFormat('en-US');
export const count = (n: number | null | undefined) => (n === null || n === undefined ? '-' : number.format(n));

/**
 * Rows (bars) and duration (dots joined by a line) of each run, oldest on the left: one bar and
 * one dot per run, each with a tooltip. Server-rendered SVG: no script, no build step.
 */
export function runChart(runs: readonly HistoryRecord[]): string {
  const ordered = [...runs].reverse();
  const width = 720;
  const height = 220;
  const pad = { left: 48, right: 48, top: 16, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  if (ordered.length === 0) return '<p class="muted">No runs yet.</p>';
  const maxRows = Math.max(1, ...ordered.map((r) => r.rows));
  const maxMs = Math.max(1, ...ordered.map((r) => r.durationMs));
  const step = plotW / ordered.length;
  const barW = Math.max(2, Math.min(36, step * 0.7));
  const x = (i: number) => pad.left + step * i + step / 2;
  const yRows = (rows: number) => pad.top + plotH - (rows / maxRows) * plotH;
  const yMs = (ms: number) => pad.top + plotH - (ms / maxMs) * plotH;
  const bars = ordered
    .map((r, i) => {
      const y = yRows(r.rows);
      const h = Math.max(r.rows > 0 ? 1 : 0, pad.top + plotH - y);
      return `<rect class="bar ${esc(r.status)}" data-run-id="${esc(r.runId)}" x="${(x(i) - barW / 2).toFixed(1)}" y="${(pad.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${r.status === 'failed' ? '#f3b8b3' : r.status === 'skipped' ? '#f1e2a6' : '#9cc0f9'}"><title>${esc(`${r.runId}: ${count(r.rows)} rows, ${duration(r.durationMs)}, ${r.status}`)}</title></rect>`;
    })
    .join('');
  const points = ordered.map((r, i) => `${x(i).toFixed(1)},${yMs(r.durationMs).toFixed(1)}`).join(' ');
  const dots = ordered
    .map((r, i) => `<circle class="dot" data-run-id="${esc(r.runId)}" cx="${x(i).toFixed(1)}" cy="${yMs(r.durationMs).toFixed(1)}" r="3.5" fill="#e37400"><title>${esc(`${r.runId}: ${duration(r.durationMs)}`)}</title></circle>`)
    .join('');
  const axis = `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${width - pad.right}" y2="${pad.top + plotH}" stroke="#c5cad3"/>
<text x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end" font-size="11" fill="#1a5fd0">${esc(count(maxRows))}</text>
<text x="${pad.left - 6}" y="${pad.top + plotH}" text-anchor="end" font-size="11" fill="#1a5fd0">0</text>
<text x="${width - pad.right + 6}" y="${pad.top + 10}" font-size="11" fill="#e37400">${esc(duration(maxMs))}</text>
<text x="${pad.left}" y="${height - 8}" font-size="11" fill="#6b7380">oldest</text><text x="${width - pad.right}" y="${height - 8}" text-anchor="end" font-size="11" fill="#6b7380">newest</text>
<text x="${width / 2}" y="${height - 8}" text-anchor="middle" font-size="11"><tspan fill="#1a5fd0">■ rows</tspan>  <tspan fill="#e37400">● duration</tspan></text>`;
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="rows and duration of the last ${ordered.length} runs">${axis}${bars}<polyline points="${points}" fill="none" stroke="#e37400" stroke-width="1.5"/>${dots}</svg>`;
}
