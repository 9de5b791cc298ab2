// Summaries agree with tcpdump on the protocol skeleton, never throw on junk; the RSS hash matches the published
// verification vectors of the RSS specification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

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
