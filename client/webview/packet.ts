/// <reference lib="dom" />
// The packet view's script, run inside the webview (bundled by esbuild to dist/webview/packet.js; the page is drawn by
// client/packet-html.ts). It links the layer tree and the hex pane both ways and asks the extension, by message, to
// open source lines or re-run. The selection survives a redraw of the same packet (a re-run, a stale mark).

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface State {
  packet: string;
  side?: string;
  id?: string;
  open?: string[];
}

const api = acquireVsCodeApi();
const packet = document.body.dataset.packet ?? '';

function sideOf(el: Element): HTMLElement | null {
  return el.closest<HTMLElement>('.side');
}

function clear(cls: string): void {
  for (const el of document.querySelectorAll(`.${cls}`)) el.classList.remove(cls);
}

/** Light up bytes [off, off+len) of one side's hex pane; returns the first. */
function lightBytes(side: HTMLElement, off: number, len: number, cls: string): HTMLElement | undefined {
  let first: HTMLElement | undefined;
  for (const b of side.querySelectorAll<HTMLElement>('.hexpane .b')) {
    const i = Number(b.dataset.i);
    if (i >= off && i < off + len) {
      b.classList.add(cls);
      if (!first) first = b;
    }
  }
  return first;
}

function openAncestors(el: Element): void {
  for (let p = el.parentElement; p; p = p.parentElement) if (p instanceof HTMLDetailsElement) p.open = true;
}

/** Scroll `el` into view inside its scrolling pane only (the page itself stays where the reader put it). */
function reveal(el: HTMLElement, paneSelector: string): void {
  const pane = el.closest<HTMLElement>(paneSelector);
  if (!pane) return;
  const r = el.getBoundingClientRect();
  const p = pane.getBoundingClientRect();
  if (r.top < p.top) pane.scrollTop -= p.top - r.top + 4;
  else if (r.bottom > p.bottom) pane.scrollTop += r.bottom - p.bottom + 4;
}

function select(node: HTMLElement, how: 'bytes' | 'node' | 'none'): void {
  const side = sideOf(node);
  if (!side) return;
  clear('sel');
  clear('peer');
  node.classList.add('sel');
  const first = lightBytes(side, Number(node.dataset.off), Number(node.dataset.len), 'sel');
  if (how === 'bytes' && first) reveal(first, '.hexpane');
  if (how === 'node') {
    openAncestors(node);
    reveal(node, '.tree');
  }
  // The same field on the other side (the frame as received or as it left).
  const id = node.dataset.id ?? '';
  for (const other of document.querySelectorAll<HTMLElement>('.side')) {
    if (other === side) continue;
    const peer = [...other.querySelectorAll<HTMLElement>('.node[data-id]')].find((n) => n.dataset.id === id);
    if (!peer) continue;
    peer.classList.add('peer');
    lightBytes(other, Number(peer.dataset.off), Number(peer.dataset.len), 'peer');
  }
  saveState({ side: side.dataset.side, id });
}

/** The innermost field of a side holding byte i (the smallest range; the deepest on a tie). */
function fieldAt(side: HTMLElement, i: number): HTMLElement | undefined {
  let best: HTMLElement | undefined;
  let bestLen = Infinity;
  for (const n of side.querySelectorAll<HTMLElement>('.tree .node[data-off]')) {
    const off = Number(n.dataset.off);
    const len = Number(n.dataset.len);
    if (i >= off && i < off + len && len <= bestLen) {
      best = n;
      bestLen = len;
    }
  }
  return best;
}

function saveState(patch: Partial<State>): void {
  const open = [...document.querySelectorAll<HTMLDetailsElement>('.tree details')]
    .filter((d) => d.open)
    .map((d) => `${sideOf(d)?.dataset.side}:${d.querySelector<HTMLElement>(':scope > summary')?.dataset.id}`);
  const prev = (api.getState() as State | undefined) ?? { packet };
  api.setState({ ...(prev.packet === packet ? prev : {}), ...patch, packet, open });
}

document.addEventListener('click', (e) => {
  const t = e.target as HTMLElement;
  const link = t.closest<HTMLElement>('a.src');
  if (link) {
    e.preventDefault();
    api.postMessage({ type: 'line', file: link.dataset.file, line: Number(link.dataset.line) });
    return;
  }
  if (t.closest('#copy-path')) {
    e.preventDefault(); // not a toggle of the section it sits in
    api.postMessage({ type: 'copyPath' });
    return;
  }
  if (t.closest('#rerun')) {
    api.postMessage({ type: 'rerun' });
    return;
  }
  const byte = t.closest<HTMLElement>('.hexpane .b');
  if (byte) {
    const side = sideOf(byte);
    const node = side && fieldAt(side, Number(byte.dataset.i));
    if (node) select(node, 'node');
    return;
  }
  const node = t.closest<HTMLElement>('.tree .node[data-off]');
  if (node) select(node, 'bytes');
});

document.addEventListener('keydown', (e) => {
  const node = (e.target as HTMLElement).closest?.<HTMLElement>('.tree .node[data-off]');
  if (!node || (e.key !== 'Enter' && e.key !== ' ')) return;
  if (node.tagName !== 'SUMMARY') e.preventDefault();
  select(node, 'bytes');
});

document.addEventListener('toggle', () => saveState({}), true);

// Restore what was open and selected when this packet was drawn before.
const state = api.getState() as State | undefined;
if (state && state.packet === packet) {
  if (state.open) {
    const open = new Set(state.open);
    for (const d of document.querySelectorAll<HTMLDetailsElement>('.tree details')) {
      const key = `${sideOf(d)?.dataset.side}:${d.querySelector<HTMLElement>(':scope > summary')?.dataset.id}`;
      d.open = open.has(key);
    }
  }
  const side = document.querySelector<HTMLElement>(`.side[data-side="${state.side}"]`);
  const node = side && [...side.querySelectorAll<HTMLElement>('.node[data-id]')].find((n) => n.dataset.id === state.id);
  if (node) select(node, 'none');
} else api.setState({ packet });
