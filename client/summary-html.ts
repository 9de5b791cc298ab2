// The Run Summary webview's page, without VS Code: a run's aggregate (xdpLens/runStats) drawn as inline SVG by this
// file alone, so it needs no library, no network and nothing but what its Content-Security-Policy allows (a nonce for
// its one style and one script element, nothing else). Colours come from the theme's CSS variables. Every chart is
// built from bounded data (at most 120 time buckets, the first exit lines), so a million-packet run draws as fast as
// a ten-packet one. Rows and bars that stand for packets can be clicked: the packets view is filtered to them.
import type { RunStats, RunSummary, XdpAction } from '../server/protocol.ts';
import { codeOfLine, count, plural, refusalBanner, refusalDetails, staleChanged } from './format.ts';

export interface SummaryPage {
  summary: RunSummary;
  stats: RunStats;
  /** Stale: what changed since the run (client/state.ts staleWhat), or true when that is not known. */
  stale: boolean | string;
  nonce: string;
  /** The webview's `cspSource` (nothing is loaded from it; it is named so the policy reads as VS Code's own). */
  cspSource: string;
  /** A source line's text, for the exit-line labels. */
  lineText?: (file: string, line: number) => string | undefined;
}

/** Exit lines drawn; the rest are counted in one line below the table. */
export const MAX_EXIT_ROWS = 25;
const MAX_FAULT_ROWS = 25;

/** The colour of each action (a theme chart colour, with a fallback for themes without it). */
export const ACTION_COLOURS: Record<XdpAction, string> = {
  XDP_PASS: 'var(--vscode-charts-green, #388a34)',
  XDP_DROP: 'var(--vscode-charts-red, #e51400)',
  XDP_ABORTED: 'var(--vscode-charts-orange, #d18616)',
  XDP_TX: 'var(--vscode-charts-blue, #1a85ff)',
  XDP_REDIRECT: 'var(--vscode-charts-purple, #652d90)',
};
/** Faults: the error colour; verdicts not carried out: the warning colour (neither is an action's). */
const FAULT_COLOUR = 'var(--vscode-editorError-foreground, #e51400)';
const WARN_COLOUR = 'var(--vscode-editorWarning-foreground, #bf8803)';
/** The action whose colour an outcome takes, by its first word. */
const OUTCOME_ACTION: Record<string, XdpAction> = { passed: 'XDP_PASS', dropped: 'XDP_DROP', aborted: 'XDP_ABORTED', transmitted: 'XDP_TX', redirected: 'XDP_REDIRECT' };
const PLAIN: Record<XdpAction, string> = { XDP_PASS: 'passed', XDP_DROP: 'dropped', XDP_ABORTED: 'aborted', XDP_TX: 'transmitted', XDP_REDIRECT: 'redirected' };

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Axis labels: 950, 1.2k, 3.4M. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return String(+n.toFixed(2));
}

export function share(n: number, total: number): string {
  if (!total || !n) return '0%';
  const p = (n / total) * 100;
  if (p < 0.1) return '<0.1%';
  if (p >= 99.95 && n < total) return '>99.9%';
  // One decimal, none when it is 0: 37.5% and 12.5% beside 50% (whole numbers made them 38% + 13% + 50% = 101%).
  const t = p.toFixed(1);
  return `${t.endsWith('.0') ? t.slice(0, -2) : t}%`;
}

/** A duration in ns as a person reads it: 750 ns, 12 µs, 1.5 ms, 2.25 s, 3 min 20 s. */
export function duration(ns: number): string {
  const fix = (v: number) => String(+v.toPrecision(3));
  if (ns < 1e3) return `${fix(ns)} ns`;
  if (ns < 1e6) return `${fix(ns / 1e3)} µs`;
  if (ns < 1e9) return `${fix(ns / 1e6)} ms`;
  if (ns < 120e9) return `${fix(ns / 1e9)} s`;
  if (ns < 7200e9) return `${fix(ns / 60e9)} min`;
  return `${fix(ns / 3600e9)} h`;
}

