// The packet view's HTML (XDP: Show Packet), drawn from the server's xdpLens/packet answer. Pure (no `vscode`): the
// webview (client/packet-view.ts) sets it as its document, and its one script (client/webview/packet.ts, bundled to
// dist/webview/packet.js) makes it interactive: expand layers, select a field and see its bytes, select a byte and see
// its field, click a source line to open it. Nothing is fetched: the Content-Security-Policy allows only the style
// and script elements carrying this document's nonce; colours are the theme's CSS variables.
import type { MapUpdate, PacketDetail, PacketField, PacketLayer } from '../server/protocol.ts';
import { captureOrdinal, codeOfLine, driverPathText, outputRecordLines, staleChanged } from './format.ts';

export interface PacketHtmlInput {
  detail: PacketDetail;
  /** The run the detail belongs to. */
  runId: string;
  /** Stale: what changed since the run (client/state.ts staleWhat), or true when that is not known. */
  stale: boolean | string;
  /** The kernel would refuse the run's program (at this file and line, when known; `message`: the whole refusal, on
   * hover): the verdict is the simulator's only. */
  refused?: { file?: string; line?: number; message?: string };
  nonce: string;
  /** `webview.cspSource`. */
  cspSource: string;
  /** The script's webview URI (dist/webview/packet.js). */
  scriptUri: string;
  /** Text of a source line, when it can be read. */
  lineText?: (file: string, line: number) => string | undefined;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const base = (f: string) => f.split(/[\\/]/).pop() ?? f;
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * Each layer's name: its key and occurrence, counted from the outermost header (`ip#1` is the inner IPv4 header of a
 * VXLAN frame) or, to pair the headers of a frame the program encapsulated or decapsulated, from the innermost
 * (`ip#-1` is the last IPv4 header).
 */
export function layerIds(layers: PacketLayer[], fromEnd = false): string[] {
  const seen = new Map<string, number>();
  const ids: string[] = [];
  for (let i = fromEnd ? layers.length - 1 : 0; fromEnd ? i >= 0 : i < layers.length; i += fromEnd ? -1 : 1) {
    const key = layers[i]!.key;
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    ids[i] = `${key}#${fromEnd ? -1 - k : k}`;
  }
  return ids;
}

/**
 * A stable name for every layer and field, the same on both sides when the headers are the same: the layer's name
 * (layerIds), then each field's key and occurrence among its siblings (`ip#0/ip.flags#0/ip.flags.df#0`).
 */
export function fieldIds(layers: PacketLayer[], fromEnd = false): Map<string, { value: string; offset: number; length: number }> {
  const out = new Map<string, { value: string; offset: number; length: number }>();
  const lids = layerIds(layers, fromEnd);
  const walk = (fields: PacketField[], prefix: string) => {
    const n = new Map<string, number>();
    for (const f of fields) {
      const k = n.get(f.key) ?? 0;
      n.set(f.key, k + 1);
      const id = `${prefix}/${f.key}#${k}`;
      out.set(id, { value: f.value, offset: f.offset, length: f.length });
      if (f.children) walk(f.children, id);
    }
  };
  layers.forEach((l, i) => {
    out.set(lids[i]!, { value: l.summary, offset: l.offset, length: l.length });
    walk(l.fields, lids[i]!);
  });
  return out;
}

/**
 * Ids of the fields that differ between the frame as received and as it left: a value that changed, a field on one
 * side only, or (for fields whose text does not show every byte) a field over bytes the program rewrote.
 */
export function changedFields(before: PacketLayer[], after: PacketLayer[], changedBytes: [number, number][], fromEnd = false): Set<string> {
  const b = fieldIds(before, fromEnd);
  const a = fieldIds(after, fromEnd);
  const out = new Set<string>();
  for (const [id, f] of a) {
    const was = b.get(id);
    if (!was || was.value !== f.value) out.add(id);
  }
  for (const id of b.keys()) if (!a.has(id)) out.add(id);
  // A field whose text is cut short ("…") may hide a change in its bytes.
  for (const [id, f] of a) if (f.value.endsWith('…') && changedBytes.some(([s, e]) => s < f.offset + f.length && e > f.offset)) out.add(id);
  return out;
}

/**
 * How the two sides pair up: headers counted from the outermost, unless counting from the innermost leaves fewer
 * fields changed (the program pushed or popped an outer header: the inner ones then pair with themselves).
 */
export function pairLayers(before: PacketLayer[], after: PacketLayer[], changedBytes: [number, number][]): { fromEnd: boolean; changed: Set<string> } {
  const start = changedFields(before, after, changedBytes, false);
  if (before.length === after.length) return { fromEnd: false, changed: start };
  const end = changedFields(before, after, changedBytes, true);
  return end.size < start.size ? { fromEnd: true, changed: end } : { fromEnd: false, changed: start };
}

