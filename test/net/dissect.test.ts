// Summaries agree with tcpdump on the protocol skeleton, never throw on junk; the RSS hash matches the published
// verification vectors of the RSS specification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';

import { summarize, flowOf } from '../../simulator/net/dissect.ts';
import { toeplitzHash } from '../../simulator/net/toeplitz.ts';
import { rssHash, rssQueueOf } from '../../simulator/driver/rss.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { sharedPath } from '../repo.ts';

const ip4 = (s: string) => s.split('.').map(Number);
function v6(s: string): number[] {
  const [a, b] = s.split('::');
  const head = a ? a.split(':') : [];
  const tail = b ? b.split(':') : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}
const be16 = (n: number) => [n >> 8, n & 0xff];

// Verification vectors from the RSS specification: (source, destination, sport, dport) → hash with ports, without.
const V4: [string, string, number, number, number, number][] = [
  ['66.9.149.187', '161.142.100.80', 2794, 1766, 0x51ccc178, 0x323e8fc2],
  ['199.92.111.2', '65.69.140.83', 14230, 4739, 0xc626b0ea, 0xd718262a],
  ['24.19.198.95', '12.22.207.184', 12898, 38024, 0x5c2b394a, 0xd2d0a5de],
];

test('Toeplitz hash matches the RSS specification vectors (IPv4 and IPv6, with and without ports)', () => {
  for (const [s, d, sp, dp, withPorts, addrOnly] of V4) {
    assert.equal(toeplitzHash(Uint8Array.from([...ip4(s), ...ip4(d), ...be16(sp), ...be16(dp)])), withPorts);
    assert.equal(toeplitzHash(Uint8Array.from([...ip4(s), ...ip4(d)])), addrOnly);
  }
  const six = [...v6('3ffe:2501:200:1fff::7'), ...v6('3ffe:2501:200:3::1')];
  assert.equal(toeplitzHash(Uint8Array.from([...six, ...be16(2794), ...be16(1766)])), 0x40207d3d);
  assert.equal(toeplitzHash(Uint8Array.from(six)), 0x2cc18cd5);
});

function tcp4(src: string, dst: string, sport: number, dport: number, vlan?: number): Uint8Array {
  const eth = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const tag = vlan === undefined ? [] : [0x81, 0x00, ...be16(vlan)];
  const ip = [0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, ...ip4(src), ...ip4(dst)];
  const tcp = [...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
  return Uint8Array.from([...eth, ...tag, 0x08, 0x00, ...ip, ...tcp]);
}

test('the RSS hash of a frame is the hash of its flow, VLAN tags skipped; non-IP lands on queue 0', () => {
  const [s, d, sp, dp, h] = V4[0]!;
  assert.equal(rssHash(tcp4(s, d, sp, dp)), h);
  assert.equal(rssHash(tcp4(s, d, sp, dp, 100)), h);
  assert.equal(rssQueueOf(tcp4(s, d, sp, dp)), h % 128);
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.equal(rssQueueOf(arp), 0);
  const f = flowOf(tcp4(s, d, sp, dp))!;
  assert.deepEqual([f.proto, f.sport, f.dport, f.v6], [6, sp, dp, false]);
});

test('summaries name the protocols like tcpdump -n', () => {
  assert.equal(summarize(tcp4('10.0.0.1', '10.0.0.2', 40000, 80)), 'IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], length 0');
  assert.equal(summarize(tcp4('10.0.0.1', '10.0.0.2', 1, 2, 7)), 'vlan 7, IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], length 0');
  assert.match(summarize(tcp4('10.0.0.1', '10.0.0.2', 1, 2).subarray(0, 30)), /\[\|ip\]/);
  assert.match(summarize(new Uint8Array(5)), /\[\|ether\] 5 bytes/);
});

test('summaries never throw on random bytes or on any prefix of real frames', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (let i = 0; i < 2000; i++) {
    const f = Uint8Array.from({ length: i % 200 }, rnd);
    if (f.length > 13 && i % 3 === 0) [f[12], f[13]] = [[0x08, 0x00], [0x86, 0xdd], [0x81, 0x00]][i % 3 === 0 ? (i >> 2) % 3 : 0]!;
    assert.equal(typeof summarize(f), 'string');
    flowOf(f);
  }
  const path = sharedPath('captures', 'zeek--ipv6-http-atomic-frag.pcap');
  if (!existsSync(path)) return;
  const r = openCapture(path);
  for (let p; (p = r.next()); ) {
    for (let n = 0; n <= p.frame.length; n += 7) assert.equal(typeof summarize(p.frame.subarray(0, n)), 'string');
    assert.match(summarize(p.frame), /^IP6 /);
  }
});