/** Round steps (1, 2, 5 × 10^k) from 0 to at least `max`, about `want` of them. */
export function niceTicks(max: number, want = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / want;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** Round time steps for the x axis (ns): 1, 2, 5 × 10^k ns, and minutes and hours past a minute. */
function timeTicks(spanNs: number, want = 6): number[] {
  const raw = spanNs / want;
  let step: number;
  if (raw >= 60e9) step = [60e9, 120e9, 300e9, 600e9, 1800e9, 3600e9, 7200e9, 21600e9, 86400e9].find((s) => s >= raw) ?? 86400e9;
  else {
    const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
    step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  }
  const out: number[] = [];
  for (let v = 0; v <= spanNs; v += step) out.push(v);
  return out;
}

const msg = (m: Record<string, unknown>) => esc(JSON.stringify(m));
const actionClass = (a: XdpAction) => `a-${a}`;

/** One horizontal bar (segments of one row) in a 100-wide box; a segment that holds packets is never invisible. */
function bar(segments: { n: number; cls: string }[], max: number): string {
  let x = 0;
  const rects: string[] = [];
  for (const s of segments) {
    if (!s.n || !max) continue;
    const w = Math.max(0.6, (s.n / max) * 100);
    rects.push(`<rect class="${s.cls}" x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="10" data-n="${s.n}"/>`);
    x += w;
  }
  return `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">${rects.join('')}</svg>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Timeline

const TL = { w: 800, h: 190, left: 52, right: 10, top: 10, bottom: 24, strip: 9 };

function timeline(stats: RunStats): string {
  const t = stats.timeline;
  const n = t.counts.length;
  if (!n) return '<p class="empty">No packets.</p>';
  const faults = t.faults.reduce((a, b) => a + b, 0);
  const notCarried = t.notCarriedOut.reduce((a, b) => a + b, 0);
  const strips = (faults ? 1 : 0) + (notCarried ? 1 : 0);
  const height = TL.h + strips * (TL.strip + 4);
  const left = strips ? 64 : TL.left;
  const pw = TL.w - left - TL.right;
  const ph = TL.h - TL.top - TL.bottom;
  // At least 24 bucket widths across, so a capture of a few buckets draws columns, not a wall.
  const slots = Math.max(n, 24);
  const cw = pw / slots;
  const gap = cw > 4 ? 1 : 0;
  const max = Math.max(...t.counts.map((c) => c.reduce((a, b) => a + b, 0)));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => TL.top + ph - (v / top) * ph;
  const parts: string[] = [];
  for (const v of ticks) {
    parts.push(`<line class="grid" x1="${left}" x2="${TL.w - TL.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${compact(v)}</text>`);
  }
  const spanNs = slots * t.bucketNs;
  for (const v of timeTicks(Math.min(spanNs, Math.max(t.spanNs, t.bucketNs * n)), 8)) {
    const x = left + (v / t.bucketNs) * cw;
    if (x > TL.w - TL.right - 8) break;
    parts.push(`<line class="axis" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${TL.top + ph}" y2="${TL.top + ph + 4}"/>`);
    parts.push(`<text class="tick" x="${x.toFixed(1)}" y="${TL.top + ph + 16}" text-anchor="${v === 0 ? 'start' : 'middle'}">${v === 0 ? '0' : esc(duration(v))}</text>`);
  }
  parts.push(`<line class="axis" x1="${left}" x2="${TL.w - TL.right}" y1="${TL.top + ph}" y2="${TL.top + ph}"/>`);
  for (let i = 0; i < n; i++) {
    const c = t.counts[i]!;
    const sum = c.reduce((a, b) => a + b, 0);
    const x = left + i * cw;
    const from = duration(i * t.bucketNs).replace(/^0 ns$/, '0');
    const what = stats.actions.map((a, k) => (c[k] ? `${count(c[k]!)} ${a}` : '')).filter(Boolean).join(', ');
    const extra = [t.faults[i] ? plural(t.faults[i]!, 'fault') : '', t.notCarriedOut[i] ? `${count(t.notCarriedOut[i]!)} not carried out as returned` : ''].filter(Boolean).join(', ');
    const to = i === n - 1 && n > 1 ? `${duration(t.spanNs)} (the last packet; this column covers less time)` : duration((i + 1) * t.bucketNs);
    const title = `${from} to ${to}: ${sum ? `${plural(sum, 'packet')} (${what})` : 'no packets'}${extra ? `; ${extra}` : ''}`;
    const rects: string[] = [];
    let acc = 0;
    stats.actions.forEach((a, k) => {
      const v = c[k]!;
      if (!v) return;
      const y0 = y(acc);
      acc += v;
      const y1 = y(acc);
      rects.push(`<rect class="${actionClass(a)}" x="${(x + gap / 2).toFixed(2)}" y="${y1.toFixed(2)}" width="${Math.max(0.5, cw - gap).toFixed(2)}" height="${Math.max(0.8, y0 - y1).toFixed(2)}" data-action="${a}" data-n="${v}"/>`);
    });
    let sy = TL.h;
    const strip = (v: number, cls: string) => {
      if (v) rects.push(`<rect class="${cls}" x="${(x + gap / 2).toFixed(2)}" y="${sy}" width="${Math.max(0.8, cw - gap).toFixed(2)}" height="${TL.strip}" data-n="${v}"/>`);
      sy += TL.strip + 4;
    };
    if (faults) strip(t.faults[i]!, 'fault');
    if (notCarried) strip(t.notCarriedOut[i]!, 'notcarried');
    parts.push(`<g class="bucket" data-bucket="${i}"><title>${esc(title)}</title><rect class="hit" x="${x.toFixed(2)}" y="${TL.top}" width="${cw.toFixed(2)}" height="${height - TL.top}"/>${rects.join('')}</g>`);
  }
  let ly = TL.h;
  if (faults) {
    parts.push(`<text class="tick" x="${left - 6}" y="${ly + TL.strip}" text-anchor="end">faults</text>`);
    ly += TL.strip + 4;
  }
  if (notCarried) parts.push(`<text class="tick" x="${left - 6}" y="${ly + TL.strip}" text-anchor="end">⚠</text>`);
  const svg = `<svg id="timeline-chart" class="chart" viewBox="0 0 ${TL.w} ${height}" data-left="${left}" role="img" aria-label="Packets per ${esc(duration(t.bucketNs))} over the capture, by action">${parts.join('')}</svg>`;
  const legend = stats.actions
    .map((a, k) => ({ a, n: t.counts.reduce((s, c) => s + c[k]!, 0) }))
    .filter((e) => e.n)
    .map((e) => `<span class="key"><svg class="swatch" viewBox="0 0 10 10"><rect class="${actionClass(e.a)}" width="10" height="10"/></svg>${e.a}</span>`);
  if (faults) legend.push(`<span class="key"><svg class="swatch" viewBox="0 0 10 10"><rect class="fault" width="10" height="10"/></svg>faults: packets that faulted</span>`);
  if (notCarried) legend.push(`<span class="key"><svg class="swatch" viewBox="0 0 10 10"><rect class="notcarried" width="10" height="10"/></svg>⚠: verdicts the driver did not carry out as returned</span>`);
  const earlier = t.earlier ? ` ${plural(t.earlier, 'packet is', 'packets are')} stamped before the first one and counted at 0.` : '';
  const note = n === 1 && t.spanNs < t.bucketNs
    ? `All packets arrived within ${esc(duration(Math.max(t.spanNs, 1)))} of each other: one column.`
    : `Packets per ${esc(duration(t.bucketNs))}, over the ${esc(duration(t.spanNs))} from the first packet to the last. Hover a column for its counts.`;
  return `<p class="note">${note}${esc(earlier)}</p>${svg}<div class="legend">${legend.join('')}</div>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables

const base = (file: string) => file.split('/').pop() || file;

function exitsTable(p: SummaryPage): string {
  const { stats } = p;
  const exits = stats.exits;
  if (!exits.length) return '<p class="empty">No packets.</p>';
  const shown = exits.slice(0, MAX_EXIT_ROWS);
  const max = shown[0]!.count;
  const rows = shown.map((e) => {
    const where = e.line ? `${base(e.file)}:${e.line}` : 'unknown line';
    const text = e.line ? p.lineText?.(e.file, e.line) : undefined;
    const code = text === undefined ? undefined : codeOfLine(text);
    const notPlain = Object.entries(e.outcomes).filter(([o]) => o !== PLAIN[e.action]);
    const outcomes = notPlain.length
      ? notPlain.map(([o, n]) => `<span class="warn">${n === e.count ? 'all' : count(n)} ${esc(o)}</span>`).join(', ')
      : '';
    const filter = `${e.line ? `exit.line == ${e.line} && ` : ''}action == ${e.action}`;
    const m = msg({ type: 'exit', file: e.file, line: e.line, filter });
    return `<tr class="click" tabindex="0" data-msg="${m}" data-action="${e.action}" data-line="${e.line}" data-n="${e.count}" title="${esc(`${e.file}:${e.line}: show the line and filter the packets view to ${filter}`)}">` +
      `<td class="where"><span class="loc">${esc(where)}</span>${code ? ` <code>${esc(code.length > 48 ? `${code.slice(0, 47)}…` : code)}</code>` : ''}${outcomes ? `<div class="outcome">${outcomes}</div>` : ''}</td>` +
      `<td class="act"><span class="dot ${actionClass(e.action)}"></span>${e.action}</td>` +
      `<td class="barcell">${bar([{ n: e.count, cls: actionClass(e.action) }], max)}</td>` +
      `<td class="num">${count(e.count)}</td><td class="num pct">${share(e.count, stats.packets)}</td></tr>`;
  });
  const rest = exits.slice(MAX_EXIT_ROWS);
  const more = rest.length
    ? `<p class="note">${plural(rest.length, 'more exit line')} with ${plural(rest.reduce((a, e) => a + e.count, 0), 'packet')}, fewer each than those above.</p>`
    : '';
  const other = stats.other?.exits ? `<p class="note">${plural(stats.other.exits, 'packet')} left through further lines not listed here.</p>` : '';
  return `<table class="rows" id="exits-table"><thead><tr><th>Exit line</th><th class="act">Action</th><th class="barcell"></th><th class="num">Packets</th><th class="num pct">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}${other}`;
}

function outcomesTable(stats: RunStats): string {
  const entries = Object.entries(stats.outcomes);
  if (!entries.length) return '<p class="empty">No packets.</p>';
  const max = Math.max(...entries.map(([, n]) => n));
  const rows = entries.map(([o, n]) => {
    const word = o.split(':')[0]!;
    const a = OUTCOME_ACTION[word];
    const cls = a ? actionClass(a) : 'fault';
    const filter = `outcome == "${o.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return `<tr class="click" tabindex="0" data-msg="${msg({ type: 'filter', filter })}" data-outcome="${esc(o)}" data-n="${n}" title="${esc(`filter the packets view to ${filter}`)}">` +
      `<td class="where">${o.includes(':') ? `<span class="warn">${esc(o)}</span>` : esc(o)}</td>` +
      `<td class="barcell">${bar([{ n, cls }], max)}</td><td class="num">${count(n)}</td><td class="num pct">${share(n, stats.packets)}</td></tr>`;
  });
  return `<table class="rows" id="outcomes-table"><thead><tr><th>Outcome</th><th class="barcell"></th><th class="num">Packets</th><th class="num pct">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function queuesTable(p: SummaryPage): string {
  const { stats } = p;
  if (!stats.queues.length) return '<p class="empty">No packets.</p>';
  const totals = stats.queues.map((q) => q.counts.reduce((a, b) => a + b, 0));
  const max = Math.max(...totals);
  const rows = stats.queues.map((q, i) => {
    const detail = stats.actions.map((a, k) => (q.counts[k] ? `${count(q.counts[k]!)} ${a}` : '')).filter(Boolean).join(', ');
    const filter = `queue == ${q.queue}`;
    return `<tr class="click" tabindex="0" data-msg="${msg({ type: 'filter', filter })}" data-queue="${q.queue}" data-n="${totals[i]}" title="${esc(`${detail}; filter the packets view to ${filter}`)}">` +
      `<td class="where">queue ${q.queue}<div class="detail">${esc(detail)}</div></td>` +
      `<td class="barcell">${bar(stats.actions.map((a, k) => ({ n: q.counts[k]!, cls: actionClass(a) })), max)}</td>` +
      `<td class="num">${count(totals[i]!)}</td><td class="num pct">${share(totals[i]!, stats.packets)}</td></tr>`;
  });
  const queues = p.summary.driver.queues;
  const note = queues === 1
    ? '<p class="note">One RX queue: set <code>xdpLens.driver.queues</code> to spread flows over several by RSS, as the NIC does.</p>'
    : `<p class="note">${queues} RX queues, flows spread by RSS (Toeplitz hash); queues that received nothing are not listed.</p>`;
  return `${note}<table class="rows" id="queues-table"><thead><tr><th>RX queue</th><th class="barcell"></th><th class="num">Packets</th><th class="num pct">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function faultsTable(p: SummaryPage): string {
  const { stats } = p;
  if (!stats.faults.length) return '<p class="empty ok">No packet faulted.</p>';
  const max = stats.faults[0]!.count;
  const rows = stats.faults.slice(0, MAX_FAULT_ROWS).map((f) => {
    const filter = `fault${f.line ? ` && exit.line == ${f.line}` : ''}`;
    return `<tr class="click" tabindex="0" data-msg="${msg({ type: 'exit', file: f.file, line: f.line, filter })}" data-kind="${esc(f.kind)}" data-n="${f.count}" title="${esc(`show the line and filter the packets view to ${filter}`)}">` +
      `<td class="where"><span class="loc">${esc(f.line ? `${base(f.file)}:${f.line}` : 'unknown line')}</span><div class="detail">${esc(f.message)}</div></td><td class="act">${esc(f.kind)}</td>` +
      `<td class="barcell">${bar([{ n: f.count, cls: 'fault' }], max)}</td><td class="num">${count(f.count)}</td><td class="num pct">${share(f.count, stats.packets)}</td></tr>`;
  });
  const rest = stats.faults.length - MAX_FAULT_ROWS;
  return `<table class="rows" id="faults-table"><thead><tr><th>Line (first message)</th><th class="act">Kind</th><th class="barcell"></th><th class="num">Packets</th><th class="num pct">Share</th></tr></thead><tbody>${rows.join('')}</tbody></table>${rest > 0 ? `<p class="note">${plural(rest, 'more fault place')}.</p>` : ''}`;
}

