// `xdp-lens diff OLD NEW CAPTURE`: two versions of a program run side by side on the same capture, each with its own
// session and driver (same seed, clock, map seed and driver configuration), and the packets whose action, outcome,
// exit line or output bytes changed, then the maps that ended differently. For code review and CI: exit status 1
// when anything changed.
//
// Exit lines are compared through a line mapping of the two sources (the longest common subsequence of their lines),
// so a line inserted above a return does not make every packet "changed": a packet's exit changed when the old exit
// line does not map to the new one.
import { entryText, objectMapFormats, type MapFormat } from './btf-format.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { Session, XdpLensError, loadProgramFileWithObject, type LoadOptions } from './session.ts';
import { Driver, type DriverPacket } from './driver/rx.ts';
import { PROFILES, type DriverMode } from './driver/profiles.ts';
import { rssQueueOf } from './driver/rss.ts';
import { openCapture, CaptureError, nothingRanError, frameLengthNotRun } from './net/capture.ts';
import { summarize } from './net/dissect.ts';
import { ReturnLines } from './return-lines.ts';
import { INPUT_LIMITS, readInputText } from './input.ts';
import type { MapsJson } from './vm/map-json.ts';
import type { LoadedObject } from './elf/types.ts';

export interface DiffSideResult {
  action: string;
  outcome: string;
  retval: number;
  /** The line the packet left through (return statement for C sources, else the exit instruction), 0 when unknown. */
  line: number;
  /** The packet from data to data_end after the program, hex. */
  data: string;
  fault?: string;
  /** Old side only, C sources: the exit line as numbered in the new source (0 when that line is gone or changed). */
  lineInNew?: number;
}

export interface PacketChange {
  packet: number;
  summary: string;
  /** What changed: action, outcome, line, data. */
  changed: ('action' | 'outcome' | 'line' | 'data')[];
  old: DiffSideResult;
  new: DiffSideResult;
}

export interface MapChange {
  map: string;
  /** Absent for a map only one side has. */
  key?: string;
  old?: string;
  new?: string;
  /** 'added' / 'removed': the map exists on one side only. */
  note?: string;
  /** The change decoded through the maps' BTF (each side's value through its own object's types): `proto_count[6] 3 -> 4`. */
  text?: string;
}

export interface DiffResult {
  old: string;
  new: string;
  capture: string;
  program: { old: string; new: string };
  packets: number;
  changed: PacketChange[];
  /** "XDP_PASS -> XDP_DROP": packets, for the actions that changed. */
  transitions: Record<string, number>;
  /** Per action: new count minus old count. */
  actionDelta: Record<string, number>;
  maps: MapChange[];
  captureError?: string;
  /** Why exit lines were not compared: one side has return lines (a C source), the other exit instructions (an object). */
  linesNote?: string;
}

export interface DiffOptions {
  program?: string;
  compile: LoadOptions;
  maps?: unknown;
  mapsFile?: string;
  seed?: number;
  budget?: number;
  mode: DriverMode;
  profile: string;
  queues: number;
  limit?: number;
  /** Display names of the two sides (e.g. `prog.c@HEAD`). */
  names?: { old: string; new: string };
  /** Called with each changed packet as it is found, so output can stream. */
  onPacket?: (c: PacketChange) => void;
}

