// Pure text for the editor: CodeLens titles, end-of-line labels, status bar text. No `vscode` import, so that the
// wording is unit-tested (test/client/format.test.ts).
import type { OutputRecord, RunExit, RunSummary, XdpAction } from '../server/protocol.ts';

export const ACTION_ORDER: XdpAction[] = ['XDP_PASS', 'XDP_DROP', 'XDP_TX', 'XDP_REDIRECT', 'XDP_ABORTED'];

/** A count as people read it: 1,000,000. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** "812 bytes", "1 byte", "3.2 KiB", "14.0 MiB". */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return plural(bytes, 'byte');
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The pcap global header alone: an output capture with no packet in it. */
export const PCAP_HEADER_BYTES = 24;

/** Output captures worth offering: those holding packets, with readable sizes; missing files left out. */
export function outputCaptureItems(files: { path: string; size: number | undefined }[]): { label: string; description: string; path: string }[] {
  return files
    .filter((f) => f.size !== undefined && f.size > PCAP_HEADER_BYTES)
    .map((f) => ({ label: f.path.split(/[\\/]/).pop() ?? f.path, description: humanSize(f.size!), path: f.path }));
}

/** "6 XDP_PASS · 2 XDP_DROP · 2 XDP_TX": the actions that occurred, most common first (ties in ACTION_ORDER). */
export function formatCounts(byAction: Partial<Record<XdpAction, number>>): string {
  const parts = ACTION_ORDER.map((a) => [a, byAction[a] ?? 0] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1] || ACTION_ORDER.indexOf(x[0]) - ACTION_ORDER.indexOf(y[0]));
  return parts.length ? parts.map(([a, n]) => `${count(n)} ${a}`).join(' · ') : 'no packets';
}

/**
 * The CodeLens after a run: counts, packet total, capture name, and whether it is stale or partial; when stale because a
 * save was not re-run (the run took `notRerunMs`, too long for re-run on save), says so.
 */
export function runLensTitle(
  s: Pick<RunSummary, 'byAction' | 'packets' | 'capture' | 'cancelled' | 'captureError' | 'faults'> & Pick<Partial<RunSummary>, 'verifierRefuses' | 'byOutcome' | 'live'>,
  stale: boolean,
  notRerunMs?: number,
): string {
  const name = s.capture.split(/[\\/]/).pop() ?? s.capture;
  // A live run names its interface; its recorded capture is named once it stopped.
  const of = s.live?.running ? `live on ${s.live.interface}, capturing` : name;
  let t = `${formatCounts(s.byAction)} (${plural(s.packets, 'packet')} of ${of}`;
  // Results of a program that cannot load must not read like those of one that can.
  if (s.verifierRefuses?.length) t = `$(error) Kernel would refuse this program · simulated only: ${t}`;
  if (s.cancelled) t += ', cancelled';
  if (s.captureError) t += ', capture broken';
  const faults = s.faults.reduce((n, f) => n + f.count, 0);
  // Faulted packets are counted once, after the parenthesis ("· 2 faults"), not also as an outcome inside it.
  const outcomes = faults ? Object.fromEntries(Object.entries(s.byOutcome ?? {}).filter(([o]) => o !== 'aborted: fault')) : s.byOutcome;
  t += `${outcomeNote(outcomes, s.packets)})`;
  if (faults) t += ` · ${plural(faults, 'fault')}`;
  if (stale && notRerunMs !== undefined) return `${t} (stale: not re-run on save, the run took ${seconds(notRerunMs)})`;
  return stale ? `${t} (stale)` : t;
}

/** "1.4 s": tenths, rounded up so that a run over the re-run-on-save limit never reads as under it. */
const seconds = (ms: number): string => `${(Math.ceil(ms / 100) / 10).toFixed(1)} s`;

/**
 * Why a save did not re-run the last run (xdpLens.rerunOnSave): it took `ms`, not under `limitMs`. Shown where the
 * stale results are (the CodeLens's tooltip, the packets view's message).
 */
export function notRerunText(ms: number, limitMs: number): string {
  return `Not re-run on save: the last run took ${seconds(ms)}, and only runs under ${limitMs / 1000} s are re-run on save. Run "XDP: Re-run" to refresh.`;
}