/** Ids with a changed field somewhere below them. */
function ancestorsOf(changed: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const id of changed) for (let i = id.indexOf('/'); i >= 0; i = id.indexOf('/', i + 1)) out.add(id.slice(0, i));
  return out;
}

function fieldHtml(f: PacketField, id: string, changed: Set<string>, inside: Set<string>): string {
  const mark = changed.has(id) ? ' chg' : inside.has(id) ? ' chg-in' : '';
  const where = f.length === 1 ? `byte ${f.offset}` : `bytes ${f.offset}-${f.offset + f.length - 1}`;
  const bits = f.mask !== undefined ? `, bits 0x${f.mask.toString(16)}` : '';
  const title = esc(`${f.key} · ${where}${bits}`);
  const label = `<span class="fname">${esc(f.name)}</span>${f.value ? `: <span class="fval">${esc(f.value)}</span>` : ''}`;
  const attrs = `class="node${mark}" data-id="${esc(id)}" data-off="${f.offset}" data-len="${f.length}" title="${title}" tabindex="0"`;
  if (!f.children?.length) return `<div ${attrs}>${label}</div>`;
  const n = new Map<string, number>();
  const kids = f.children
    .map((c) => {
      const k = n.get(c.key) ?? 0;
      n.set(c.key, k + 1);
      return fieldHtml(c, `${id}/${c.key}#${k}`, changed, inside);
    })
    .join('');
  const open = mark === ' chg-in' ? ' open' : '';
  return `<details class="group"${open}><summary ${attrs}>${label}</summary><div class="kids">${kids}</div></details>`;
}

/** `made`: the first layer (the Ethernet header) was not the capture's: its tag (as received). */
function treeHtml(layers: PacketLayer[], changed: Set<string>, fromEnd: boolean, made?: string): string {
  if (!layers.length) return '<p class="muted">No bytes.</p>';
  const inside = ancestorsOf(changed);
  const lids = layerIds(layers, fromEnd);
  return layers
    .map((l, i) => {
      const id = lids[i]!;
      const n = new Map<string, number>();
      const fields = l.fields
        .map((f) => {
          const j = n.get(f.key) ?? 0;
          n.set(f.key, j + 1);
          return fieldHtml(f, `${id}/${f.key}#${j}`, changed, inside);
        })
        .join('');
      const inner = inside.has(id) || changed.has(id);
      const mark = inner ? ' chg-in' : '';
      const open = l.key === 'data' || l.key === 'eth.trailer' ? '' : ' open';
      const where = `bytes ${l.offset}-${l.offset + l.length - 1}`;
      const trunc =
        (l.truncated ? ` <span class="warn">[truncated: ${esc(l.truncated)}]</span>` : '') +
        (made !== undefined && i === 0 && l.key === 'eth' ? ` <span class="muted">[${esc(made)}]</span>` : '');
      return (
        `<details class="layer"${open}><summary class="node${mark}" data-id="${esc(id)}" data-off="${l.offset}" data-len="${l.length}" title="${esc(`${l.key} · ${where}`)}" tabindex="0">` +
        `<span class="lname">${esc(l.name)}</span>${l.summary ? `<span class="lsum">, ${esc(l.summary)}</span>` : ''}${trunc}</summary><div class="kids">${fields}</div></details>`
      );
    })
    .join('');
}

function hexHtml(hex: string, changed: [number, number][], length: number): string {
  const bytes = hex.match(/../g) ?? [];
  const isChanged = (i: number) => changed.some(([s, e]) => i >= s && i < e);
  const rows: string[] = [];
  for (let r = 0; r < bytes.length; r += 16) {
    let h = '';
    let a = '';
    for (let i = r; i < r + 16 && i < bytes.length; i++) {
      const v = parseInt(bytes[i]!, 16);
      const cls = i < length && isChanged(i) ? 'b chg' : 'b';
      h += `<span class="${cls}" data-i="${i}">${bytes[i]}</span>`;
      a += `<span class="${cls}" data-i="${i}">${v >= 0x20 && v < 0x7f ? esc(String.fromCharCode(v)) : '.'}</span>`;
    }
    rows.push(`<div class="row"><span class="off">${r.toString(16).padStart(4, '0')}</span><span class="hex">${h}</span><span class="asc">${a}</span></div>`);
  }
  return rows.join('');
}