interface Side {
  session: Session;
  driver: Driver;
  returns?: ReturnLines;
  source?: string[];
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function openSide(path: string, o: DiffOptions, what: string): Side {
  const { object } = loadProgramFileWithObject(path, o.compile);
  const profile = PROFILES[o.profile];
  if (!profile) throw new XdpLensError(`--profile is one of ${Object.keys(PROFILES).join(', ')}, not '${o.profile}'`);
  const make = (obj: typeof object) => {
    const session = new Session(obj, { program: o.program, maps: o.maps, mapsFile: o.mapsFile, seed: o.seed ?? 1, budget: o.budget, nrCpus: o.queues });
    const driver = new Driver(session, { mode: o.mode, profile, queues: o.queues, queueOf: o.queues > 1 ? rssQueueOf : undefined });
    return { session, driver };
  };
  let side: Side;
  try {
    side = make(object);
  } catch (e) {
    if (e instanceof XdpLensError) throw new XdpLensError(`${what} (${path}): ${e.message}`);
    throw e;
  }
  if (extname(path) === '.c') {
    const source = readInputText(path, 'program', INPUT_LIMITS.source);
    const t = ReturnLines.create(path, source, o.compile, make);
    if (typeof t !== 'string') {
      side.returns = t;
      side.source = source.split('\n');
    }
  }
  return side;
}

function result(side: Side, frame: Uint8Array, tsNs: bigint, r: DriverPacket): DiffSideResult {
  const ret = side.returns?.lineFor(frame, tsNs, r);
  const line = r.fault?.loc?.line ?? ret ?? r.run.exitLoc?.line ?? 0;
  return {
    action: r.action,
    outcome: r.outcome,
    retval: r.retval,
    line,
    data: hex(r.out.subarray(r.metaLen)),
    ...(r.fault ? { fault: r.fault.kind } : {}),
  };
}

/**
 * For each line of `a` (1-based), the line of `b` it stays as, or 0 when it was removed: the longest common subsequence
 * of the lines (leading and trailing runs of equal lines trimmed first, so usual edits stay cheap); then, between two
 * matched lines, a run of changed lines as long on both sides is taken as edited in place, line for line.
 */
export function lineMapping(a: string[], b: string[]): Int32Array {
  const map = lcsMapping(a, b);
  let pa = 0;
  let pb = 0;
  for (let i = 1; i <= a.length + 1; i++) {
    const j = i <= a.length ? map[i]! : b.length + 1;
    if (j === 0) continue;
    if (i - pa === j - pb) for (let k = 1; k < i - pa; k++) map[pa + k] = pb + k;
    pa = i;
    pb = j;
  }
  return map;
}

function lcsMapping(a: string[], b: string[]): Int32Array {
  const map = new Int32Array(a.length + 1);
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) {
    map[lo + 1] = lo + 1;
    lo++;
  }
  let ea = a.length;
  let eb = b.length;
  while (ea > lo && eb > lo && a[ea - 1] === b[eb - 1]) {
    map[ea] = eb;
    ea--;
    eb--;
  }
  const n = ea - lo;
  const m = eb - lo;
  if (n === 0 || m === 0) return map;
  if (n * m > 50_000_000) return map; // too different to map: the changed middle maps to nothing
  const w = m + 1;
  const dp = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] = a[lo + i] === b[lo + j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!);
    }
  }
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[lo + i] === b[lo + j]) {
      map[lo + i + 1] = lo + j + 1;
      i++;
      j++;
    } else if (dp[(i + 1) * w + j]! >= dp[i * w + j + 1]!) i++;
    else j++;
  }
  return map;
}

function mapValue(e: { value?: string; values?: string[]; program?: string; map?: string }): string {
  return e.value ?? e.values?.join(' ') ?? e.program ?? e.map ?? '';
}

/**
 * Global-data maps are named after the object (`old.rodata`, `new.rodata`: libpcap's first 8 characters of the object
 * name, then the section): compared under the section name alone, so two objects' `.rodata` meet.
 */
function byRole(m: MapsJson): MapsJson {
  const out: MapsJson = {};
  for (const [name, entries] of Object.entries(m)) out[name.replace(/^[^.]*(?=\.(?:rodata|data|bss|kconfig)(?:\.|$))/, '')] = entries;
  return out;
}

/** The maps' formatters by the names byRole gives them. */
function roleFormats(obj: LoadedObject): (role: string) => MapFormat | undefined {
  const byName = objectMapFormats(obj);
  const names = new Map(obj.maps.map((m) => [Object.keys(byRole({ [m.name]: [] }))[0]!, m.name]));
  return (role) => {
    const name = names.get(role);
    return name !== undefined ? byName(name) : undefined;
  };
}

/**
 * The final maps' differences, entry by entry. Global-data maps are compared by section (see byRole). With the two
 * objects, each change also reads decoded through their BTF (`text`).
 */
export function diffMaps(a0: MapsJson, b0: MapsJson, objs?: { old: LoadedObject; new: LoadedObject }): MapChange[] {
  const a = byRole(a0);
  const b = byRole(b0);
  const fa = objs ? roleFormats(objs.old) : undefined;
  const fb = objs ? roleFormats(objs.new) : undefined;
  const decode = (c: MapChange): MapChange => {
    const f = fb?.(c.map) ?? fa?.(c.map);
    if (!f?.typed || c.key === undefined) return c;
    const oldE = a[c.map]?.find((e) => e.key === c.key);
    const newE = b[c.map]?.find((e) => e.key === c.key);
    const key = (newE ? entryText(fb?.(c.map) ?? f, newE) : oldE ? entryText(fa?.(c.map) ?? f, oldE) : undefined)?.key ?? c.key;
    const ov = oldE ? entryText(fa?.(c.map) ?? f, oldE).value : undefined;
    const nv = newE ? entryText(fb?.(c.map) ?? f, newE).value : undefined;
    return { ...c, text: `${c.map}[${key}] ${ov ?? '(none)'} -> ${nv ?? '(none)'}` };
  };
  const out: MapChange[] = [];
  for (const name of Object.keys(a)) if (!(name in b)) out.push({ map: name, note: 'removed' });
  for (const name of Object.keys(b)) if (!(name in a)) out.push({ map: name, note: 'added' });
  for (const name of Object.keys(a)) {
    if (!(name in b)) continue;
    const old = new Map(a[name]!.map((e) => [e.key, mapValue(e)]));
    const now = new Map(b[name]!.map((e) => [e.key, mapValue(e)]));
    for (const [key, v] of old) if (now.get(key) !== v) out.push({ map: name, key, old: v, ...(now.has(key) ? { new: now.get(key) } : {}) });
    for (const [key, v] of now) if (!old.has(key)) out.push({ map: name, key, new: v });
  }
  return objs ? out.map(decode) : out;
}