/** Where the kernel refuses the program: "p.c:12" (the file's name and line), "line 12" (no file), or nothing. */
export function refusalPlace(r: { file?: string; line?: number }): string | undefined {
  if (!r.line) return undefined;
  return r.file ? `${r.file.split(/[\\/]/).pop() || r.file}:${r.line}` : `line ${r.line}`;
}

/**
 * The line above a run's results when the kernel would refuse the program: that it would, where, how many more; short,
 * to read at a glance (the whole of each refusal is refusalDetails, behind a hover or a click).
 */
export function refusalBanner(s: Pick<Partial<RunSummary>, 'verifierRefuses'>): string | undefined {
  const list = s.verifierRefuses ?? [];
  if (!list.length) return undefined;
  const where = refusalPlace(list[0]!);
  const more = list.length > 1 ? ` (and ${plural(list.length - 1, 'more refusal')})` : '';
  return `The kernel would refuse this program${where ? ` at ${where}` : ''}${more}. These results are simulated only.`;
}

/** Each refusal whole, where it is and the check's words: a hover or a click behind the short banner. */
export function refusalDetails(s: Pick<Partial<RunSummary>, 'verifierRefuses'>): string | undefined {
  const list = s.verifierRefuses ?? [];
  if (!list.length) return undefined;
  return list.map((r) => { const at = refusalPlace(r); return at ? `${at}: ${r.message}` : r.message; }).join('\n\n');
}

/**
 * A message put after a colon, so that the two read as one sentence: its first word lower-cased when it is a plain
 * capitalised word ("This load ..." -> "this load ..."); names such as R1, BPF or XDP_DROP are kept as they are.
 */
export function afterColon(message: string): string {
  return /^[A-Z][a-z]+\b/.test(message) ? message[0]!.toLowerCase() + message.slice(1) : message;
}

/** The CodeLens under the counts when the kernel would refuse the program: where, and the kernel's own words when quoted. */
export function refusalLensTitle(s: Pick<Partial<RunSummary>, 'verifierRefuses'>): string | undefined {
  const first = s.verifierRefuses?.[0];
  if (!first) return undefined;
  const quoted = /\("([^"]{1,80})"\)/.exec(first.message)?.[1];
  const message = afterColon(first.message);
  const words = quoted ?? (message.length > 80 ? `${message.slice(0, 79)}…` : message.replace(/\.$/, ''));
  const more = (s.verifierRefuses?.length ?? 0) > 1 ? ` (+${s.verifierRefuses!.length - 1} more)` : '';
  return `Refused${first.line ? ` at line ${first.line}` : ''}: ${words}${more}`;
}

/** The packets view's note on a run whose capture broke off: what ran, and where the capture broke. */
export function captureBrokenNote(s: Pick<RunSummary, 'capture' | 'packets'> & Pick<Partial<RunSummary>, 'captureError'>): string | undefined {
  if (!s.captureError) return undefined;
  const ran = s.packets === 0 ? 'No packet ran' : s.packets === 1 ? 'Only the first packet ran' : `Only the first ${plural(s.packets, 'packet')} ran`;
  return `${ran}: ${runErrorText(s.captureError, [s.capture]).replace(/\.$/, '')}.`;
}

/**
 * A failed run's error as a notification says it: file names for the paths of the run's program and capture (the
 * whole text stays in the output), and clang's errors as "cannot compile prog.c, line 7: use of undeclared
 * identifier 'x' (and 1 more error: see Problems)".
 */
export function runErrorText(error: string, paths: string[]): string {
  const base = (p: string) => p.split(/[\\/]/).pop() || p;
  const compile = /^cannot compile ([^\n]+):\n([\s\S]*)$/.exec(error);
  let text = error;
  if (compile) {
    const file = compile[1]!;
    const errors = [...compile[2]!.matchAll(/^(.+?):(\d+):(\d+): (?:fatal )?error: (.*)$/gm)];
    if (errors.length) {
      const [, at, line, , message] = errors[0]!;
      // Line 0: no place in the source (clang could not run): the message alone.
      const where = line === '0' ? '' : at === file ? `, line ${line}` : `, ${base(at!)}:${line}`;
      const more = errors.length > 1 ? ` (and ${plural(errors.length - 1, 'more error')}: see Problems)` : '';
      text = `cannot compile ${base(file)}${where}: ${message}${more}`;
    }
  }
  for (const p of [...paths].filter(Boolean).sort((a, b) => b.length - a.length)) text = text.split(p).join(base(p));
  return text;
}

