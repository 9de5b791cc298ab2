// A tool, not a test (run by hand; it needs tshark and takes minutes): random display filter expressions of every
// form the filter language has (relations, word operators, `in {}` sets and ranges, slices `[i:n]` `[i-j]` `[-n:]`,
// `contains`, `matches`, bitwise `&`, len()/count()/lower()/upper()/abs()/max()/min()/string(), field against field,
// `not`, nesting; a unary plus, True/False for booleans, arithmetic in abs()/max()/min()) over one capture of frames as XDP sees them: the shared
// captures' (../shared/captures) and random header stacks (random-stacks.ts). Each expression's selection is compared with tshark -Y's on the same file; an
// expression one side refuses is listed apart. Constants come from the values tshark finds in the capture.
//   node --import tsx test/net/tshark-filter-exprs.ts SEED [COUNT] [RANDOM_FRAMES]     (EXPRS='a;;b' for given ones)
// Prints DIFF lines (1-based frame numbers, as tshark shows them), OURS-REFUSES / TSHARK-REFUSES lines, and counts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, type PacketFacts } from '../../simulator/filter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { REPO } from '../repo.ts';
import { ether, rnd, seed } from './random-stacks.ts';

const SEED = Number(process.argv[2] ?? 1);
const COUNT = Number(process.argv[3] ?? 300);
const RANDOM = Number(process.argv[4] ?? 400);
seed(SEED);
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;

// The capture: every shared capture's packets as XDP sees them (Ethernet), then random stacks.
const path = join(tmpdir(), `xdp-lens-filter-exprs-${SEED}.pcap`);
const w = new PcapWriter(path);
const facts: PacketFacts[] = [];
let t = 0n;
const add = (frame: Uint8Array, wireLen: number) => {
  facts.push({ index: facts.length, frame, wireLen, capLen: frame.length, action: 'XDP_PASS', retval: 2 });
  w.write((t += 1000n), frame, wireLen > frame.length ? wireLen : undefined);
};
const shared = join(REPO, '..', 'shared', 'captures');
if (existsSync(shared))
  for (const name of readdirSync(shared).sort()) {
    if (!/\.pcap(ng)?$/.test(name)) continue;
    const r = openCapture(join(shared, name));
    try {
      for (let p; (p = r.next()); ) if (!p.otherLink && !p.outgoing && p.frame.length >= 14) add(Uint8Array.from(p.frame), p.wireLen);
    } catch {
      // a capture ending in a bad record: its packets before it are in
    }
    r.close();
  }
for (let i = 0; i < RANDOM; i++) {
  let f = ether(0);
  if (rnd(8) === 0) f = f.slice(0, 14 + rnd(Math.max(1, f.length - 14)));
  add(Uint8Array.from(f), f.length);
}
w.close();

const PREFS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'ip.check_checksum:FALSE'];

// Fields and their kinds; constants are drawn from what tshark shows of them in the capture.
const UINT = ['ip.ttl', 'ip.proto', 'ip.len', 'ip.id', 'ip.flags.df', 'ip.dsfield', 'ip.hdr_len', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.plen', 'ipv6.flow', 'tcp.srcport', 'tcp.dstport', 'tcp.port', 'tcp.flags', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.window_size_value', 'tcp.hdr_len', 'tcp.len', 'tcp.seq', 'tcp.ack', 'tcp.checksum', 'udp.srcport', 'udp.dstport', 'udp.port', 'udp.length', 'udp.checksum', 'eth.type', 'vlan.id', 'dns.qry.type', 'dns.flags.response', 'dns.count.answers', 'icmp.type', 'icmp.code', 'arp.opcode', 'frame.len', 'frame.cap_len', 'icmpv6.type', 'ip.frag_offset', 'tcp.urgent_pointer', 'tcp.options.mss_val', 'mpls.label', 'gre.proto', 'vxlan.vni', 'ip.flags.mf', 'dns.id'];
const IPV4 = ['ip.src', 'ip.dst', 'ip.addr', 'arp.src.proto_ipv4', 'dns.a'];
const IPV6 = ['ipv6.src', 'ipv6.dst', 'ipv6.addr'];
const MAC = ['eth.src', 'eth.dst', 'eth.addr'];
const STR = ['dns.qry.name', 'frame.protocols', 'dns.resp.name'];
const BYTES = ['frame', 'tcp.payload', 'udp.payload', 'data.data'];
const PROTOS = ['ip', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'arp', 'vlan', 'dns', 'gre', 'vxlan', 'mpls', 'llc', 'data'];