test('tunnels and encapsulations are summarised with the packet inside, as tcpdump -n shows them', (t) => {
  const mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const be = (v: number) => [v >> 8, v & 0xff];
  const ip4 = (proto: number, payload: number[]) => [0x45, 0, ...be(20 + payload.length), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...payload];
  const ip6 = (next: number, payload: number[]) => [0x60, 0, 0, 0, ...be(payload.length), next, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...payload];
  const udp = (sp: number, dp: number, payload: number[]) => [...be(sp), ...be(dp), ...be(8 + payload.length), 0, 0, ...payload];
  const eth = (type: number, payload: number[]) => [...mac, ...be(type), ...payload];
  const inner = ip4(17, udp(5, 6, [1, 2]));
  const frames: [string, number[], string][] = [
    ['MPLS', eth(0x8847, [0, 0x10, 0, 64, 0, 0x11, 1, 9, ...inner]), 'MPLS (label 256, tc 0, ttl 64) (label 272, tc 0, [S], ttl 9) IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
    ['PPPoE', eth(0x8864, [0x11, 0, 0, 0x2a, ...be(2 + inner.length), 0, 0x21, ...inner]), 'PPPoE [ses 0x2a] IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
    ['LLC/SNAP', [...mac, ...be(8 + inner.length), 0xaa, 0xaa, 3, 0, 0, 0, 8, 0, ...inner], 'IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
    ['IP in IP', eth(0x0800, ip4(4, inner)), 'IP 10.0.0.1 > 10.0.0.2: IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
    ['IPv6 in IPv6', eth(0x86dd, ip6(41, ip6(17, udp(3, 3, [9])))), 'IP6 ::1 > ::2: IP6 ::1.3 > ::2.3: UDP, length 1'],
    ['GRE', eth(0x0800, ip4(47, [0, 0, 8, 0, ...inner])), 'IP 10.0.0.1 > 10.0.0.2: GREv0, length 34: IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
    ['Geneve', eth(0x0800, ip4(17, udp(1, 6081, [0, 0, 0x65, 0x58, 0, 0, 0x2a, 0, ...eth(0x0800, inner)]))), 'IP 10.0.0.1.1 > 10.0.0.2.6081: Geneve, vni 0x2a: IP 10.0.0.1.5 > 10.0.0.2.6: UDP, length 2'],
  ];
  for (const [what, f, want] of frames) assert.equal(summarize(Uint8Array.from(f)), want, what);
  // The same skeleton as tcpdump's line (tcpdump adds details: flags, ids, a line break before an inner packet).
  if (spawnSync('tcpdump', ['--version']).status !== 0) return t.diagnostic('tcpdump is not installed: its lines are not compared');
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-summaries-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'tunnels.pcap');
  const w = new PcapWriter(path);
  frames.forEach(([, f], i) => w.write(BigInt(i) * 1000n, Uint8Array.from(f), f.length));
  w.close();
  // -#: each packet's first line numbered; an inner packet tcpdump prints on a line of its own is joined to it.
  const td = spawnSync('tcpdump', ['-#', '-nn', '-t', '-r', path], { encoding: 'utf8' }).stdout;
  const lines = td.split(/\n(?= *\d+ {2})/).map((l) => l.replace(/\n/g, ' ').trim()).filter(Boolean);
  assert.equal(lines.length, frames.length, td);
  // Every inner packet tcpdump names (its addresses and ports) is in our line too.
  frames.forEach(([what], i) => {
    const ours = summarize(Uint8Array.from(frames[i]![1]));
    for (const m of lines[i]!.match(/(IP6?) [0-9a-f.:]+ > [0-9a-f.:]+:/g) ?? []) assert.ok(ours.includes(m), `${what}: tcpdump '${lines[i]}' names '${m}', ours '${ours}'`);
  });
});