/** Whether a failed run's error is clang's about a place in the source (so in Problems, on its line). */
export const compileErrorOnLine = (error: string): boolean =>
  /^cannot compile [^\n]+:\n/.test(error) && /^.+?:([1-9]\d*):\d+: (?:fatal )?error: /m.test(error);

/**
 * The button a failed run's notification offers (one button also shows the notification whole; without one VS Code
 * cuts it to a line): clang's error on a line -> its Problems entry; an error about the capture (it starts with the
 * capture's path) -> another capture; anything else -> the output, which holds the whole text.
 */
export function runErrorButton(error: string, capture: string): 'Show Problems' | 'Run on Another Capture...' | 'Show Output' {
  if (compileErrorOnLine(error)) return 'Show Problems';
  if (capture && error.startsWith(`${capture}:`)) return 'Run on Another Capture...';
  return 'Show Output';
}

/**
 * Outcomes with a reason ('dropped: no redirect target'), most common first, said as a part of the packets counted
 * (not beside the actions, where they would read as more packets): "; 240 of them dropped: no redirect target".
 */
export function outcomeNote(byOutcome: Record<string, number> | undefined, packets: number): string {
  const odd = Object.entries(byOutcome ?? {}).filter(([o, n]) => o.includes(':') && n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!odd.length) return '';
  const [[o0, n0], ...rest] = odd as [[string, number], ...[string, number][]];
  const first = n0 === packets ? `${packets === 1 ? 'it was' : 'all'} ${o0}` : `${count(n0)} of them ${o0}`;
  return `; ${[first, ...rest.map(([o, n]) => `${count(n)} ${o}`)].join(', ')}`;
}

/** What the driver carried out for the packets of one exit, after its action: ", all dropped: no redirect target". */
export function exitOutcomes(e: Pick<RunExit, 'count'> & Pick<Partial<RunExit>, 'outcomes'>): string {
  const list = Object.entries(e.outcomes ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!list.some(([o]) => o.includes(':'))) return '';
  if (list.length === 1) return `, ${e.count === 1 ? '' : e.count === 2 ? 'both ' : 'all '}${list[0]![0]}`;
  return `, ${list.map(([o, n]) => `${count(n)} ${o}`).join(', ')}`;
}

/**
 * Text after a line where packets left: "← 2 packets → XDP_DROP", several actions joined; what the driver did when it
 * was not simply the action: "← 240 packets → XDP_REDIRECT, all dropped: no redirect target".
 */
export function exitLabel(exits: (Pick<RunExit, 'action' | 'count'> & Pick<Partial<RunExit>, 'outcomes'>)[], stale: boolean): string {
  const sorted = [...exits].sort((a, b) => b.count - a.count || ACTION_ORDER.indexOf(a.action) - ACTION_ORDER.indexOf(b.action));
  // Packets that faulted there say so before their action ("2 packets faulted → XDP_ABORTED"), not after it.
  const faulted = (e: (typeof exits)[number]) => e.action === 'XDP_ABORTED' && Object.keys(e.outcomes ?? {}).every((o) => o === 'aborted: fault') && (e.outcomes?.['aborted: fault'] ?? 0) > 0;
  const parts = sorted.map((e) => (faulted(e) ? `${plural(e.count, 'packet')} faulted → ${e.action}` : `${plural(e.count, 'packet')} → ${e.action}${exitOutcomes(e)}`));
  const text = parts.join(parts.some((p) => p.includes(':')) ? '; ' : ', ');
  return `  ← ${text}${stale ? ' (stale)' : ''}`;
}

/** A diagnostic's message for packets whose verdict the driver carried out otherwise (or with a caveat). */
export function outcomeMessage(o: { action: string; outcome: string; note?: string; count: number; firstPackets: number[] }, withNote = true): string {
  const more = o.count > o.firstPackets.length ? ` and ${count(o.count - o.firstPackets.length)} more` : '';
  const [word, ...why] = o.outcome.split(': ');
  const did = why.length ? `${word} (${why.join(': ')})` : word;
  const note = withNote && o.note ? ` ${o.note[0]!.toUpperCase()}${o.note.slice(1)}${/[.!?]$/.test(o.note) ? '' : '.'}` : '';
  return `${plural(o.count, 'packet')} returned ${o.action} here and ${o.count === 1 ? 'was' : 'were'} ${did}: #${o.firstPackets.join(', #')}${more}.${note}`;
}