const valueFields = [...UINT, ...IPV4, ...IPV6, ...MAC, ...STR];
const values = new Map<string, string[]>(valueFields.map((f) => [f, []]));
{
  const r = spawnSync('tshark', ['-r', path, ...PREFS, '-T', 'fields', '-E', 'occurrence=f', ...valueFields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const line of r.stdout.split('\n'))
    line.split('\t').forEach((v, i) => {
      if (v !== '' && !v.includes(',')) values.get(valueFields[i]!)!.push(v);
    });
}
const valueOf = (f: string, fallback: string): string => {
  const v = values.get(f);
  return v && v.length ? pick(v) : fallback;
};
const num = (f: string): string => {
  const v = valueOf(f, String(rnd(300)));
  const n = Number(v);
  if (!Number.isFinite(n)) return String(rnd(300));
  const k = rnd(5);
  return k === 0 ? `0x${n.toString(16)}` : k === 1 ? String(n + pick([-1, 1])) : k === 2 ? `+${n}` : String(n);
};
const hexBytes = (n: number) => Array.from({ length: n }, () => rnd(256).toString(16).padStart(2, '0')).join(':');

function frameBytes(k: number): string {
  // Bytes that do occur: a slice of a random frame.
  const f = pick(facts).frame;
  const at = rnd(Math.max(1, f.length - k));
  return Array.from(f.subarray(at, at + k), (b) => b.toString(16).padStart(2, '0')).join(':') || hexBytes(k);
}

// A protocol's bytes: its header to slices and ==, every byte from its start its dissector was given to contains.
const BYTE_PROTOS = ['eth', 'vlan', 'arp', 'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'data'];
function protocolBytes(): string {
  const p = pick(BYTE_PROTOS);
  switch (rnd(8)) {
    case 0: return `${p} contains ${frameBytes(1 + rnd(3))}`;
    case 1: return `${p} contains ${pick(['00', '00:00', 'ff', ':ff', '01', '45', '0a:00'])}`;
    case 2: { const i = rnd(50); return `${p}[${i}${pick([':1', ':2', '', '-' + (i + 1)])}] ${pick(['==', '!=', '>'])} ${frameBytes(1 + rnd(2))}`; }
    case 3: return `${p}[${pick(['-1:', '-2:', '-4:', '0:1', '0'])}] ${pick(['==', '>=', '<'])} ${pick(['00', '08:00', '45', '80', '00:35'])}`;
    case 4: return `${p} matches "${pick(['\\x00\\x00', 'GET', 'HTTP', '^\\x45', '\\x00$', '(?s)^.{20}$', '(?s)^.{8}$', '(?s)^.{14,}$', 'a'])}"`;
    case 5: return `${p} ${pick(['==', '!=', '>'])} ${frameBytes(1 + rnd(4))}`;
    case 6: return `${p} contains "${pick(['a', 'e', 'HTTP', 'com', '\\x00'])}"`;
    default: return `${p}[${rnd(30)}:${1 + rnd(3)}] == ${frameBytes(1 + rnd(3))}`;
  }
}

function atom(): string {
  if (process.env.ONLY_PROTOCOL_BYTES) return protocolBytes();
  switch (rnd(24)) {
    case 22: case 23: return protocolBytes();
    case 0: return pick(PROTOS);
    case 1: case 2: { const f = pick(UINT); return `${f} ${pick(['==', '!=', '>', '<', '>=', '<=', 'eq', 'ne', 'gt', 'le', '==='])} ${num(f)}`; }
    case 3: { const f = pick(UINT); return `${f} in {${Array.from({ length: 1 + rnd(4) }, () => num(f)).join(', ')}}`; }
    case 4: { const f = pick(UINT); const a = Number(valueOf(f, '10')) || 10; return `${f} in {${Math.max(0, a - rnd(5))}..${a + rnd(20)}}`; }
    case 5: { const f = pick(IPV4); const v = valueOf(f, '10.0.0.1'); return rnd(3) ? `${f} ${pick(['==', '!='])} ${v}` : `${f} == ${v.split('.').slice(0, 2).join('.')}.0.0/${pick([8, 16, 24])}`; }
    case 6: { const f = pick(IPV6); return `${f} ${pick(['==', '!='])} ${valueOf(f, '::1')}`; }
    case 7: { const f = pick(MAC); return `${f} ${pick(['==', '!='])} ${valueOf(f, 'ff:ff:ff:ff:ff:ff')}`; }
    case 8: { const f = pick(STR); const v = valueOf(f, 'example'); const part = v.slice(rnd(Math.max(1, v.length - 3)), 3 + rnd(8)); return `${f} contains "${part}"`; }
    case 9: { const f = pick(STR); const v = valueOf(f, 'example'); return `${f} matches "${pick(['^', ''])}${v.slice(0, 1 + rnd(6)).replace(/[.\\[\](){}|*+?^$]/g, '.')}${pick(['', '$', '.*'])}"`; }
    case 10: { const k = 1 + rnd(3); const i = rnd(40); return `frame[${i}:${k}] == ${frameBytes(k)}`; }
    case 11: return `frame contains ${frameBytes(1 + rnd(3))}`;
    case 12: { const f = pick(MAC); return pick([`${f}[0] & 1`, `${f}[0:3] == ${valueOf(f, '02:00:00:00:00:01').slice(0, 8)}`, `${f}[3-5] == ${hexBytes(3)}`, `${f}[-1:] == ${valueOf(f, '02:00:00:00:00:01').slice(-2)}`]); }
    case 13: { const f = pick(['tcp.flags', 'ip.dsfield', 'ip.flags.df', 'tcp.window_size_value', 'ip.id', 'udp.srcport']); const m = pick([1, 2, 0x12, 0x10, 0x3f, 0xff00, 4]); return rnd(2) ? `${f} & 0x${m.toString(16)}` : `${f} & 0x${m.toString(16)} == 0x${(m & (rnd(2) ? m : 0)).toString(16)}`; }
    case 14: { const f = pick([...STR, ...BYTES]); return `len(${f}) ${pick(['>', '<', '==', '>='])} ${rnd(60)}`; }
    case 15: { const f = pick(['dns.qry.name', 'dns.resp.name']); const v = valueOf(f, 'example.com'); return pick([`lower(${f}) == "${v.toLowerCase()}"`, `upper(${f}) contains "${v.slice(0, 3).toUpperCase()}"`, `lower(${f}) matches "${v.slice(0, 2).toLowerCase().replace(/[.\\]/g, '.')}"`]); }
    case 16: { const f = pick(['vlan.id', 'mpls.label', 'ip.src', 'tcp.port', 'dns.a', 'ipv6.addr', 'eth.addr']); return `count(${f}) ${pick(['>', '==', '>='])} ${rnd(4)}`; }
    case 17: { const [a, b] = pick([['tcp.srcport', 'tcp.dstport'], ['udp.srcport', 'udp.dstport'], ['ip.src', 'ip.dst'], ['frame.len', 'frame.cap_len'], ['ip.len', 'frame.len'], ['ipv6.src', 'ipv6.dst'], ['eth.src', 'eth.dst']]); return `${a} ${pick(['==', '!=', '<', '>'].filter((o) => !/(ip|eth)\.|ipv6\./.test(a) || o === '==' || o === '!=' || a === 'ip.src'))} ${b}`; }
    case 18: { const f = pick(['tcp.srcport', 'udp.dstport', 'ip.ttl', 'frame.len']); return pick([`max(${f}, ${pick(['tcp.dstport', 'udp.srcport', 'ip.ttl'])}) > ${num(f)}`, `min(${f}, 1000) < ${num(f)}`, `abs(${f}) == ${num(f)}`, `max(${f} ${pick(['+', '-', '*', '/', '%'])} ${1 + rnd(9)}, ${f}) ${pick(['>', '==', '<'])} ${num(f)}`, `abs(${f} - ${num(f)}) ${pick(['<', '==', '>'])} ${rnd(20)}`, `min(-${f}, 0) < -${num(f)}`]); }
    case 19: { const f = pick(UINT); return `string(${f}) ${pick(['contains', 'matches'])} "${String(valueOf(f, '1')).slice(0, 2)}"`; }
    case 20: { const f = pick(BYTES.slice(1)); return pick([`${f}[0:2] == ${frameBytes(2)}`, `${f} contains ${frameBytes(2)}`, `${f}[1] == ${frameBytes(1)}`, `${f}`]); }
    case 21: return `${pick(['tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'ip.flags.df', 'ip.flags.mf', 'dns.flags.response'])} ${pick(['==', '!=', '>'])} ${pick(['True', 'False', 'TRUE', 'FALSE', '1', '0', 'Set', '"Not set"', 'set'])}`;
    default: { const f = pick(UINT); return `${f}`; }
  }
}
function expr(depth = 0): string {
  const k = depth > 2 ? 0 : rnd(6);
  if (k <= 2) return atom();
  if (k === 3) return `${pick(['!', 'not ', '!'])}${rnd(2) ? `(${expr(depth + 1)})` : atom()}`;
  const inner = `${expr(depth + 1)} ${pick(['&&', '||', 'and', 'or'])} ${expr(depth + 1)}`;
  return rnd(3) ? inner : `(${inner})`;
}

const EXPRS = process.env.EXPRS ? process.env.EXPRS.split(';;') : [...new Set(Array.from({ length: COUNT }, () => expr()))];
let agree = 0, differ = 0, oursRefuses = 0, tsharkRefuses = 0, bothRefuse = 0;
for (const e of EXPRS) {
  let f: ReturnType<typeof compileFilter> | undefined;
  let ourError = '';
  try {
    f = compileFilter(e);
  } catch (err) {
    ourError = (err as Error).message;
  }
  const ts = spawnSync('tshark', ['-r', path, ...PREFS, '-Y', e, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const tsError = ts.status !== 0 ? ts.stderr.split('\n').filter((l) => l && !/Running as user/.test(l)).join(' ') : '';
  if (ourError && tsError) { bothRefuse++; continue; }
  if (ourError) { oursRefuses++; console.log(`OURS-REFUSES ${e}: ${ourError}`); continue; }
  if (tsError) { tsharkRefuses++; console.log(`TSHARK-REFUSES ${e}: ${tsError.slice(0, 200)}`); continue; }
  const theirs = new Set(ts.stdout.split('\n').filter(Boolean).map((n) => Number(n) - 1));
  const ours = new Set(facts.filter((p) => f!.test(p)).map((p) => p.index));
  const onlyOurs = [...ours].filter((i) => !theirs.has(i));
  const onlyTheirs = [...theirs].filter((i) => !ours.has(i));
  if (onlyOurs.length || onlyTheirs.length) {
    differ++;
    console.log(`DIFF ${e}: ours ${ours.size} tshark ${theirs.size}; only ours ${onlyOurs.slice(0, 8).map((i) => i + 1)}; only tshark ${onlyTheirs.slice(0, 8).map((i) => i + 1)}`);
  } else agree++;
}
console.log(`${EXPRS.length} expressions over ${facts.length} frames (${path}): ${agree} agree, ${differ} differ, ${oursRefuses} refused by us only, ${tsharkRefuses} by tshark only, ${bothRefuse} by both`);
