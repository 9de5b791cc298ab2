// Wireshark display-filter forms beyond `field op value`: byte strings (`frame contains "GET"`, `eth.trailer ==
// 00:00`, `tcp.payload`, `udp.payload`, `data.data`), slices (`frame[12:2]`, `eth.dst[0] & 1`, `frame[-2:]`),
// bitwise and (`tcp.flags & 0x02`), ranges in sets (`{1000..2000}`), one field against another (`ip.src == ip.dst`),
// tcp.len and data.len, and what != means for a packet that lacks the field (tshark 4.0: `ip.src != 1.2.3.4` does not
// select ARP; `!(ip.src == 1.2.3.4)` does), with === / ~= for repeated fields. The expected selections are tshark
// 4.0's, written out, and checked against tshark itself where it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, FilterError, type PacketFacts } from '../../simulator/filter.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { classicPcap } from '../net/pcap-file.ts';

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v & 0xffff)];
const MACS = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
const eth = (type: number, payload: number[], dst = MACS.slice(0, 6)) => [...dst, ...MACS.slice(6), ...be16(type), ...payload];
function ipv4(proto: number, payload: number[], o: { src?: number[]; dst?: number[]; frag?: number; len?: number } = {}): number[] {
  return [0x45, 0, ...be16(o.len ?? 20 + payload.length), 0, 1, ...be16(o.frag ?? 0), 64, proto, 0, 0, ...(o.src ?? [10, 0, 0, 1]), ...(o.dst ?? [10, 0, 0, 2]), ...payload];
}
const ipv6 = (next: number, payload: number[]) => [0x60, 0, 0, 0, ...be16(payload.length), next, 64, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 2, ...payload];
const tcp = (sport: number, dport: number, flags: number, payload: number[] = []) => [...be16(sport), ...be16(dport), ...be32(1000), ...be32(flags & 0x10 ? 5 : 0), 0x50, flags, ...be16(8192), 0, 0, 0, 0, ...payload];
const udp = (sport: number, dport: number, payload: number[]) => [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
const text = (s: string) => [...Buffer.from(s, 'latin1')];
const arp = [0, 1, 8, 0, 6, 4, 0, 1, ...MACS.slice(6), 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
const DNS_Q = [0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, ...text('abc'), 0, 0, 1, 0, 1];

const FRAMES: number[][] = [
  /* 0 */ eth(0x0800, ipv4(6, tcp(40000, 80, 0x02))),
  /* 1 */ eth(0x0800, ipv4(6, tcp(40000, 80, 0x18, text('GET / HTTP/1.1\r\n')))),
  /* 2 */ eth(0x0800, ipv4(6, tcp(80, 40000, 0x14, [0xde, 0xad]))), // a reset with payload
  /* 3 */ eth(0x0800, ipv4(17, udp(40001, 53, DNS_Q))),
  /* 4 */ eth(0x0800, ipv4(17, udp(1234, 5555, [...text('abc'), 0, 0]))),
  /* 5 */ eth(0x0806, arp, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  /* 6 */ eth(0x86dd, ipv6(17, udp(1500, 1600, [1, 2, 3]))),
  /* 7 */ eth(0x0800, ipv4(17, udp(7, 7, [9]), { src: [10, 0, 0, 9], dst: [10, 0, 0, 9] })),
  /* 8 */ eth(0x8100, [0x20, 0x0a, ...be16(8 + 28), 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ipv4(17, udp(1, 2, []))]), // 802.1Q, then a length and LLC/SNAP
  /* 9 */ eth(0x0800, ipv4(6, tcp(5000, 6000, 0x10, [1, 2, 3, 4]), { frag: 0x2000 })), // first fragment: no tcp.len
  /* 10 */ eth(0x0800, [...ipv4(1, [8, 0, 0xf7, 0xff, 0, 0, 0, 0]), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // padded: a trailer
  /* 11 */ eth(0x0800, ipv4(6, tcp(443, 40002, 0x12), { dst: [192, 168, 1, 1] })),
  /* 12 */ eth(0x0800, ipv4(50, [0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0x42])), // ESP: no payload fields
  /* 13 */ eth(0x0800, ipv4(99, [0x10, 0x20, 0x30])), // data
  /* 14 */ eth(0x0800, [0x48, 0, ...be16(32 + 8), 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 7, 11, 8, 10, 9, 9, 9, 8, 8, 8, 8, 0, ...udp(9, 9, [])]), // Record Route: one recorded, one empty
  /* 15 */ eth(0x0800, ipv4(17, udp(40003, 6081, [2, 0, ...be16(0x6558), 0, 0, 7, 0, 0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, ...eth(0x0800, ipv4(17, udp(1, 2, [])))]))), // GENEVE, one option
];

const EXPECT: [string, number[]][] = [
  ["frame contains \"GET\"", [1]],
  ["frame contains 47:45:54", [1]],
  ["frame matches \"^GET|HTTP/1\\\\.1\"", [1]],
  ["tcp.payload", [1, 9]],
  ["tcp.payload == 47:45:54:20:2f:20:48:54:54:50:2f:31:2e:31:0d:0a", [1]],
  ["udp.payload", [3, 4, 6, 7, 15]],
  ["udp.payload == \"abc\\x00\\x00\"", [4]],
  ["data.data == 10:20:30", [13]],
  ["eth.padding", [10]],
  ["eth.padding == 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00", [10]],
  ["frame[12:2] == 08:06", [5]],
  ["frame[-2:] == 00:00", [0, 4, 8, 10, 11, 14, 15]],
  ["eth.dst[0] & 1", [5]],
  ["ip.src[0:2] == 0a.00", [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15]],
  ["tcp.flags & 0x02", [0, 11]],
  ["tcp.flags & 0x12 == 0x12", [11]],
  ["udp.port in {1000..2000}", [4, 6]],
  ["tcp.port in {440..450, 80}", [0, 1, 2, 11]],
  ["ip.src == ip.dst", [7]],
  ["ip.src != ip.dst", [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15]],
  ["tcp.srcport > tcp.dstport", [0, 1]],
  ["tcp.len > 0", [1, 2]],
  ["tcp.len == 0", [0, 11]],
  ["ip.src != 10.0.0.1", [7]],
  ["!(ip.src == 10.0.0.1)", [5, 6, 7]],
  ["ip.addr != 10.0.0.2", [7, 11]],
  ["ip.addr ~= 10.0.0.2", [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15]],
  ["eth.addr != ff:ff:ff:ff:ff:ff", [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]],
  ["vlan.len == 36", [8]],
  ["vlan && ip", [8]],
  ["ip.dst all_eq 10.0.0.2", [0, 1, 2, 3, 4, 8, 9, 10, 12, 13, 14, 15]],
  ["frame[100:2]", []],
  ["ip.rec_rt == 10.9.9.9", [14]],
  ["ip.empty_rt == 8.8.8.8", [14]],
  ["ip.rec_rt == 8.8.8.8", []],
  ["geneve.option.length == 8", [15]],
  ["geneve.option contains aa:bb", [15]],
  ["geneve.options == 02:02:03:01:aa:bb:cc:dd", []],
  ["geneve.options == 01:02:03:01:aa:bb:cc:dd", [15]],
  ["frame.cap_len < frame.len", []],
];

const EXPRS = process.env.EXPRS?.split(';;');

/** tshark -Y's selection (0-based), each packet on its own as XDP sees it: no reassembly of IP fragments or segments. */
function tsharkSelects(path: string, expr: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('tshark', ['-r', path, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE', '-Y', expr, '-T', 'fields', '-e', 'frame.number']);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean).map((n) => Number(n) - 1)) : reject(new Error(`tshark -Y '${expr}': ${err}`))));
  });
}

test('byte strings, slices, bitwise and, ranges, field against field, tcp.len and != select what tshark -Y selects', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-filter-ops-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'ops.pcap');
  writeFileSync(path, classicPcap(FRAMES.map((f, i) => ({ data: Uint8Array.from(f), sec: i }))));
  const facts: PacketFacts[] = [];
  const r = openCapture(path);
  for (let p; (p = r.next()); ) facts.push({ index: p.index, frame: p.frame.slice(), wireLen: p.wireLen, capLen: p.capLen, action: 'XDP_PASS', retval: 2 });
  r.close();
  const wrong: string[] = [];
  const cases = EXPRS ? EXPRS.map((e): [string, number[]] => [e, []]) : EXPECT;
  for (const [expr, want] of cases) {
    const f = compileFilter(expr);
    const ours = facts.filter((p) => f.test(p)).map((p) => p.index);
    if (EXPRS) console.log(`  [${JSON.stringify(expr)}, ${JSON.stringify(ours)}],`);
    else if (JSON.stringify(ours) !== JSON.stringify(want)) wrong.push(`${expr}: ours ${JSON.stringify(ours)}, expected ${JSON.stringify(want)}`);
  }
  if (haveTshark) {
    // Three tshark processes at a time.
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const [expr, want] = cases[next++]!;
        const theirs = await tsharkSelects(path, expr);
        const ours = EXPRS ? facts.filter((p) => compileFilter(expr).test(p)).map((p) => p.index) : want;
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) wrong.push(`${expr}: tshark ${JSON.stringify(theirs)}, ${EXPRS ? 'ours' : 'expected'} ${JSON.stringify(ours)}`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  } else t.diagnostic('tshark is not installed: checked against the selections tshark 4.0 made, not against tshark itself');
  assert.deepEqual(wrong, []);
});

test('!= needs the field; ===, ~= and ranges; errors for what cannot be compared', () => {
  const p = (i: number): PacketFacts => ({ index: i, frame: Uint8Array.from(FRAMES[i]!), wireLen: FRAMES[i]!.length, capLen: FRAMES[i]!.length, action: 'XDP_PASS', retval: 2 });
  const hit = (expr: string, i: number) => compileFilter(expr).test(p(i));
  assert.equal(hit('ip.src != 10.0.0.1', 5), false, 'ARP has no ip.src: != does not hold');
  assert.equal(hit('!(ip.src == 10.0.0.1)', 5), true);
  assert.equal(hit('ip.addr != 10.0.0.1', 0), false, 'one occurrence equals');
  assert.equal(hit('ip.addr ~= 10.0.0.1', 0), true, 'one occurrence differs');
  assert.equal(hit('ip.addr !== 10.0.0.1', 0), true, 'tshark 4.0 reads !== as any_ne');
  assert.equal(hit('ip.addr all_ne 10.0.0.1', 0), false);
  assert.equal(hit('ip.addr === 10.0.0.9', 7), true);
  assert.equal(hit('ip.addr === 10.0.0.1', 0), false);
  assert.equal(hit('frame[100:2]', 0), false, 'a slice past the end is not there');
  assert.equal(hit('frame contains "GET /"', 1), true);
  // Hostile numbers: a mask wider than any field and a range past 2^64 are refused (as tshark refuses them), offsets
  // past 2^64 are no slice.
  assert.throws(() => hit(`tcp.flags & 0x${'f'.repeat(400)}`, 0), /'0xffffffffffffffffff\.\.\. \(402 characters\)' is too big for tcp\.flags/);
  assert.equal(hit('frame[99999999999999999999999:1] || frame[-99999999999999999999]', 0), false);
  assert.throws(() => hit(`udp.port in {1..${'9'.repeat(400)}}`, 4), /is too big for udp\.port, a 16-bit number \(at most 65535\)/);
  for (const [expr, re] of [
    ['ip.ttl[0] == 1', /cannot be sliced/],
    ['frame[x] == 1', /'x' is not a range/],
    ['tcp.flags & ip', /expected a number after '&'/],
    ['ip.src & 1', /'&' alone is not an operator/],
    ['ip.ttl contains 1', /'contains' works on text fields .* and bytes/],
    ['frame contains zz', /byte string/],
  ] as [string, RegExp][]) assert.throws(() => compileFilter(expr), (e: unknown) => e instanceof FilterError && re.test(e.message), expr);
});