/**
 * What the driver did that proves a source finding of the same line right: the finding's rule code by outcome. The
 * run's evidence is then said in the finding's own diagnostic (one entry per mistake), not in a second one.
 */
export const RUN_CONFIRMS: Readonly<Record<string, string>> = {
  'dropped: no redirect target': 'redirect-without-target',
  'aborted: not an XDP action': 'invalid-action',
};

/** The sentence added to a finding whose fault the run met on its line (the packets it stopped). */
export function faultEvidence(f: { count: number; firstPackets: number[] }): string {
  const more = f.count > f.firstPackets.length ? ` and ${count(f.count - f.firstPackets.length)} more` : '';
  return `The last run confirms it: ${plural(f.count, 'packet')} faulted here and ${f.count === 1 ? 'was' : 'were'} aborted: #${f.firstPackets.join(', #')}${more}.`;
}

/** The sentence added to a finding the run confirmed. */
export function runEvidence(o: { action: string; outcome: string; count: number; firstPackets: number[] }): string {
  return `The last run confirms it: ${outcomeMessage(o, false)}`;
}

/** What each driver path means, in a sentence (the path names are the kernel functions the modelled driver takes). */
export const DRIVER_PATHS: Readonly<Record<string, string>> = {
  page_pool_recycle: 'dropped: the buffer went straight back to the driver\'s page pool, nothing allocated',
  xdp_exception: 'dropped as an error, with the xdp:xdp_exception tracepoint',
  build_skb: 'to the network stack: an SKB built around the packet\'s own page, no copy',
  'napi_alloc_skb+copy': 'to the network stack: a new SKB, the headers copied out of the read-only page',
  'napi_alloc_skb+copybreak': 'to the network stack: a new SKB with the small frame copied whole',
  netif_receive_skb: 'generic mode: the existing SKB went on up the network stack',
  xdp_tx: 'queued on the XDP TX ring of the interface it came in on',
  generic_xdp_tx: 'generic mode: handed to the device\'s transmit directly, past the qdisc',
  tx_ring_full: 'the XDP TX ring was full: dropped',
  'xdp_redirect:ifindex': 'redirected to the interface bpf_redirect named',
  'xdp_redirect:devmap': 'redirected to an interface through a DEVMAP entry',
  'xdp_redirect:cpumap': 'redirected to another CPU through a CPUMAP entry, where the SKB is built',
  'xdp_redirect:xskmap': 'redirected to an AF_XDP socket through an XSKMAP entry',
  xdp_do_generic_redirect: 'generic mode: redirected',
  redirect_error: 'XDP_REDIRECT without a usable target: dropped',
  kfree_skb: 'generic mode: the SKB was freed (dropped)',
};

/** A driver path with what it means: "xdp_tx (queued on the XDP TX ring of the interface it came in on)". */
export const driverPathText = (path: string): string => (DRIVER_PATHS[path] ? `${path} (${DRIVER_PATHS[path]})` : path);

/** Exits grouped by file and line, for one decoration per line. */
export function exitsByLine(exits: RunExit[]): Map<string, Map<number, RunExit[]>> {
  const out = new Map<string, Map<number, RunExit[]>>();
  for (const e of exits) {
    let f = out.get(e.file);
    if (!f) out.set(e.file, (f = new Map()));
    const list = f.get(e.line) ?? [];
    list.push(e);
    f.set(e.line, list);
  }
  return out;
}

/**
 * The "Debug" lenses of one file after a run: one per line packets left through, on the first packet (in capture
 * order) that left there, whatever its action. None when the results are stale (the packet may no longer leave
 * there) or the workspace is untrusted (debugging compiles and runs the program), nor for exits without a packet.
 */
export function debugLenses(exits: Pick<RunExit, 'file' | 'line' | 'firstPacket'>[], file: string, stale: boolean, trusted: boolean): { line: number; packet: number; title: string }[] {
  if (stale || !trusted) return [];
  const first = new Map<number, number>();
  for (const e of exits) {
    if (e.file !== file || e.line < 1 || e.firstPacket === undefined) continue;
    const had = first.get(e.line);
    if (had === undefined || e.firstPacket < had) first.set(e.line, e.firstPacket);
  }
  return [...first].sort((a, b) => a[0] - b[0]).map(([line, packet]) => ({ line, packet, title: `$(debug) Debug first packet (#${packet})` }));
}