export function mapUpdateText(m: MapUpdate): string {
  if (m.text) return m.text;
  return `${m.map}[${m.key}]: ${m.before ?? '(none)'} -> ${m.after ?? '(deleted)'}`;
}

/** Lines a statement spanning lines is followed over (its parentheses closed), at most, before it is cut with `…`. */
const MORE_LINES = 4;

/**
 * The code of source line `line` as the path lists it: a statement whose parentheses the line leaves open
 * (`return bpf_redirect_map(&map_all, 0,`) is followed over the next lines until they close, joined by one space, or
 * ended with `…` when they do not close within MORE_LINES lines. Undefined when the line cannot be read.
 */
export function statementText(lineText: (file: string, line: number) => string | undefined, file: string, line: number): string | undefined {
  const first = lineText(file, line);
  if (first === undefined) return undefined;
  let code = codeOfLine(first);
  const open = (s: string) => {
    let depth = 0;
    let quote = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    }
    return depth;
  };
  let depth = open(code);
  for (let k = 1; depth > 0 && k <= MORE_LINES; k++) {
    const next = lineText(file, line + k);
    if (next === undefined) break;
    const more = codeOfLine(next);
    code += ` ${more}`;
    depth += open(more);
  }
  return depth > 0 ? `${code} …` : code;
}

/** The most executed lines the packet view lists (and Copy Path copies). */
const PATH_LINES = 2000;

/**
 * The executed path as text, as the packet view lists it: one line each, `file:line  code`, the last marked where the
 * packet left (what XDP: Copy Path puts on the clipboard).
 */
export function executedPathText(d: Pick<PacketDetail, 'lines'>, lineText: (file: string, line: number) => string | undefined = () => undefined): string {
  return d.lines.slice(0, PATH_LINES).map((l, i) => {
    const t = statementText(lineText, l.file, l.line);
    return `${base(l.file)}:${l.line}${t !== undefined ? `  ${t}` : ''}${i === d.lines.length - 1 ? '  ← left here' : ''}`;
  }).join('\n') + (d.lines.length > PATH_LINES ? `\n(${d.lines.length - PATH_LINES} more lines)` : '');
}

