// A tool, not a test (run by hand; it needs tshark and takes minutes): each field XDP Lens's display filters know
// and tshark knows too, its values on every frame compared with tshark -T fields (every occurrence, in order).
//   node --import tsx test/net/tshark-fields.ts SEED FRAMES [CAPTURE...]
// The frames: FRAMES random stacks (test/net/random-stacks.ts; some cut short by the snap length, some padded), then
// each capture's frames as XDP is handed them (other link types get their Ethernet header), each set written to a
// pcap of its own and read by tshark with the prefs the README names (no reassembly). FIELDS='a,b' limits the
// fields. Prints per field the frames that differ (1-based, as tshark numbers them) with an example, then totals.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { compileFilter, fieldNames, fieldType, type PacketFacts } from '../../simulator/filter.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { ether, rnd, seed } from './random-stacks.ts';

const PREFS = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'ip.check_checksum:FALSE'];
// Fields that keep another meaning on purpose (README "Display filters"): frame.number from 0, eth.type after the
// tags, vlan.* every tag; ip.frag_offset in bytes is compared in 8-byte units below; times are not written here.
const DELIBERATE = new Set(['frame.number', 'eth.type', 'vlan.id', 'vlan.priority', 'vlan.cfi', 'vlan.dei', 'vlan.etype', 'vlan.len', 'frame.time', 'frame.time_epoch', 'frame.time_relative', 'frame.time_delta']);
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-tshark-fields-'));
const tsFields = new Set(spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.split('\n').map((l) => l.split('\t')).filter((c) => c[0] === 'F').map((c) => c[2]!));
const FIELDS = (process.env.FIELDS ? process.env.FIELDS.split(',') : fieldNames()).filter((n) => tsFields.has(n) && fieldType(n) !== 'none' && fieldType(n) !== 'action' && !DELIBERATE.has(n));

function hexOfIpv6(t: string): string {
  const [a, b] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const parts = (s: string) => (s ? s.split(':') : []);
  let groups = parts(a);
  if (b !== undefined) groups = [...groups, ...Array(8 - groups.length - parts(b).length).fill('0'), ...parts(b)];
  const last = groups[groups.length - 1]!;
  if (last.includes('.')) groups.splice(-1, 1, ...((n) => [((n[0]! << 8) | n[1]!).toString(16), ((n[2]! << 8) | n[3]!).toString(16)])(last.split('.').map(Number)));
  return groups.map((g) => g.padStart(4, '0')).join('').toLowerCase();
}
/** Ours as tshark -T fields writes it (normalised both sides). */
function ours(type: string, v: number | string | bigint): string {
  if (type === 'ipv4') { const n = Number(v); return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`; }
  if (type === 'bytes') return Buffer.from(String(v), 'latin1').toString('hex');
  if (type === 'uint') return String(v);
  return String(v).toLowerCase();
}
function theirs(type: string, t: string): string {
  if (type === 'ipv6') return hexOfIpv6(t);
  if (type === 'bytes') return t === '<MISSING>' ? '' : t.replace(/:/g, '').toLowerCase();
  if (type === 'uint') {
    if (/^0x[0-9a-f]+$/i.test(t)) return String(BigInt(t));
    if (t === 'True') return '1';
    if (t === 'False') return '0';
    return t;
  }
  return t.toLowerCase();
}

interface Set1 { name: string; frames: { frame: Uint8Array; wireLen: number }[] }
const sets: Set1[] = [];
const N = Number(process.argv[3] ?? 500);
seed(Number(process.argv[2] ?? 1));
{
  const frames: Set1['frames'] = [];
  for (let i = 0; i < N; i++) {
    let f = ether(0);
    let wire = f.length;
    if (rnd(8) === 0) f = f.slice(0, 14 + rnd(Math.max(1, f.length - 14)));
    while (f.length < 60 && rnd(2)) f.push(0);
    if (f.length > wire) wire = f.length;
    frames.push({ frame: Uint8Array.from(f), wireLen: rnd(8) === 0 ? wire + 10 : wire });
  }
  sets.push({ name: `random seed ${process.argv[2] ?? 1}`, frames });
}
for (const cap of process.argv.slice(4)) {
  const frames: Set1['frames'] = [];
  try {
    const r = openCapture(cap, { otherLinks: true });
    for (let p; (p = r.next()); ) if (!p.otherLink && p.frame.length >= 14) frames.push({ frame: p.frame.slice(), wireLen: p.wireLen });
    r.close();
  } catch (e) { console.log(`${cap}: ${(e as Error).message}`); }
  sets.push({ name: basename(cap), frames });
}

const diffs = new Map<string, { n: number; ex: string }>();
let compared = 0;
for (const [si, set] of sets.entries()) {
  const path = join(dir, `set${si}.pcap`);
  const w = new PcapWriter(path);
  set.frames.forEach((f, i) => w.write(BigInt(i) * 1000n, f.frame, f.wireLen > f.frame.length ? f.wireLen : undefined));
  w.close();
  const facts: PacketFacts[] = set.frames.map((f, i) => ({ index: i, frame: f.frame, wireLen: f.wireLen, capLen: f.frame.length, action: 'XDP_PASS', retval: 2 }));
  for (let at = 0; at < FIELDS.length; at += 60) {
    const chunk = FIELDS.slice(at, at + 60);
    const ts = spawnSync('tshark', ['-r', path, ...PREFS, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\x01', ...chunk.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (ts.status !== 0) { console.log(`tshark: ${ts.stderr}`); process.exit(2); }
    const rows = ts.stdout.split('\n');
    const filters = chunk.map((f) => compileFilter(f));
    facts.forEach((p, i) => {
      const cols = rows[i]!.split('\t');
      chunk.forEach((field, j) => {
        const type = fieldType(field)!;
        const t = cols[j] ? cols[j]!.split('\x01').map((x) => theirs(type, x)) : [];
        const o = filters[j]!.values(p, field).map((x) => ours(type, field === 'ip.frag_offset' ? Number(x) / 8 : x));
        compared++;
        if (t.join('|') !== o.join('|')) {
          const d = diffs.get(field) ?? { n: 0, ex: '' };
          d.n++;
          if (d.n <= 3) d.ex += ` [${set.name} #${i + 1}: ours ${o.join('|').slice(0, 80) || '-'} tshark ${t.join('|').slice(0, 80) || '-'}]`;
          diffs.set(field, d);
        }
      });
    });
  }
}
let total = 0;
for (const [f, d] of [...diffs].sort((a, b) => b[1].n - a[1].n)) { total += d.n; console.log(`${f}: ${d.n}${d.ex}`); }
console.log(`${sets.reduce((n, s) => n + s.frames.length, 0)} frames, ${FIELDS.length} fields, ${compared} values compared: ${total} differ in ${diffs.size} fields (pcaps in ${dir})`);