/** A fault diagnostic's message: what happened, how often, and the first packets to look at. */
export function faultMessage(f: { kind: string; message: string; count: number; firstPackets: number[] }): string {
  const more = f.count > f.firstPackets.length ? ', …' : '';
  return `${f.kind}: ${f.message} (${plural(f.count, 'packet')}: #${f.firstPackets.join(', #')}${more})`;
}

/** Status bar text. */
export function statusText(state: string, driverMode: string, trusted: boolean, noClang = false): string {
  const clangMissing = noClang && trusted;
  const icon = state === 'ready' ? (clangMissing ? '$(warning)' : '$(check)') : state === 'error' ? '$(error)' : state === 'analysing' ? '$(sync~spin)' : '$(loading~spin)';
  return `${icon} XDP ${trusted ? driverMode : 'restricted'}${clangMissing ? ' · no clang' : ''}`;
}

/** "1.234 s" or "87 ms". */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${Math.round(ms)} ms`;
}

/** What a packet's row says when the capture's snap length cut it short (`capLen` of `len` bytes captured). */
export const cutMark = (row: { len?: number; capLen?: number }): string => (row.capLen !== undefined ? ` [${row.capLen} of ${row.len ?? '?'} bytes captured]` : '');

/** What a packet's row says when the capture did not hold its Ethernet header (as `xdp-lens run`'s jsonl says it). */
export const madeHeaderMark = (row: { ethernetHeader?: string }): string => (row.ethernetHeader !== undefined ? ` [Ethernet header ${row.ethernetHeader}]` : '');

/** The packets view's note above its rows when every row's Ethernet header came from the same place (RunSummary.everyRowEthernetHeader). */
export const everyRowHeaderNote = (s: { everyRowEthernetHeader?: string }): string | undefined =>
  s.everyRowEthernetHeader ? `All packets ${s.everyRowEthernetHeader} (README "Captures").` : undefined;

/** One packet row in the packets view: label and description. `headerSaidAbove`: every row's made Ethernet header is
 * said once above the rows (everyRowHeaderNote), not on the row. */
export function packetLabel(
  row: { index: number; time: string; summary: string; len?: number; capLen?: number; ethernetHeader?: string } & ({ action: string; line: number; fault?: string; outcome?: string; notRun?: undefined } | { notRun: string }),
  headerSaidAbove = false,
): { label: string; description: string } {
  const header = headerSaidAbove ? '' : madeHeaderMark(row);
  // Sent by the capturing host: listed at its place, not run (as `xdp-lens run`'s table shows it).
  if (row.notRun !== undefined) return { label: `#${row.index} (${row.notRun}: not run)${cutMark(row)}${header}`, description: `${row.time} s  ${row.summary}` };
  const outcome = !row.fault && row.outcome?.includes(':') ? ` → ${row.outcome}` : '';
  return {
    label: `#${row.index} ${row.action}${row.fault ? ` (${row.fault})` : ''}${outcome}${cutMark(row)}${header}`,
    description: `${row.time} s  ${row.summary}  (line ${row.line})`,
  };
}

/**
 * A source line as code beside a line number (the Run Summary's exit lines, the packet view's path): trimmed, and
 * without a comment at its end, which is not what ran (`return XDP_DROP; // blocked` reads `return XDP_DROP;`).
 * A `//` or `/*` inside a string or character literal is kept; a line that is only a comment stays as it is.
 */
export function codeOfLine(text: string): string {
  const t = text.trim();
  let quote = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '/' && (t[i + 1] === '/' || (t[i + 1] === '*' && t.indexOf('*/', i + 2) === t.length - 2))) {
      const code = t.slice(0, i).trimEnd();
      return code || t;
    }
  }
  return t;
}

/**
 * What a packet sent to ring buffers and perf event arrays, one line per map in the order of its first record:
 * `1 ring buffer record (events, 64 bytes)`, `2 ring buffer records (events, 16 bytes each)`. A perf event record says
 * that it reached no one: a run has no reader on the array, so the helper returned -ENOENT, as BPF_PROG_TEST_RUN's does.
 * `title`: the first record's first bytes in hex.
 */
