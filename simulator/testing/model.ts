// The test file model: what `*.xdptest.yaml` says, read from the positioned YAML tree of yaml.ts, with every problem
// reported at its file:line:column. Packets are built (or read from their capture) here; map keys and values stay
// as nodes until the program is loaded, since their sizes and BTF types come from the object.
//
//   program: xdp_filter.c                 # or {file, name, cflags, include, btf, driver, profile, seed, budget, engine}
//   maps:                                 # initial contents (optional); or maps-file: seeds.json (the --maps schema)
//     blocklist: [{key: 192.0.2.66, value: 0}]
//   cases:
//     - name: telnet is dropped
//       packet: [eth, ipv4: {src: 10.0.0.2}, tcp: {dport: 23}]
//       expect: {action: XDP_DROP, exit: telnet, maps: {proto_count: [{key: 4, value: 1}]}}
import { dirname, isAbsolute, resolve } from 'node:path';
import { ACTIONS, type Action } from '../session.ts';
import { DRIVER_MODES, PROFILES, DEFAULT_PROFILE, type DriverMode } from '../driver/profiles.ts';
import { openCapture, CaptureError } from '../net/capture.ts';
import { compileFilter, FilterError, type Filter } from '../filter.ts';
import { INPUT_LIMITS, readInputText } from '../input.ts';
import { buildPacket, parseHex } from './packet.ts';
import { Reader, TestFileError, parseYaml, toPlain, type Pos, type YNode } from './yaml.ts';

export interface ProgramSpec {
  /** Absolute path of the C file or object. */
  file: string;
  name?: string;
  cflags: string[];
  include: string[];
  btf?: string;
  driver: DriverMode;
  profile: string;
  seed: number;
  budget?: number;
  engine?: 'interp' | 'compiled';
}

/** A map entry as written: key and value nodes resolved against the map once the program is loaded. */
export interface MapEntrySpec {
  pos: Pos;
  key: YNode;
  /** Absent (null) in an expectation: the key must have no entry. */
  value?: YNode;
  values?: YNode;
  /** The entry as JSON, for entries in the --maps schema's other forms (program, map, inner). */
  raw: Record<string, unknown>;
}

export interface MapsSpec {
  pos: Pos;
  maps: { name: string; pos: Pos; entries: MapEntrySpec[] }[];
}

export interface PacketExpect {
  pos: Pos;
  /** Field name as written (`ipv4.ttl`), the dissector's name (`ip.ttl`), the expected value as written. */
  fields?: { name: string; field: string; value: YNode; pos: Pos }[];
  /** The whole output packet. */
  bytes?: Uint8Array;
}

export interface Expect {
  action?: { value: Action; pos: Pos };
  outcome?: { value: string; pos: Pos };
  retval?: { value: number; pos: Pos };
  /** A line number, or a label named by a `// xdp-test: NAME` comment in the source. */
  exit?: { line?: number; label?: string; pos: Pos };
  packet?: PacketExpect;
  maps?: MapsSpec;
  printk?: { value: string[]; pos: Pos };
  /** A fault kind, 'any', or 'none'. */
  fault?: { value: string; pos: Pos };
}

export interface TestCase {
  name: string;
  pos: Pos;
  fresh: boolean;
  packet: Uint8Array;
  /** Where the packet came from, for reports: 'layers', 'hex', 'capture.pcap#3'. */
  source: string;
  expect: Expect;
}

export interface TestFile {
  file: string;
  program: ProgramSpec;
  programPos: Pos;
  maps?: MapsSpec;
  /** maps-file: a JSON file in the --maps schema. */
  mapsFile?: string;
  cases: TestCase[];
}

const TOP_KEYS = ['program', 'maps', 'maps-file', 'cases'];
const PROGRAM_KEYS = ['file', 'name', 'cflags', 'include', 'btf', 'driver', 'profile', 'seed', 'budget', 'engine'];
const CASE_KEYS = ['name', 'fresh', 'packet', 'hex', 'capture', 'expect'];
const EXPECT_KEYS = ['action', 'outcome', 'retval', 'exit', 'packet', 'maps', 'printk', 'fault'];

