// Runs the cases of a test file: one session and driver for the program (the map state carried from case to case,
// a new one for a case marked `fresh`), each case's packet through the modelled driver, then its expectations checked
// one by one. A failure names what was expected and what happened, field by field for packets and entry by entry for
// maps, at the expectation's line in the test file. With `kernel`, the same cases also go through BPF_PROG_TEST_RUN
// (kernel-compare.ts: a private bpffs, maps seeded alike) and a case the two answer differently fails as such.
import { writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { PcapWriter } from '../net/pcap-writer.ts';
import { Session, XdpLensError, loadProgramFileWithObject, type LoadOptions } from '../session.ts';
import { Driver, type DriverPacket } from '../driver/rx.ts';
import { PROFILES } from '../driver/profiles.ts';
import { ReturnLines } from '../return-lines.ts';
import { dissectFields, FIELDS } from '../filter.ts';
import { compareWithKernel } from '../kernel-compare.ts';
import { MapType, type LoadedObject } from '../elf/types.ts';
import type { MapJsonEntry, MapsJson } from '../vm/map-json.ts';
import { INPUT_LIMITS, readInputFile, readInputJson, readInputText } from '../input.ts';
import { parseHex, parseIpv4, parseIpv6, parseMac } from './packet.ts';
import { TestFileError, toPlain, type Pos, type YNode } from './yaml.ts';
import { btfOfMap, decodeLike, encodeBtf, mapBtfTypes, type MapBtf } from './btf-values.ts';
import type { Btf } from '../elf/btf.ts';
import { parseTestFile, type MapsSpec, type TestCase, type TestFile } from './model.ts';

export interface Failure {
  /** What was checked: 'action', 'packet ip.ttl', 'map proto_count key 04000000', 'kernel'. */
  what: string;
  expected: string;
  actual: string;
  pos: Pos;
}

export interface Observed {
  action: string;
  outcome: string;
  retval: number;
  exitLine?: number;
  fault?: string;
  printk: string[];
  /** The packet from data to data_end after the program, hex. */
  data: string;
}

export interface CaseResult {
  name: string;
  pos: Pos;
  status: 'pass' | 'fail';
  failures: Failure[];
  actual: Observed;
  /** With --kernel: what BPF_PROG_TEST_RUN returned, and whether it agreed with the simulator. */
  kernel?: { action: string; retval: number; data: string; agrees: boolean } | { error: string };
}

export interface FileResult {
  file: string;
  program?: string;
  cases: CaseResult[];
  /** The file could not be run: malformed (with its position) or its program does not load. */
  error?: { message: string; pos?: Pos };
  /** Notes for the user (e.g. why the kernel was not asked). */
  notes: string[];
}

export interface RunOptions {
  kernel?: boolean;
  /** Overrides program.engine. */
  engine?: 'interp' | 'compiled';
  /** Run only these cases (by name). */
  only?: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** `// xdp-test: NAME` labels of a source: the line of the return they mark (the comment's line, or the next line). */
export function exitLabels(source: string): Map<string, number> {
  const lines = source.split('\n');
  const out = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /\/[/*]\s*xdp-test:\s*([A-Za-z0-9_.-]+)/.exec(l);
    if (!m) return;
    const before = l.slice(0, m.index).trim();
    let line = i + 1;
    if (!before) for (let j = i + 1; j < lines.length; j++) if (lines[j]!.trim()) { line = j + 1; break; }
    out.set(m[1]!, line);
  });
  return out;
}

/** Bytes of a map key or value as written: hex text, a whole number (little-endian, the map's size), an IPv4
 *  address (4 bytes, network order), a MAC (6 bytes) or an IPv6 address (16 bytes). */
export function entryBytes(n: YNode, size: number, what: string, file: string, typed?: { btf: Btf; id?: number }): Uint8Array {
  const fail = (d: string): never => {
    throw new TestFileError(file, n.pos, `${what}: ${d}`);
  };
  if (n.kind !== 'scalar' || n.value === null || typeof n.value === 'boolean') {
    if (n.kind !== 'scalar' && typed?.id) return encodeBtf(typed.btf, typed.id, n, size, what, file);
    return fail(n.kind !== 'scalar' ? 'fields by name need the map\'s BTF key/value type (compile with -g, a BTF-defined map): write hex bytes or a number' : 'must be hex bytes or a number');
  }
  if (typeof n.value === 'number' || /^(0x[0-9a-f]+|[0-9]+)$/i.test(n.source) && typeof n.value !== 'string') {
    if (!Number.isInteger(n.value as number) && !/^0x/i.test(n.source)) fail('must be a whole number');
    if (size > 8) fail(`a number fits keys and values of up to 8 bytes; this one has ${size}: write hex bytes`);
    let v = BigInt(n.source.replace(/_/g, ''));
    if (v < 0n || v >= 1n << BigInt(size * 8)) fail(`${n.source} does not fit in ${size} byte${size === 1 ? '' : 's'}`);
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++, v >>= 8n) b[i] = Number(v & 0xffn);
    return b;
  }
  const s = String(n.value);
  const b = (size === 4 && parseIpv4(s)) || (size === 6 && parseMac(s)) || (size === 16 && s.includes(':') && parseIpv6(s)) || parseHex(s);
  if (!b) return fail(`'${s}' is not hex bytes, a number or an address`);
  if (b.length !== size) fail(`${b.length} byte${b.length === 1 ? '' : 's'} given, the map's are ${size}`);
  return b;
}

function leNumber(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** A map by the name a test file gives it: its own name, or a global-data section (`.bss`, `rodata`) of the object. */
function namedMap<T extends { name: string; kind: 'user' | 'global' }>(defs: T[], name: string): T | undefined {
  return defs.find((d) => d.name === name) ?? defs.find((d) => d.kind === 'global' && d.name.endsWith(name.startsWith('.') ? name : `.${name}`));
}

/** The file's `maps` as --maps JSON for this object (sizes from the map definitions). */
export function mapsJsonOf(spec: MapsSpec, obj: LoadedObject, file: string, types: Map<string, MapBtf> = new Map()): MapsJson {
  const out: MapsJson = {};
  for (const m of spec.maps) {
    const def = namedMap(obj.maps, m.name);
    if (!def) throw new TestFileError(file, m.pos, `no map named '${m.name}' in the program (maps: ${obj.maps.map((d) => d.name).join(', ') || 'none'})`);
    out[def.name] = m.entries.map((e, i): MapJsonEntry => {
      const at = `maps.${m.name}[${i}]`;
      const bt = btfOfMap(types, def.name, def.kind);
      const kt = bt && { btf: bt.btf, id: bt.key };
      const vt = bt && { btf: bt.btf, id: bt.value };
      const key = hex(entryBytes(e.key, def.keySize, `${at}.key`, file, kt));
      if (e.value) return { key, value: hex(entryBytes(e.value, def.valueSize, `${at}.value`, file, vt)) };
      if (e.values) {
        if (e.values.kind !== 'seq') throw new TestFileError(file, e.values.pos, `${at}.values must be a list, one value per CPU`);
        return { key, values: e.values.items.map((v, j) => hex(entryBytes(v, def.valueSize, `${at}.values[${j}]`, file, vt))) };
      }
      return { ...(e.raw as object), key } as MapJsonEntry;
    });
  }
  return out;
}

/** A value in YAML flow style, as a test file would write it: {proto: 6, packets: 1}. */
function flow(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')}}`;
  return typeof v === 'string' && !/^[\w.:-]+$/.test(v) ? JSON.stringify(v) : String(v);
}

/** Runs one test file (parse problems become the result's error, never an exception). */
export function runTestFile(file: string, opts: RunOptions = {}): FileResult {
  let tf: TestFile;
  try {
    tf = parseTestFile(file);
  } catch (e) {
    if (e instanceof TestFileError) return { file, cases: [], error: { message: e.message, pos: e.pos }, notes: [] };
    if (e instanceof XdpLensError || (e as { name?: string }).name === 'InputFileError') return { file, cases: [], error: { message: (e as Error).message }, notes: [] };
    throw e;
  }
  try {
    return runParsed(tf, opts);
  } catch (e) {
    if (e instanceof TestFileError) return { file, cases: [], error: { message: e.message, pos: e.pos }, notes: [] };
    if (e instanceof XdpLensError || (e as { name?: string }).name === 'InputFileError') return { file, cases: [], error: { message: `${file}:${tf.programPos.line}:${tf.programPos.column}: ${(e as Error).message}`, pos: tf.programPos }, notes: [] };
    throw e;
  }
}

interface Side {
  session: Session;
  driver: Driver;
  returns?: ReturnLines;
}

export function runParsed(tf: TestFile, opts: RunOptions = {}): FileResult {
  const p = tf.program;
  const compile: LoadOptions = { includeDirs: p.include, clangFlags: p.cflags, btf: p.btf };
  const { object, objectPath } = loadProgramFileWithObject(p.file, compile);
  const types = mapBtfTypes(readInputFile(objectPath, 'program', INPUT_LIMITS.object));
  const maps = tf.maps ? mapsJsonOf(tf.maps, object, tf.file, types) : tf.mapsFile ? readMapsFile(tf.mapsFile) : undefined;
  const profile = PROFILES[p.profile]!;
  const source = extname(p.file) === '.c' ? readInputText(p.file, 'program', INPUT_LIMITS.source) : undefined;
  const labels = source ? exitLabels(source) : new Map<string, number>();
  const notes: string[] = [];
  const make = (obj: LoadedObject) => {
    const session = new Session(obj, { program: p.name, maps, mapsFile: tf.mapsFile ?? tf.file, seed: p.seed, budget: p.budget, engine: opts.engine ?? p.engine });
    return { session, driver: new Driver(session, { mode: p.driver, profile, queues: 1 }) };
  };
  let returnsNote = false;
  const open = (): Side => {
    let side: Side;
    try {
      side = make(object);
    } catch (e) {
      if (e instanceof XdpLensError && tf.maps) throw new TestFileError(tf.file, tf.maps.pos, e.message);
      throw e;
    }
    if (source) {
      const t = ReturnLines.create(p.file, source, { includeDirs: p.include, flags: p.cflags, btf: p.btf }, make);
      if (typeof t === 'string') {
        if (!returnsNote) notes.push(`return lines unavailable, exits are the exit instruction's line: ${t}`);
        returnsNote = true;
      } else side.returns = t;
    }
    return side;
  };
  // Labels and map names are checked before anything runs: a test file that names what does not exist is malformed.
  for (const c of tf.cases) {
    const l = c.expect.exit?.label;
    if (l !== undefined && !labels.has(l)) {
      throw new TestFileError(tf.file, c.expect.exit!.pos, source ? `no '// xdp-test: ${l}' label in ${p.file}${labels.size ? ` (labels: ${[...labels.keys()].join(', ')})` : ''}` : 'exit labels need the C source (program.file is an object): give a line number');
    }
    for (const f of c.expect.packet?.fields ?? []) {
      if (!(f.field in FIELDS)) throw new TestFileError(tf.file, f.pos, `unknown packet field '${f.name}' (fields are the display filter's: eth.dst, ip.ttl, tcp.dstport, ...)`);
    }
    for (const m of c.expect.maps?.maps ?? []) {
      if (!namedMap(object.maps, m.name))
        throw new TestFileError(tf.file, m.pos, `no map named '${m.name}' in the program (maps: ${object.maps.map((d) => d.name).join(', ') || 'none'})`);
    }
  }
  const selected = opts.only ? tf.cases.filter((c) => opts.only!.includes(c.name)) : tf.cases;
  let side: Side | undefined;
  const results: CaseResult[] = [];
  const sides: Side[] = [];
  try {
    for (const c of tf.cases) {
      if (!side || c.fresh) {
        side = open();
        sides.push(side);
      }
      const r = side.driver.receive(c.packet.slice(), 0n);
      if (!selected.includes(c)) continue;
      const line = r.fault?.loc?.line ?? side.returns?.lineFor(c.packet.slice(), 0n, r) ?? r.run.exitLoc?.line;
      const actual = observe(r, line);
      const failures = check(c, actual, labels, side.session, tf.file, types);
      results.push({ name: c.name, pos: c.pos, status: failures.length ? 'fail' : 'pass', failures, actual });
    }
  } finally {
    for (const s of sides) {
      s.driver.finish();
      s.returns?.finish();
    }
  }
  const program = side?.session.program.name ?? p.name;
  if (opts.kernel) kernelRuns(tf, objectPath, object, maps, program ?? object.programs[0]?.name ?? "", results, notes);
  return { file: tf.file, program, cases: results, notes };
}

function readMapsFile(path: string): unknown {
  return readInputJson(path, 'maps file', INPUT_LIMITS.maps);
}

function observe(r: DriverPacket, line: number | undefined): Observed {
  return {
    action: r.action,
    outcome: r.outcome,
    retval: r.retval,
    ...(line ? { exitLine: line } : {}),
    ...(r.fault ? { fault: r.fault.kind } : {}),
    printk: r.run.printk,
    data: hex(r.out.subarray(r.metaLen)),
  };
}

/** A dissected field's value as text (addresses as people write them). */
function showField(field: string, v: number | string): string {
  const t = FIELDS[field]?.type;
  if (t === 'ipv4' && typeof v === 'number') return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
  if (t === 'ipv6' && typeof v === 'string') return (v.match(/..../g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return String(v);
}

/** The expected value of a field in the dissector's representation, or a message saying why it cannot be one. */
function fieldValue(field: string, n: YNode): number | string | null | { error: string } {
  if (n.kind !== 'scalar') return { error: 'must be a single value' };
  if (n.value === null) return null;
  const t = FIELDS[field]!.type;
  const s = typeof n.value === 'string' ? n.value : n.source;
  switch (t) {
    case 'uint':
    case 'none': {
      if (typeof n.value === 'boolean') return n.value ? 1 : 0;
      const v = Number(s);
      return Number.isInteger(v) && v >= 0 ? v : { error: `must be a whole number, not '${s}'` };
    }
    case 'ipv4': {
      const b = parseIpv4(s);
      return b ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : { error: `must be an IPv4 address, not '${s}'` };
    }
    case 'ipv6': {
      const b = parseIpv6(s);
      return b ? hex(b) : { error: `must be an IPv6 address, not '${s}'` };
    }
    case 'mac': {
      const b = parseMac(s);
      return b ? Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':') : { error: `must be a MAC address, not '${s}'` };
    }
    default:
      return s;
  }
}

/** Every field of two frames that differs, as failures (the whole-packet expectation's diff). */
function packetDiff(expected: Uint8Array, actual: Uint8Array, pos: Pos): Failure[] {
  const a = dissectFields(expected);
  const b = dissectFields(actual);
  const out: Failure[] = [];
  const show = (f: string, l: (number | string)[] | undefined) => (l ? l.map((v) => showField(f, v)).join(', ') : 'absent');
  for (const f of new Set([...a.keys(), ...b.keys()])) {
    if (f.endsWith('.addr') || f.endsWith('.port')) continue; // the src/dst fields say it
    const x = show(f, a.get(f));
    const y = show(f, b.get(f));
    if (x !== y) out.push({ what: `packet ${f}`, expected: x, actual: y, pos });
  }
  if (expected.length !== actual.length) out.push({ what: 'packet length', expected: String(expected.length), actual: String(actual.length), pos });
  const n = Math.min(expected.length, actual.length);
  let first = -1;
  for (let i = 0; i < n; i++) if (expected[i] !== actual[i]) { first = i; break; }
  if (first >= 0) {
    const win = (b: Uint8Array) => hex(b.subarray(first, Math.min(b.length, first + 16))).replace(/(..)/g, '$1 ').trim();
    out.push({ what: `packet bytes from offset ${first}`, expected: win(expected), actual: win(actual), pos });
  }
  return out;
}

function check(c: TestCase, o: Observed, labels: Map<string, number>, session: Session, file: string, types: Map<string, MapBtf>): Failure[] {
  const e = c.expect;
  const f: Failure[] = [];
  if (e.action && e.action.value !== o.action) f.push({ what: 'action', expected: e.action.value, actual: o.action, pos: e.action.pos });
  if (e.retval && e.retval.value !== o.retval) f.push({ what: 'retval', expected: String(e.retval.value), actual: String(o.retval), pos: e.retval.pos });
  if (e.outcome && e.outcome.value !== o.outcome && e.outcome.value !== o.outcome.split(':')[0]) f.push({ what: 'outcome', expected: e.outcome.value, actual: o.outcome, pos: e.outcome.pos });
  if (e.fault) {
    const want = e.fault.value;
    const ok = want === 'none' ? !o.fault : want === 'any' ? !!o.fault : o.fault === want;
    if (!ok) f.push({ what: 'fault', expected: want, actual: o.fault ?? 'none', pos: e.fault.pos });
  }
  if (e.exit) {
    const line = e.exit.line ?? labels.get(e.exit.label!)!;
    if (line !== o.exitLine) f.push({ what: 'exit', expected: e.exit.label ? `line ${line} (${e.exit.label})` : `line ${line}`, actual: o.exitLine ? `line ${o.exitLine}${[...labels].filter(([, l]) => l === o.exitLine).map(([n]) => ` (${n})`).join('')}` : 'unknown', pos: e.exit.pos });
  }
  if (e.printk) {
    const want = e.printk.value;
    if (want.length !== o.printk.length || want.some((l, i) => l !== o.printk[i])) f.push({ what: 'printk', expected: want.map((l) => JSON.stringify(l)).join(', ') || 'nothing', actual: o.printk.map((l) => JSON.stringify(l)).join(', ') || 'nothing', pos: e.printk.pos });
  }
  if (e.packet) {
    const data = Uint8Array.from(Buffer.from(o.data, 'hex'));
    if (e.packet.bytes) {
      if (hex(e.packet.bytes) !== o.data) f.push(...packetDiff(e.packet.bytes, data, e.packet.pos));
    } else {
      const fields = dissectFields(data);
      for (const x of e.packet.fields ?? []) {
        const want = fieldValue(x.field, x.value);
        if (want !== null && typeof want === 'object') throw new TestFileError(file, x.value.pos, `expect.packet.${x.name} ${want.error}`);
        const got = fields.get(x.field);
        const ok = want === null ? !got : !!got && got.some((v) => v === want || (typeof v === 'string' && typeof want === 'string' && v.toLowerCase() === want.toLowerCase()));
        if (!ok) f.push({ what: `packet ${x.name}`, expected: want === null ? 'absent' : showField(x.field, want), actual: got ? got.map((v) => showField(x.field, v)).join(', ') : 'absent', pos: x.pos });
      }
    }
  }
  if (e.maps) {
    const dump = session.mapsJson({ all: true });
    for (const m of e.maps.maps) {
      const def = namedMap(session.machine.maps.map((x) => x.def), m.name)!;
      const entries = new Map((dump[def.name] ?? []).map((x) => [x.key, x]));
      const isArray = def.type === MapType.ARRAY || def.type === MapType.PERCPU_ARRAY || def.kind === 'global';
      const bt = btfOfMap(types, def.name, def.kind);
      const kt = bt && { btf: bt.btf, id: bt.key };
      const vt = bt && { btf: bt.btf, id: bt.value };
      m.entries.forEach((x, i) => {
        const at = `expect.maps.${m.name}[${i}]`;
        const keyB = entryBytes(x.key, def.keySize, `${at}.key`, file, kt);
        const key = hex(keyB);
        const keyText = x.key.kind === 'scalar' && x.key.value !== null ? String(x.key.value) : x.key.kind !== 'scalar' ? flow(toPlain(x.key)) : key;
        const got = entries.get(key) ?? (isArray && (def.kind === 'global' || leNumber(keyB) < BigInt(def.maxEntries)) ? { key, value: '00'.repeat(def.valueSize) } : undefined);
        const asWritten = (n: YNode | undefined, h: string | undefined) => {
          if (h === undefined) return 'absent';
          if (n?.kind === 'scalar' && typeof n.value === 'number' && def.valueSize <= 8) return String(leNumber(Uint8Array.from(Buffer.from(h, 'hex'))));
          if (n && n.kind !== 'scalar' && vt?.id) return flow(decodeLike(vt.btf, vt.id, n, Uint8Array.from(Buffer.from(h, 'hex'))));
          return h;
        };
        const what = `map ${m.name} key ${keyText}`;
        if (x.value && x.value.kind === 'scalar' && x.value.value === null) {
          if (got && !isArray) f.push({ what, expected: 'absent', actual: got.value ?? got.values?.join(' ') ?? 'present', pos: x.pos });
          return;
        }
        if (x.values) {
          if (x.values.kind !== 'seq') throw new TestFileError(file, x.values.pos, `${at}.values must be a list, one value per CPU`);
          const want = x.values.items.map((v, j) => hex(entryBytes(v, def.valueSize, `${at}.values[${j}]`, file, vt)));
          const have = got?.values ?? (got?.value ? [got.value] : undefined);
          if (!have || want.join(' ') !== have.join(' ')) f.push({ what, expected: want.join(' '), actual: have?.join(' ') ?? 'absent', pos: x.pos });
          return;
        }
        const want = hex(entryBytes(x.value!, def.valueSize, `${at}.value`, file, vt));
        const have = got?.value ?? got?.values;
        // A value written by field name is compared on the fields it names (the others are not expectations).
        const byField = x.value!.kind !== 'scalar' && vt?.id !== undefined;
        const same = (h: string) => (byField ? asWritten(x.value, h) === asWritten(x.value, want) : h === want);
        const ok = typeof have === 'string' ? same(have) : Array.isArray(have) ? have.every(same) : false;
        if (!ok) f.push({ what, expected: asWritten(x.value, want), actual: typeof have === 'string' ? asWritten(x.value, have) : Array.isArray(have) ? have.join(' ') : 'absent', pos: x.pos });
      });
    }
  }
  return f;
}

/** The cases again through BPF_PROG_TEST_RUN: one kernel load per run of cases that share map state. */
function kernelRuns(tf: TestFile, objectPath: string, object: LoadedObject, maps: unknown, program: string, results: CaseResult[], notes: string[]): void {
  const groups: TestCase[][] = [];
  for (const c of tf.cases) {
    if (!groups.length || c.fresh) groups.push([]);
    groups[groups.length - 1]!.push(c);
  }
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const g of groups) {
    const r = compareWithKernel(objectPath, object, g.map((c) => ({ frame: c.packet, tsNs: 0n })), { program, maps, mapsFile: tf.mapsFile ?? tf.file, seed: tf.program.seed, budget: tf.program.budget });
    if (!r.available) {
      notes.push(`the kernel was not asked: ${r.reason}`);
      for (const c of g) {
        const res = byName.get(c.name);
        if (res) res.kernel = { error: r.reason ?? 'unavailable' };
      }
      continue;
    }
    for (const n of r.notes) notes.push(n);
    r.rows.forEach((row, i) => {
      const c = g[i]!;
      const res = byName.get(c.name);
      if (!res) return;
      if (!row.kernel) {
        res.kernel = { error: row.kernelError ?? 'no result' };
        res.failures.push({ what: 'kernel', expected: 'a result from BPF_PROG_TEST_RUN', actual: row.kernelError ?? 'none', pos: c.pos });
      } else {
        const agrees = row.equal;
        res.kernel = { action: row.kernel.action, retval: row.kernel.retval, data: row.kernel.data, agrees };
        if (!agrees) {
          const parts: string[] = [];
          if (row.kernel.retval !== row.sim.retval) parts.push(`action ${row.kernel.action} (simulator ${row.sim.action})`);
          if (row.kernel.data !== row.sim.data) parts.push('output bytes differ');
          res.failures.push({ what: 'kernel and simulator differ', expected: `simulator: ${row.sim.action}`, actual: `kernel: ${parts.join(', ') || row.kernel.action}`, pos: c.pos });
        }
        if (c.expect.action && c.expect.action.value !== row.kernel.action) res.failures.push({ what: 'action (kernel)', expected: c.expect.action.value, actual: row.kernel.action, pos: c.expect.action.pos });
      }
      res.status = res.failures.length ? 'fail' : 'pass';
    });
    // The maps after the group's last case, compared by kernel-compare entry by entry.
    const last = byName.get(g[g.length - 1]!.name);
    if (last && r.mapsDiffering > 0) {
      for (const m of r.maps.filter((x) => !x.equal)) {
        for (const d of m.differences) last.failures.push({ what: `map ${m.map} (kernel and simulator differ after this case)`, expected: 'the same entry on both', actual: d, pos: last.pos });
      }
      last.status = 'fail';
    }
  }
}

/** Test files under the paths given: files as named, directories searched for `*.xdptest.yaml` / `.yml`. */
export function findTestFiles(paths: string[], list: (dir: string) => { name: string; dir: boolean }[]): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 20) return;
    for (const e of list(dir).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = `${dir}/${e.name}`;
      if (e.dir) walk(p, depth + 1);
      else if (/\.xdptest\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  for (const p of paths) {
    const entries = (() => {
      try {
        return list(p);
      } catch {
        return undefined;
      }
    })();
    if (entries) walk(p.replace(/\/+$/, ''), 0);
    else out.push(p);
  }
  return out;
}

/**
 * What the debugger needs to replay a case (`xdp-lens test FILE --export-case NAME --out-dir DIR`): a capture of the
 * case's packet preceded by the cases since the last fresh one (so the maps are as the case sees them), the initial
 * maps as --maps JSON, and the case's index in that capture.
 */
export function exportCase(file: string, name: string, dir: string): { program: string; programName?: string; capture: string; packet: number; maps?: string; driver: string } {
  const tf = parseTestFile(file);
  const i = tf.cases.findIndex((c) => c.name === name);
  if (i < 0) throw new XdpLensError(`${file} has no case named '${name}'`);
  let start = i;
  while (start > 0 && !tf.cases[start]!.fresh) start--;
  const p = tf.program;
  const capture = join(dir, 'case.pcap');
  const w = new PcapWriter(capture);
  for (let k = start; k <= i; k++) w.write(0n, tf.cases[k]!.packet);
  w.close();
  let maps: string | undefined = tf.mapsFile;
  if (tf.maps) {
    const { object, objectPath } = loadProgramFileWithObject(p.file, { includeDirs: p.include, clangFlags: p.cflags, btf: p.btf });
    maps = join(dir, 'maps.json');
    writeFileSync(maps, JSON.stringify(mapsJsonOf(tf.maps, object, tf.file, mapBtfTypes(readInputFile(objectPath, 'program', INPUT_LIMITS.object)))));
  }
  return { program: p.file, ...(p.name ? { programName: p.name } : {}), capture, packet: i - start, ...(maps ? { maps } : {}), driver: p.driver };
}