export function outputRecordLines(records: readonly OutputRecord[]): { text: string; title: string }[] {
  const groups = new Map<string, OutputRecord[]>();
  for (const r of records) {
    const k = `${r.kind}\0${r.map}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const sizes = new Set(g.map((r) => r.bytes));
    const total = g.reduce((n, r) => n + r.bytes, 0);
    const size = g.length === 1 ? plural(first.bytes, 'byte') : sizes.size === 1 ? `${plural(first.bytes, 'byte')} each` : `${plural(total, 'byte')} in all`;
    const what = first.kind === 'ringbuf' ? 'ring buffer record' : 'perf event record';
    const text = `${plural(g.length, what)} (${first.map}, ${size})${first.kind === 'perf' ? ': no reader in this run, the helper returned -ENOENT' : ''}`;
    const title = first.head ? `${g.length > 1 ? 'first record, ' : ''}${first.bytes > first.head.length / 2 ? `first ${first.head.length / 2} bytes` : 'bytes'}: ${first.head}` : 'no bytes';
    return { text, title };
  });
}

/**
 * What changed since a run, as its stale notices name it (`Stale: <what> changed since this run`): `stale` is
 * staleWhat's answer (`xdp_filter.c`, `the map seed file blocklist.json`), or true when that is not known.
 */
export function staleChanged(stale: string | boolean): string {
  return typeof stale === 'string' && stale ? stale : 'the file or the settings';
}

/**
 * Where packet `index` (numbered from 0, as the CLI's table, jsonl's `packet`, `frame.number`, test files and launch
 * configurations number it) stands in its capture, counted from 1 as Wireshark and tshark count frames: "the capture's
 * 2nd packet" for #1.
 */
export function captureOrdinal(index: number): string {
  const n = index + 1;
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `the capture's ${count(n)}${suffix} packet`;
}

/** Page nodes for a virtualised list: [start, end) ranges of at most `size`. */
export function pages(total: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += size) out.push([s, Math.min(total, s + size)]);
  return out;
}

/** XDP programs in C source: functions following a SEC("xdp...") annotation, with their 0-based line. */
export function findXdpFunctions(text: string): { name: string; line: number; section: string }[] {
  const out: { name: string; line: number; section: string }[] = [];
  const re = /\b(?:SEC|__section)\s*\(\s*"(xdp[^"]*)"\s*\)\s*(?:(?:static|inline|__always_inline|int|__u32|long|unsigned)\s+)*(\w+)\s*\(/g;
  for (let m; (m = re.exec(text)); ) {
    const at = m.index + m[0].lastIndexOf(m[2]!);
    out.push({ name: m[2]!, section: m[1]!, line: text.slice(0, at).split('\n').length - 1 });
  }
  return out;
}

/** Whether a C document holds an XDP program (the same test the server uses before compiling). */
export function isXdpSource(text: string): boolean {
  return /\bSEC\s*\(\s*"xdp|__section\s*\(\s*"xdp|\bxdp_md\b|\bXDP_(PASS|DROP|TX|REDIRECT|ABORTED)\b/.test(text);
}

// Notifications without a button: VS Code draws them on one line, cut with an ellipsis, so each fits one (about 55
// characters of the toast's 450 pixels).

/**
 * A run the user cancelled: how many packets ran, and that every count is of those only (shown with a button, so that
 * VS Code shows it whole).
 */
export function cancelledText(packets: number): string {
  if (packets === 0) return 'XDP: run cancelled before its first packet.';
  return `XDP: run cancelled after ${plural(packets, 'packet')}: the counts are of ${packets === 1 ? 'it' : 'those'} only.`;
}

/** Above the rows of a cancelled run: the rest of the capture did not run. */
export function cancelledNote(s: Pick<RunSummary, 'cancelled' | 'packets' | 'capture'>): string | undefined {
  if (!s.cancelled) return undefined;
  return `Cancelled after ${plural(s.packets, 'packet')}: the rest of ${s.capture.split(/[\\/]/).pop()} did not run.`;
}

/** XDP: Output Captures when every output capture of the last run is empty. */
export const NO_OUTPUT_PACKETS = "XDP: the last run's output captures are empty.";

/** XDP: Copy Executed Path done. */
export function executedPathCopied(index: number): string {
  return `XDP: copied the executed path of packet #${index}.`;
}

/** Copy path of XDP: Output Captures (the path is the quick pick's title's file). */
export const PATH_COPIED = 'XDP: path copied to the clipboard.';