/** Field names of the issue's style (`ipv4.ttl`, `tcp.dport`) to the dissector's (Wireshark's) names. */
export function fieldName(name: string): string {
  const n = name.replace(/^ipv4\./, 'ip.');
  const alias: Record<string, string> = {
    'tcp.sport': 'tcp.srcport',
    'tcp.dport': 'tcp.dstport',
    'udp.sport': 'udp.srcport',
    'udp.dport': 'udp.dstport',
    'udp.len': 'udp.length',
    'tcp.window': 'tcp.window_size_value',
    'ip.tos': 'ip.dsfield',
    'ipv6.hlim': 'ipv6.hlim',
    'vlan.pcp': 'vlan.priority',
    'eth.proto': 'eth.type',
    'arp.op': 'arp.opcode',
    'arp.spa': 'arp.src.proto_ipv4',
    'arp.tpa': 'arp.dst.proto_ipv4',
  };
  return alias[n] ?? n;
}

export function parseTestFile(file: string, text?: string): TestFile {
  const src = text ?? readInputText(file, 'test file', INPUT_LIMITS.source);
  const root = parseYaml(file, src);
  const r: Reader = new Reader(file);
  const top = r.map(root, 'the test file', TOP_KEYS);
  const dir = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const progNode = top.get('program');
  if (!progNode) r.fail(root, "the test file has no 'program' (the C file or object to test)");
  const program = readProgram(r, progNode.value, rel);
  const casesNode = top.get('cases');
  if (!casesNode) r.fail(root, "the test file has no 'cases'");
  const cases = r.seq(casesNode.value, 'cases').map((c, i) => readCase(r, c, i, rel));
  const names = new Map<string, Pos>();
  for (const c of cases) {
    const prev = names.get(c.name);
    if (prev) r.fail(c, `two cases are named '${c.name}' (the other is on line ${prev.line})`);
    names.set(c.name, c.pos);
  }
  const mapsNode = top.get('maps');
  const mapsFile = top.get('maps-file');
  if (mapsNode && mapsFile) r.fail(mapsFile.value, 'give maps or maps-file, not both');
  return {
    file,
    program,
    programPos: progNode.keyPos,
    maps: mapsNode ? readMaps(r, mapsNode.value, 'maps', false) : undefined,
    mapsFile: mapsFile ? rel(r.string(mapsFile.value, 'maps-file')) : undefined,
    cases,
  };
}

function readProgram(r: Reader, n: YNode, rel: (p: string) => string): ProgramSpec {
  if (n.kind === 'scalar') return { file: rel(r.string(n, 'program')), cflags: [], include: [], driver: 'native', profile: DEFAULT_PROFILE, seed: 1 };
  const m = r.map(n, 'program', PROGRAM_KEYS);
  const get = (k: string) => m.get(k)?.value;
  const fileNode = get('file');
  if (!fileNode) r.fail(n, "program has no 'file' (the C file or object to test)");
  const driver = get('driver') ? r.string(get('driver')!, 'program.driver') : 'native';
  if (!DRIVER_MODES.includes(driver as DriverMode)) r.fail(get('driver')!, `program.driver is one of ${DRIVER_MODES.join(', ')}, not '${driver}'`);
  const profile = get('profile') ? r.string(get('profile')!, 'program.profile') : DEFAULT_PROFILE;
  if (!PROFILES[profile]) r.fail(get('profile')!, `program.profile is one of ${Object.keys(PROFILES).join(', ')}, not '${profile}'`);
  const engine = get('engine') ? r.string(get('engine')!, 'program.engine') : undefined;
  if (engine !== undefined && engine !== 'interp' && engine !== 'compiled') r.fail(get('engine')!, `program.engine is interp or compiled, not '${engine}'`);
  return {
    file: rel(r.string(fileNode, 'program.file')),
    name: get('name') ? r.string(get('name')!, 'program.name') : undefined,
    cflags: get('cflags') ? r.stringList(get('cflags')!, 'program.cflags') : [],
    include: get('include') ? r.stringList(get('include')!, 'program.include').map(rel) : [],
    btf: get('btf') ? rel(r.string(get('btf')!, 'program.btf')) : undefined,
    driver: driver as DriverMode,
    profile,
    seed: get('seed') ? r.int(get('seed')!, 'program.seed', 0, 0xffffffff) : 1,
    budget: get('budget') ? r.int(get('budget')!, 'program.budget', 1, 100_000_000) : undefined,
    engine: engine as ProgramSpec['engine'],
  };
}