function tiles(p: SummaryPage): string {
  const { stats } = p;
  const total = stats.actions.map((_, k) => stats.timeline.counts.reduce((s, c) => s + c[k]!, 0));
  const out = stats.actions
    .map((a, k) => ({ a, n: total[k]! }))
    .filter((e) => e.n)
    .sort((x, y) => y.n - x.n)
    .map((e) => `<div class="tile click" tabindex="0" data-msg="${msg({ type: 'filter', filter: `action == ${e.a}` })}" data-action="${e.a}" data-n="${e.n}" title="filter the packets view to action == ${e.a}">` +
      `<div class="big"><span class="dot ${actionClass(e.a)}"></span>${count(e.n)}</div><div class="label">${e.a} · ${share(e.n, stats.packets)}</div></div>`);
  const faulted = stats.faults.reduce((a, f) => a + f.count, 0) + (stats.other?.faults ?? 0);
  out.push(faulted
    ? `<div class="tile click bad" tabindex="0" data-msg="${msg({ type: 'filter', filter: 'fault' })}" data-n="${faulted}" title="filter the packets view to fault"><div class="big">${count(faulted)}</div><div class="label">faulted · ${share(faulted, stats.packets)}</div></div>`
    : '<div class="tile"><div class="big">0</div><div class="label">faults</div></div>');
  const notCarried = stats.timeline.notCarriedOut.reduce((a, b) => a + b, 0);
  if (notCarried) out.push(`<div class="tile warnTile" data-n="${notCarried}"><div class="big">${count(notCarried)}</div><div class="label">not carried out as returned</div></div>`);
  return `<div class="tiles">${out.join('')}</div>`;
}