export function renderPacketHtml(input: PacketHtmlInput): string {
  const { detail: d, nonce, stale } = input;
  const lineText = input.lineText ?? (() => undefined);
  const layers = d.layers ?? { before: [], after: [] };
  const { changed, fromEnd } = pairLayers(layers.before, layers.after, d.changed);
  const beforeLen = d.before.length / 2;
  const afterLen = d.after.length / 2;
  const nChanged = d.changed.reduce((n, [s, e]) => n + e - s, 0);
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src ${input.cspSource} data:; font-src ${input.cspSource}`;

  const src = (file: string, line: number, label?: string) =>
    `<a href="#" class="src" data-file="${esc(file)}" data-line="${line}" title="Open ${esc(base(file))} at line ${line}">${esc(label ?? `${base(file)}:${line}`)}</a>`;

  const verdict: string[] = [];
  verdict.push(`<span class="badge act-${esc(d.action)}">${esc(d.action)}</span>`);
  if (d.outcome) verdict.push(`<span class="outcome">→ ${esc(d.outcome)}</span>`);
  verdict.push(`<span class="muted">returned ${d.retval} at ${d.file ? src(d.file, d.line) : `line ${d.line}`}; <span title="${esc(driverPathText(d.path))}">driver path ${esc(d.path)}</span>${d.target ? ` → ${esc(d.target)}` : ''}</span>`);
  const notes: string[] = [];
  if (d.note) notes.push(`<div class="note">Driver: ${esc(d.note)}</div>`);
  if (d.fault) notes.push(`<div class="note err">Fault ${esc(d.fault.kind)}${d.fault.line ? ` at ${src(d.file, d.fault.line, `line ${d.fault.line}`)}` : ''}: ${esc(d.fault.message)}</div>`);
  const r = input.refused;
  if (r) notes.push(`<div class="note warnbox" id="refused"${r.message ? ` title="${esc(r.message)}"` : ''}>Simulated only: the kernel would refuse this program${r.line ? ` at ${r.file ? src(r.file, r.line) : `line ${r.line}`}` : ''}.</div>`);
  if (d.capLen !== undefined && d.len !== undefined) notes.push(`<div class="note" id="snap-cut">The capture holds ${d.capLen} of this frame's ${d.len} bytes (snap length): the program ran on those.</div>`);
  if (d.ethernetHeaderNote) notes.push(`<div class="note" id="made-header">${esc(d.ethernetHeaderNote[0]!.toUpperCase() + d.ethernetHeaderNote.slice(1))} in front (bytes 0-13), as an Ethernet NIC hands XDP a frame (README "Captures").</div>`);
  if (d.uninitStackRead) notes.push(`<div class="note warnbox">Undefined value${d.uninitStackRead.line ? ` at line ${d.uninitStackRead.line}` : ''}: ${esc(d.uninitStackRead.message)}</div>`);

  const banners: string[] = [];
  if (stale) banners.push(`<div class="banner stale" role="status">Stale: ${esc(staleChanged(stale))} changed since this run, so this packet may no longer do what is shown. <button id="rerun">Re-run</button></div>`);
  if (d.error) banners.push(`<div class="banner stale" role="status">${esc(d.error)}</div>`);
  if (!d.layers) banners.push('<div class="banner" role="status">This server sends no decoded layers: only the bytes are shown.</div>');

  const side = (name: 'before' | 'after', title: string, hex: string, ls: PacketLayer[], len: number) =>
    `<section class="side" data-side="${name}"><h2>${title} <span class="muted">${plural(len, 'byte')}</span></h2>` +
    `<div class="tree">${treeHtml(ls, changed, fromEnd, name === 'before' && d.ethernetHeader ? `Ethernet header ${d.ethernetHeader}` : undefined)}</div>` +
    `<div class="hexpane"><div class="hexcap muted">Bytes ${name === 'before' ? 'as received' : 'as it left the program'}</div>${hexHtml(hex, d.changed, name === 'after' ? afterLen : Math.min(beforeLen, afterLen))}</div></section>`;

  const path = d.lines.slice(0, PATH_LINES).map((l, i) => {
    const t = statementText(lineText, l.file, l.line);
    return `<li>${src(l.file, l.line)}${t !== undefined ? ` <code>${esc(t)}</code>` : ''}${i === d.lines.length - 1 ? ' <span class="muted">← left here</span>' : ''}</li>`;
  });
  const maps = d.maps.map((m) => `<li><code title="${esc(`${m.map}[${m.key}]: ${m.before ?? '(none)'} -> ${m.after ?? '(deleted)'}`)}">${esc(mapUpdateText(m))}</code></li>`);
  // Records sent to a ring buffer or perf event array change no entry: listed with the map updates, so that a packet
  // which submitted one does not read "None".
  for (const r of outputRecordLines(d.records ?? [])) maps.push(`<li class="record"><code title="${esc(r.title)}">${esc(r.text)}</code></li>`);
  const printk = d.printk.map((p) => `<li><code>${esc(p)}</code></li>`);
  const lengthNote = beforeLen !== afterLen ? `; length ${beforeLen} → ${afterLen}` : '';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Packet #${d.index}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-packet="${d.index}" data-run="${esc(input.runId)}">
${banners.join('\n')}
<header>
<h1>Packet #${d.index} <span class="muted">${esc(d.time)} s · ${captureOrdinal(d.index)}</span></h1>
<div class="summary">${esc(d.summary)}</div>
<div class="verdict">${verdict.join(' ')}</div>
${notes.join('\n')}
</header>
<p class="muted hint">${nChanged ? `The program changed ${plural(nChanged, 'byte')}${lengthNote}: changed fields and bytes are marked.` : `The program changed no bytes${lengthNote}.`} Select a field to light up its bytes, or a byte to find its field.</p>
<main class="sides">
${side('before', 'As received', d.before, layers.before, beforeLen)}
${side('after', 'As it left the program', d.after, layers.after, afterLen)}
</main>
<section class="extra">
<details open><summary><h2>Executed path <span class="muted">${plural(d.lines.length, 'line')}</span> <button id="copy-path" title="Copy the executed path as text">Copy</button></h2></summary><ol class="path">${path.join('')}</ol></details>
<details open><summary><h2>Map updates <span class="muted">${maps.length}</span></h2></summary>${maps.length ? `<ul class="plain">${maps.join('')}</ul>` : '<p class="muted">None.</p>'}</details>
<details open><summary><h2>printk <span class="muted">${d.printk.length}</span></h2></summary>${printk.length ? `<ul class="plain">${printk.join('')}</ul>` : '<p class="muted">None.</p>'}</details>
</section>
<script nonce="${nonce}" src="${esc(input.scriptUri)}"></script>
</body>
</html>`;
}

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 12px 16px; }
h1 { font-size: 1.25em; margin: 10px 0 2px; font-weight: 600; }
h2 { font-size: 1em; margin: 6px 0; font-weight: 600; display: inline; }
.muted { color: var(--vscode-descriptionForeground); font-weight: normal; }
.summary { font-family: var(--vscode-editor-font-family); margin: 2px 0 6px; }
.verdict { display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; }
.badge { font-weight: 600; padding: 1px 6px; border-radius: 3px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.act-XDP_DROP, .act-XDP_ABORTED { background: var(--vscode-inputValidation-errorBackground, var(--vscode-badge-background)); color: var(--vscode-foreground); }
.outcome { font-weight: 600; }
.note { margin: 4px 0; }
.note.err { color: var(--vscode-errorForeground); }
.warn { color: var(--vscode-editorWarning-foreground); }
.banner { padding: 6px 10px; margin: 8px 0; border-left: 3px solid var(--vscode-editorWarning-foreground); background: var(--vscode-inputValidation-warningBackground, var(--vscode-editorWidget-background)); }
#copy-path { margin-left: 8px; font-size: 12px; font-weight: normal; color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); border: none; padding: 1px 8px; cursor: pointer; }
.banner button { margin-left: 8px; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 2px 10px; cursor: pointer; }
.hint { margin: 8px 0; }
.sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); column-gap: 16px; align-items: start; }
/* Trees side by side; the hex panes side by side too when there is room for 16 bytes a row twice, else one above the other. */
.side { display: contents; }
.side > h2 { grid-row: 1; margin-bottom: 4px; }
.side > .tree { grid-row: 2; }
.side > .hexpane { grid-row: 3; }
.side[data-side="after"] > * { grid-column: 2; }
.side[data-side="before"] > * { grid-column: 1; }
@media (max-width: 1100px) {
  .side > .hexpane { grid-column: 1 / span 2 !important; }
  .side[data-side="after"] > .hexpane { grid-row: 4; }
}
/* A narrow group (the view beside the source): one side above the other, each tree the whole width. */
@media (max-width: 760px) {
  .sides { display: block; }
  .side { display: block; margin-bottom: 12px; }
}
.hexcap { font-family: var(--vscode-font-family); margin: 6px 0 2px; }
.tree { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); border: 1px solid var(--vscode-panel-border, transparent); padding: 4px; max-height: 55vh; overflow: auto; }
.kids { margin-left: 16px; }
summary { cursor: pointer; }
/* A line too long for the tree wraps (a hanging indent) rather than run out of sight. */
.node { padding: 0 3px; border-radius: 2px; overflow-wrap: anywhere; }
div.node { padding-left: 1.2em; text-indent: -1.2em; }
div.node { margin-left: 14px; }
.node:hover { background: var(--vscode-list-hoverBackground); }
.node:focus { outline: 1px solid var(--vscode-focusBorder); }
.lname { font-weight: 600; }
.lsum { color: var(--vscode-descriptionForeground); }
.fval { color: var(--vscode-debugTokenExpression-value, var(--vscode-foreground)); }
.chg > .fname, .chg > .fval, summary.chg, .chg .fval { color: var(--vscode-gitDecoration-modifiedResourceForeground, var(--vscode-editorWarning-foreground)); font-weight: 600; }
.node.chg::before, .node.chg-in::before { content: '●'; color: var(--vscode-gitDecoration-modifiedResourceForeground, var(--vscode-editorWarning-foreground)); margin-right: 4px; font-size: 0.8em; }
.node.sel { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
.tree .node.sel > span { color: var(--vscode-list-activeSelectionForeground) !important; }
.node.peer { background: var(--vscode-editor-findMatchHighlightBackground); outline: 1px dashed var(--vscode-focusBorder); }
.hexpane { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); margin-top: 4px; max-height: 35vh; overflow: auto; white-space: pre; }
.row { display: flex; gap: 10px; }
.off { color: var(--vscode-editorLineNumber-foreground); }
.hex .b { padding: 0 2px; cursor: pointer; }
.asc .b { cursor: pointer; }
.b.chg { background: var(--vscode-diffEditor-insertedTextBackground); }
.side[data-side="before"] .b.chg { background: var(--vscode-diffEditor-removedTextBackground); }
.b.sel { background: var(--vscode-editor-selectionBackground); outline: 1px solid var(--vscode-focusBorder); }
.b.peer { background: var(--vscode-editor-findMatchHighlightBackground); }
.extra { margin-top: 12px; }
.extra details { margin: 6px 0; }
.path { font-family: var(--vscode-editor-font-family); margin: 4px 0; padding-left: 36px; max-height: 30vh; overflow: auto; }
.path code, .plain code { font-family: var(--vscode-editor-font-family); color: var(--vscode-editor-foreground); background: none; padding: 0; }
ul.plain { list-style: none; padding-left: 12px; margin: 4px 0; }
a.src { color: var(--vscode-textLink-foreground); text-decoration: none; }
a.src:hover { text-decoration: underline; }
`;