export function diffPrograms(oldPath: string, newPath: string, capture: string, o: DiffOptions): DiffResult {
  const a = openSide(oldPath, o, 'the old program');
  const b = openSide(newPath, o, 'the new program');
  const lines = a.source && b.source ? lineMapping(a.source, b.source) : undefined;
  // A C source's exit line is its return statement; an object's is the exit instruction's line (clang -O2 merges a
  // function's returns into one). The two are different things, so a packet's line changed only between alike sides.
  const compareLines = !!a.returns === !!b.returns;
  const linesNote = compareLines ? undefined : `exit lines not compared: ${a.returns ? 'the old' : 'the new'} program has return lines (a C source), ${a.returns ? 'the new' : 'the old'} only exit instructions`;
  const reader = openCapture(capture, { otherLinks: true });
  const changed: PacketChange[] = [];
  const transitions = new Map<string, number>();
  const delta = new Map<string, number>();
  let packets = 0;
  let notRun = 0;
  let captureError: string | undefined;
  try {
    for (;;) {
      if (o.limit !== undefined && packets >= o.limit) break;
      let pkt;
      try {
        pkt = reader.next();
      } catch (e) {
        if (e instanceof CaptureError) {
          captureError = e.message;
          break;
        }
        throw e;
      }
      if (!pkt) break;
      if (pkt.otherLink) notRun++;
      // Sent by the capturing host, not an Ethernet link, or a length no NIC hands XDP: XDP never runs on it (as `run` leaves it out).
      if (pkt.outgoing || pkt.otherLink || frameLengthNotRun(pkt.frame.length)) continue;
      packets++;
      const ra = a.driver.receive(pkt.frame.slice(), pkt.tsNs);
      const x = result(a, pkt.frame, pkt.tsNs, ra);
      const rb = b.driver.receive(pkt.frame.slice(), pkt.tsNs);
      const y = result(b, pkt.frame, pkt.tsNs, rb);
      delta.set(x.action, (delta.get(x.action) ?? 0) - 1);
      delta.set(y.action, (delta.get(y.action) ?? 0) + 1);
      const what: PacketChange['changed'] = [];
      if (x.action !== y.action) what.push('action');
      if (x.outcome !== y.outcome) what.push('outcome');
      // Lines: the old line as it stands in the new source (when both are C sources), else the numbers themselves.
      const movedTo = lines ? (x.line > 0 && x.line < lines.length ? lines[x.line]! : 0) : x.line;
      if (compareLines && movedTo !== y.line) what.push('line');
      if (x.data !== y.data) what.push('data');
      if (!what.length) continue;
      if (x.action !== y.action) {
        const k = `${x.action} -> ${y.action}`;
        transitions.set(k, (transitions.get(k) ?? 0) + 1);
      }
      const c: PacketChange = { packet: pkt.index, summary: summarize(pkt.frame), changed: what, old: lines ? { ...x, lineInNew: movedTo } : x, new: y };
      changed.push(c);
      o.onPacket?.(c);
    }
  } finally {
    reader.close();
    a.driver.finish();
    b.driver.finish();
    a.returns?.finish();
    b.returns?.finish();
  }
  // Packets, and not one could run (as `run`): the wrong capture.
  if (!packets && notRun && !captureError) captureError = nothingRanError(capture, notRun, reader.notRunLinks);
  return {
    old: o.names?.old ?? oldPath,
    new: o.names?.new ?? newPath,
    capture,
    program: { old: a.session.program.name, new: b.session.program.name },
    packets,
    changed,
    transitions: Object.fromEntries([...transitions].sort((p, q) => q[1] - p[1] || p[0].localeCompare(q[0]))),
    actionDelta: Object.fromEntries([...delta].filter(([, n]) => n !== 0).sort((p, q) => p[0].localeCompare(q[0]))),
    maps: diffMaps(a.session.mapsJson({ all: true }), b.session.mapsJson({ all: true }), { old: a.session.obj, new: b.session.obj }),
    ...(captureError ? { captureError } : {}),
    ...(linesNote ? { linesNote } : {}),
  };
}