// ---------------------------------------------------------------------------------------------------------------

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 20px 24px; max-width: 1100px; }
h1 { font-size: 1.4em; font-weight: 600; margin: 16px 0 2px; }
h2 { font-size: 1.1em; font-weight: 600; margin: 26px 0 6px; border-bottom: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, transparent)); padding-bottom: 4px; }
.sub, .note { color: var(--vscode-descriptionForeground); margin: 2px 0 6px; }
.banner { padding: 6px 10px; margin: 10px 0; border-left: 3px solid var(--vscode-editorWarning-foreground, #bf8803); background: var(--vscode-inputValidation-warningBackground, transparent); }
.banner.error { border-left-color: var(--vscode-editorError-foreground, #e51400); background: var(--vscode-inputValidation-errorBackground, transparent); }
.banner button { margin-left: 8px; }
.banner details { margin-top: 4px; } .banner summary { cursor: pointer; } .banner .why { white-space: pre-wrap; margin: 4px 0 0; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 3px 10px; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-hoverBackground); }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0 4px; }
.tile { border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884)); border-radius: 4px; padding: 8px 14px; min-width: 110px; }
.tile .big { font-size: 1.8em; font-weight: 600; line-height: 1.2; }
.tile .label { color: var(--vscode-descriptionForeground); }
.tile.bad .big { color: var(--vscode-editorError-foreground, #e51400); }
.tile.warnTile .big, .warn { color: var(--vscode-editorWarning-foreground, #bf8803); }
.dot { display: inline-block; width: 0.7em; height: 0.7em; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.chart { width: 100%; height: auto; display: block; }
.chart text { fill: var(--vscode-descriptionForeground); font-size: calc(11px * var(--k, 1)); font-family: var(--vscode-font-family); }
.chart .grid { stroke: var(--vscode-charts-lines, #8884); stroke-width: 0.5; }
.chart .axis { stroke: var(--vscode-charts-lines, #888); stroke-width: 1; }
.chart .hit { fill: transparent; }
.chart .bucket:hover .hit { fill: var(--vscode-list-hoverBackground, #8882); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 0 0; color: var(--vscode-descriptionForeground); }
.swatch { width: 10px; height: 10px; margin-right: 5px; vertical-align: -1px; }
table.rows { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.rows th.act, table.rows td.act { width: 9.5em; overflow: hidden; text-overflow: ellipsis; }
table.rows th.num { width: 6em; }
table.rows th.num + th.num { width: 4.5em; }
.detail { color: var(--vscode-descriptionForeground); font-size: 0.92em; }
table.rows th { text-align: left; font-weight: 600; color: var(--vscode-descriptionForeground); padding: 2px 8px 4px 0; }
table.rows td { padding: 3px 8px 3px 0; vertical-align: middle; white-space: nowrap; }
table.rows td.msg, table.rows td.outcome, table.rows td.where { white-space: normal; }
td.where { overflow: hidden; text-overflow: ellipsis; }
td.where code { overflow-wrap: break-word; }
div.outcome { margin-top: 1px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.pct { color: var(--vscode-descriptionForeground); }
.barcell { width: 30%; }
/* A group beside the source: the code under its line, a shorter bar (the counts and shares stay). */
@media (max-width: 900px) {
  td.where code { display: block; width: fit-content; margin-top: 1px; }
  .barcell { width: 20%; }
}
@media (max-width: 640px) {
  .barcell { width: 16%; }
  table.rows .pct, #exits-table .barcell, #faults-table .barcell { display: none; }
}
.bar { width: 100%; height: 12px; display: block; }
.loc { font-family: var(--vscode-editor-font-family); }
code { font-family: var(--vscode-editor-font-family); color: var(--vscode-textPreformat-foreground, inherit); }
.click { cursor: pointer; }
.nowrap { white-space: nowrap; }
tr.click:hover, .tile.click:hover { background: var(--vscode-list-hoverBackground); }
.click:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.empty { color: var(--vscode-descriptionForeground); font-style: italic; }
${(Object.keys(ACTION_COLOURS) as XdpAction[]).map((a) => `.${actionClass(a)} { fill: ${ACTION_COLOURS[a]}; background: ${ACTION_COLOURS[a]}; }`).join('\n')}
.fault { fill: ${FAULT_COLOUR}; background: ${FAULT_COLOUR}; }
.notcarried { fill: ${WARN_COLOUR}; }
`;

const SCRIPT = `
const vscode = acquireVsCodeApi();
// Chart text at the same size whatever the width the chart is drawn at (the SVG scales with the view).
function fit() {
  for (const svg of document.querySelectorAll('svg.chart')) {
    const w = svg.viewBox.baseVal.width;
    if (svg.clientWidth) svg.style.setProperty('--k', String(w / svg.clientWidth));
  }
}
new ResizeObserver(fit).observe(document.body);
fit();
function send(el) { vscode.postMessage(JSON.parse(el.getAttribute('data-msg'))); }
document.addEventListener('click', (e) => { const el = e.target.closest('[data-msg]'); if (el) send(el); });
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  const el = e.target.closest && e.target.closest('[data-msg]');
  if (el) { e.preventDefault(); send(el); }
});
`;

/** The whole page. */
export function renderSummaryHtml(p: SummaryPage): string {
  const s = p.summary;
  const file = base(s.file);
  const capture = base(s.capture);
  const span = p.stats.timeline.spanNs;
  const banners: string[] = [];
  if (p.stale) banners.push(`<div class="banner" id="stale">Stale: ${esc(staleChanged(p.stale))} changed since this run, so these results may no longer hold.<button data-msg="${msg({ type: 'command', command: 'xdpLens.rerun' })}">Re-run</button></div>`);
  const refused = refusalBanner(s);
  if (refused) banners.push(`<div class="banner error" id="refused">${esc(refused)}<details><summary>Why</summary><p class="why">${esc(refusalDetails(s) ?? '')}</p></details></div>`);
  if (s.cancelled) banners.push(`<div class="banner">The run was cancelled after ${plural(s.packets, 'packet')}: these are the packets before it.</div>`);
  if (s.captureError) banners.push(`<div class="banner error">${esc(s.captureError)}; the packets before it are shown.</div>`);
  if (s.outgoingNote) banners.push(`<div class="banner" id="outgoing">${esc(s.outgoingNote)}.</div>`);
  if (s.lengthNote) banners.push(`<div class="banner" id="length">${esc(s.lengthNote)}.</div>`);
  if (s.truncatedNote) banners.push(`<div class="banner" id="truncated">${esc(s.truncatedNote)}.</div>`);
  if (s.linkNote) banners.push(`<div class="banner" id="link-header">${esc(s.linkNote)}.</div>`);
  const q = s.driver.queues;
  const sub = [esc(file), `${plural(s.packets, 'packet')}${s.packets > 1 ? ` over ${esc(duration(span))}` : ''}`, `${esc(s.driver.mode)} driver, ${esc(s.driver.profile)}, ${plural(q, 'RX queue')}`, esc(s.runId)]
    .map((x) => `<span class="nowrap">${x}</span>`)
    .join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${esc(p.cspSource)}; style-src 'nonce-${esc(p.nonce)}'; script-src 'nonce-${esc(p.nonce)}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Run Summary</title>
<style nonce="${esc(p.nonce)}">${STYLE}</style>
</head>
<body data-run="${esc(s.runId)}">
<h1 title="${esc(`${s.file} on ${s.capture}`)}">${esc(s.program)} on ${esc(capture)}</h1>
<p class="sub">${sub}</p>
${banners.join('\n')}
${tiles(p)}
<section id="timeline"><h2>Actions over capture time</h2>${timeline(p.stats)}</section>
<section id="exits"><h2>Packets per exit line</h2><p class="note">Where packets left the program (the <code>return</code> they took). Click a row to see the line and only its packets.</p>${exitsTable(p)}</section>
<section id="outcomes"><h2>What the driver did</h2><p class="note">The verdicts as the modelled driver carried them out.</p>${outcomesTable(p.stats)}</section>
<section id="queues"><h2>Per RX queue</h2>${queuesTable(p)}</section>
<section id="faults"><h2>Faults</h2>${faultsTable(p)}</section>
<script nonce="${esc(p.nonce)}">${SCRIPT}</script>
</body>
</html>`;
}