function readMaps(r: Reader, n: YNode, what: string, expectation: boolean): MapsSpec {
  const maps = [...r.map(n, what)].map(([name, { keyPos, value }]) => ({
    name,
    pos: keyPos,
    entries: r.seq(value, `${what}.${name}`).map((e, i) => {
      const m = r.map(e, `${what}.${name}[${i}]`, ['key', 'value', 'values', 'program', 'map', 'inner']);
      const key = m.get('key');
      if (!key) r.fail(e, `${what}.${name}[${i}] has no key`);
      const value = m.get('value')?.value;
      const values = m.get('values')?.value;
      if (!expectation && !value && !values && !m.has('program') && !m.has('map') && !m.has('inner'))
        r.fail(e, `${what}.${name}[${i}] has no value`);
      if (expectation && !m.has('value') && !values) r.fail(e, `${what}.${name}[${i}] has no value (write value: null for a key that must be absent)`);
      return { pos: e.pos, key: key.value, value, values, raw: toPlain(e) as Record<string, unknown> };
    }),
  }));
  return { pos: n.pos, maps };
}

function readCase(r: Reader, n: YNode, i: number, rel: (p: string) => string): TestCase {
  const m = r.map(n, `case ${i + 1}`, CASE_KEYS);
  const get = (k: string) => m.get(k)?.value;
  const name = get('name') ? r.string(get('name')!, 'name') : `case ${i + 1}`;
  const sources = ['packet', 'hex', 'capture'].filter((k) => m.has(k));
  if (sources.length !== 1) r.fail(n, `case '${name}' needs exactly one of packet (layers), hex, or capture${sources.length ? ` (it has ${sources.join(' and ')})` : ''}`);
  let packet: Uint8Array;
  let source: string;
  if (sources[0] === 'packet') {
    packet = buildPacket(r, get('packet')!);
    source = 'layers';
  } else if (sources[0] === 'hex') {
    const h = get('hex')!;
    const b = parseHex(r.raw(h, 'hex'));
    if (!b || !b.length) r.fail(h, 'hex must be the bytes of the frame in hex (an even number of hex digits)');
    packet = b;
    source = 'hex';
  } else {
    ({ packet, source } = readCapture(r, get('capture')!, rel));
  }
  const fresh = get('fresh') ? r.bool(get('fresh')!, 'fresh') : false;
  const expectNode = get('expect');
  if (!expectNode) r.fail(n, `case '${name}' has no expect`);
  return { name, pos: n.pos, fresh, packet, source, expect: readExpect(r, expectNode, rel) };
}