/**
 * The file as it was at a git revision, written to a temporary directory under its own name; includes of the file's
 * own directory keep working through -I (headers are taken as they are now).
 */
export function fileAtRevision(file: string, rev: string): { path: string; cleanup: () => void } {
  const abs = resolve(file);
  const top = spawnSync('git', ['-C', dirname(abs), 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  if (top.status !== 0) throw new XdpLensError(`--rev ${rev}: ${file} is not in a git work tree (${top.stderr.trim() || 'git failed'})`);
  const rel = relative(top.stdout.trim(), abs).split('\\').join('/');
  const show = spawnSync('git', ['-C', top.stdout.trim(), 'show', `${rev}:${rel}`], { encoding: 'buffer', maxBuffer: INPUT_LIMITS.source + 1 });
  if (show.status !== 0) throw new XdpLensError(`--rev ${rev}: cannot read ${rel} at ${rev}: ${show.stderr.toString().trim()}`);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-diff-'));
  const path = join(dir, basename(abs));
  writeFileSync(path, show.stdout);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The change of each action's count at each line of the new source: "+12 XDP_DROP, -12 XDP_PASS" at a return. A changed
 * packet adds one at its new exit line and takes one from its old exit line as numbered in the new source (when that
 * line still exists); lines where everything cancels out are left out.
 */
export function lineDeltas(r: Pick<DiffResult, 'changed'>): { line: number; delta: Record<string, number> }[] {
  const at = new Map<number, Map<string, number>>();
  const add = (line: number, action: string, n: number) => {
    if (line <= 0) return;
    let m = at.get(line);
    if (!m) at.set(line, (m = new Map()));
    m.set(action, (m.get(action) ?? 0) + n);
  };
  for (const c of r.changed) {
    add(c.new.line, c.new.action, 1);
    add(c.old.lineInNew ?? c.old.line, c.old.action, -1);
  }
  const out: { line: number; delta: Record<string, number> }[] = [];
  for (const [line, m] of [...at].sort((a, b) => a[0] - b[0])) {
    const delta = Object.fromEntries([...m].filter(([, n]) => n !== 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
    if (Object.keys(delta).length) out.push({ line, delta });
  }
  return out;
}

/** "+12 XDP_DROP, -12 XDP_PASS". */
export function formatDelta(delta: Record<string, number>): string {
  return Object.entries(delta).map(([a, n]) => `${n > 0 ? '+' : ''}${n} ${a}`).join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// Text

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function formatDiffRow(c: PacketChange): string {
  let summary = c.summary;
  if (summary.length > 50) summary = `${summary.slice(0, 49)}…`;
  const side = (s: DiffSideResult) => `${s.action}${s.outcome.includes(':') ? ` (${s.outcome})` : ''}${s.line ? ` :${s.line}` : ''}`;
  let line = `${String(c.packet).padStart(6)}  ${summary.padEnd(50)}  ${side(c.old)}  ->  ${side(c.new)}`;
  if (c.changed.includes('data')) line += `\n        bytes changed${c.old.data.length !== c.new.data.length ? ` (length ${c.old.data.length / 2} -> ${c.new.data.length / 2})` : ''}`;
  return line;
}

export function formatDiffSummary(r: DiffResult): string[] {
  const out: string[] = [];
  out.push(`${plural(r.changed.length, 'packet')} of ${r.packets} changed`);
  if (r.linesNote) out.push(r.linesNote);
  const t = Object.entries(r.transitions);
  if (t.length) out.push(`actions: ${t.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const d = Object.entries(r.actionDelta);
  if (d.length) out.push(`counts: ${d.map(([a, n]) => `${n > 0 ? '+' : ''}${n} ${a}`).join(', ')}`);
  if (r.maps.length) {
    out.push(`maps: ${plural(r.maps.length, 'difference')}`);
    for (const m of r.maps.slice(0, 50)) {
      out.push(m.note ? `  ${m.map}: only in the ${m.note === 'added' ? 'new' : 'old'} program` : m.text ? `  ${m.text}` : `  ${m.map}[${m.key}]: ${m.old ?? '(none)'} -> ${m.new ?? '(none)'}`);
    }
    if (r.maps.length > 50) out.push(`  ... and ${r.maps.length - 50} more (--format jsonl lists them all)`);
  } else out.push('maps: no differences');
  return out;
}