function readCapture(r: Reader, n: YNode, rel: (p: string) => string): { packet: Uint8Array; source: string } {
  const m = r.map(n, 'capture', ['file', 'index', 'filter']);
  const fileNode = m.get('file')?.value;
  if (!fileNode) r.fail(n, 'capture needs file');
  const file = rel(r.string(fileNode, 'capture.file'));
  const indexNode = m.get('index')?.value;
  const filterNode = m.get('filter')?.value;
  if (indexNode && filterNode) r.fail(n, 'capture takes index or filter, not both');
  // No index nor filter: the capture's first packet XDP would see (not one the capturing host sent).
  const index = indexNode ? r.int(indexNode, 'capture.index', 0, Number.MAX_SAFE_INTEGER) : undefined;
  let filter: Filter | undefined;
  if (filterNode) {
    const text = r.string(filterNode, 'capture.filter');
    try {
      filter = compileFilter(text);
    } catch (e) {
      if (e instanceof FilterError) r.fail(filterNode, `capture.filter: ${e.message}`);
      throw e;
    }
  }
  let reader;
  try {
    reader = openCapture(file);
  } catch (e) {
    r.fail(fileNode, (e as Error).message);
  }
  try {
    for (;;) {
      const p = reader.next();
      if (!p) break;
      // Sent by the capturing host (tcpdump -i any's outgoing packets): XDP never runs on it, as `xdp-lens run` does not.
      if (p.outgoing) {
        if (index === p.index) r.fail(indexNode!, `packet ${index} of ${file} was sent by the capturing host (outgoing: Linux cooked packet type 4 or pcapng outbound): XDP runs only on received frames, so it is not run (as in \`xdp-lens run\`); name a received packet`);
        continue;
      }
      if (index !== undefined ? p.index === index : !filter || filter.test({ index: p.index, frame: p.frame, wireLen: p.wireLen, capLen: p.capLen, action: '', retval: 0 }))
        return { packet: p.frame.slice(), source: `${file}#${p.index}` };
    }
  } catch (e) {
    if (e instanceof CaptureError) r.fail(fileNode, e.message);
    throw e;
  } finally {
    reader.close();
  }
  if (index !== undefined) r.fail(indexNode ?? fileNode, `${file} has no packet ${index} (packets are numbered from 0)`);
  if (!filterNode) r.fail(fileNode, `${file} has no packet received by the capturing host (all are outgoing, or none)`);
  r.fail(filterNode, `no packet of ${file} matches the filter`);
}

function readExpect(r: Reader, n: YNode, rel: (p: string) => string): Expect {
  const m = r.map(n, 'expect', EXPECT_KEYS);
  const e: Expect = {};
  for (const [k, { value: v }] of m) {
    switch (k) {
      case 'action': {
        let a = r.string(v, 'expect.action').toUpperCase();
        if (!a.startsWith('XDP_')) a = `XDP_${a}`;
        if (!(ACTIONS as readonly string[]).includes(a)) r.fail(v, `expect.action is one of ${ACTIONS.join(', ')}, not '${r.string(v, 'expect.action')}'`);
        e.action = { value: a as Action, pos: v.pos };
        break;
      }
      case 'outcome':
        e.outcome = { value: r.string(v, 'expect.outcome'), pos: v.pos };
        break;
      case 'retval':
        e.retval = { value: r.int(v, 'expect.retval', 0, 0xffffffff), pos: v.pos };
        break;
      case 'exit':
        if (v.kind === 'scalar' && typeof v.value === 'number') e.exit = { line: r.int(v, 'expect.exit', 1, 10_000_000), pos: v.pos };
        else e.exit = { label: r.string(v, 'expect.exit'), pos: v.pos };
        break;
      case 'printk':
        e.printk = { value: r.stringList(v, 'expect.printk'), pos: v.pos };
        break;
      case 'fault':
        e.fault = { value: v.kind === 'scalar' && typeof v.value === 'boolean' ? (v.value ? 'any' : 'none') : r.string(v, 'expect.fault'), pos: v.pos };
        break;
      case 'maps':
        e.maps = readMaps(r, v, 'expect.maps', true);
        break;
      case 'packet':
        if (v.kind === 'seq') e.packet = { pos: v.pos, bytes: buildPacket(r, v) };
        else {
          const pm = r.map(v, 'expect.packet');
          const hex = pm.get('hex');
          if (hex) {
            if (pm.size > 1) r.fail(v, 'expect.packet takes hex (the whole packet) or fields, not both');
            const b = parseHex(r.raw(hex.value, 'expect.packet.hex'));
            if (!b) r.fail(hex.value, 'expect.packet.hex must be hex bytes');
            e.packet = { pos: v.pos, bytes: b };
          } else {
            e.packet = { pos: v.pos, fields: [...pm].map(([name, { keyPos, value }]) => ({ name, field: fieldName(name), value, pos: keyPos })) };
          }
        }
        break;
    }
  }
  void rel;
  return e;
}

export { TestFileError };
