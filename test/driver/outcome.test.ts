// Outcomes: what the driver model carried out for each verdict (DriverPacket.outcome), which the returned action alone
// does not say. Checked against what the model does (its path and counters) and, where BPF_PROG_TEST_RUN can show it
// (the fallback value bpf_redirect_map returns), against the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, udpFrame, noClang, PROGRAMS } from './helpers.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import { PLAIN_OUTCOME, tooShort, type DriverPacket } from '../../simulator/driver/rx.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';

const MAPS = {
  ports: [{ key: 0, value: '02000000' }],
  ports_hash: [{ key: 7, value: '02000000' }],
  cpus: [{ key: 1, value: '0001000000000000' }],
  xsks: [{ key: 0, value: '05000000' }],
};

function redirect(sel: number, maps: unknown = MAPS, mode: 'native' | 'generic' = 'native'): DriverPacket {
  const { driver } = setup('redirect.c', { mode, maps });
  const r = driver.receive(udpFrame(64, sel));
  driver.finish();
  return r;
}

test('plain verdicts carried out as asked have the plain outcome', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'native' });
  const got = [1, 2, 3, 0].map((v) => driver.receive(udpFrame(64, v)));
  assert.deepEqual(got.map((r) => r.outcome), ['dropped', 'passed', 'transmitted', 'aborted']);
  for (const r of got) assert.equal(r.outcome, PLAIN_OUTCOME[r.action]);
  const seven = driver.receive(udpFrame(64, 7));
  assert.equal(seven.outcome, 'aborted: not an XDP action');
});

test('XDP_REDIRECT with no target reads as dropped, with the reason, and matches the driver\'s error path', { skip: noClang }, () => {
  const r = redirect(9);
  assert.equal(r.action, 'XDP_REDIRECT');
  assert.equal(r.path, 'redirect_error');
  assert.equal(r.outcome, 'dropped: no redirect target');
  const ok = redirect(3);
  assert.equal(ok.outcome, 'redirected');
  assert.equal(ok.path, 'xdp_redirect:devmap');
  assert.equal(redirect(2).outcome, 'dropped: no such device', 'bpf_redirect(99)');
  assert.equal(redirect(1).outcome, 'dropped: target cannot transmit XDP frames', 'loopback has no ndo_xdp_xmit');
  assert.equal(redirect(9, MAPS, 'generic').outcome, 'dropped: no redirect target', 'skb mode fails the same way');
});

test('bpf_redirect_map fallbacks: the returned action, and why (key absent, map empty)', { skip: noClang }, () => {
  // case 8: cpus[3] has no entry, fallback XDP_PASS; the map has other entries.
  const absent = redirect(8);
  assert.equal(absent.action, 'XDP_PASS');
  assert.equal(absent.outcome, 'passed: bpf_redirect_map fallback, key absent');
  assert.deepEqual(absent.run.redirectFallback, { map: 'cpus', key: 3, action: 2, reason: 'key absent' });
  assert.match(absent.note ?? '', /cpus has no entry for key 3/);
  // The same with no entries at all.
  const empty = redirect(8, {});
  assert.equal(empty.outcome, 'passed: bpf_redirect_map fallback, map empty');
  // case 4: ports[5] absent, fallback XDP_DROP.
  const drop = redirect(4);
  assert.equal(drop.action, 'XDP_DROP');
  assert.equal(drop.outcome, 'dropped: bpf_redirect_map fallback, key absent');
  // case 3 with an empty devmap: fallback 0, XDP_ABORTED.
  assert.equal(redirect(3, {}).outcome, 'aborted: bpf_redirect_map fallback, map empty');
});

test('bpf_redirect_map fallbacks: the kernel returns the same fallback actions', { skip: noClang }, (t) => {
  if (kernelOrSkip(t)) return;
  const path = join(PROGRAMS, 'redirect.c');
  const { objectPath } = loadProgramFileWithObject(path);
  const sels = [3, 4, 8];
  const k = runKernel(objectPath, 'redirect', sels.map((s) => udpFrame(64, s)), { maps: {} });
  const sim = sels.map((s) => redirect(s, {}));
  assert.deepEqual(k.results.map((r) => r.retval), sim.map((r) => r.retval));
  assert.deepEqual(sim.map((r) => r.outcome), [
    'aborted: bpf_redirect_map fallback, map empty',
    'dropped: bpf_redirect_map fallback, map empty',
    'passed: bpf_redirect_map fallback, map empty',
  ]);
});

test('XDP_TX on a full TX ring reads as dropped: TX ring full', { skip: noClang }, () => {
  const profile = { ...PROFILES.mlx5, txRingSize: 2 };
  const { driver } = setup('verdict.c', { mode: 'native', profile });
  const got = [0, 1, 2].map(() => driver.receive(udpFrame(64, 3)));
  assert.deepEqual(got.map((r) => r.path), ['xdp_tx', 'xdp_tx', 'tx_ring_full']);
  assert.deepEqual(got.map((r) => r.outcome), ['transmitted', 'transmitted', 'dropped: TX ring full']);
});

test('XDP_TX on a read-only page is dropped, and says why', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'readonly-page' });
  assert.equal(driver.receive(udpFrame(64, 3)).outcome, 'dropped: TX needs a writable page');
});

test('XDP_PASS of a frame shorter than its headers is passed, and says the stack drops it', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'native' });
  const f = udpFrame(64, 2);
  f[16] = 0x01; // IPv4 total length 0x0132 = 306, with 50 bytes in the frame
  f[17] = 0x32;
  const r = driver.receive(f);
  assert.equal(r.action, 'XDP_PASS');
  assert.equal(r.outcome, 'passed: too short for its headers');
  assert.match(r.note ?? '', /total length 306 with 50 bytes/);
  assert.equal(driver.receive(udpFrame(64, 2)).outcome, 'passed');
});

test('tooShort: Ethernet, IPv4 and IPv6 limits, VLAN tags skipped', () => {
  assert.match(tooShort(new Uint8Array(10)) ?? '', /shorter than an Ethernet header/);
  const v4 = new Uint8Array(14 + 20);
  v4[12] = 0x08;
  v4[14] = 0x45;
  v4[17] = 20;
  assert.equal(tooShort(v4), undefined);
  v4[14] = 0x46; // IHL 6: 24 bytes of header in a 20-byte packet
  assert.match(tooShort(v4) ?? '', /IPv4 header of 24 bytes/);
  const v6 = new Uint8Array(14 + 4 + 40);
  v6.set([0x81, 0x00, 0, 5, 0x86, 0xdd], 12);
  v6[18] = 0x60;
  assert.equal(tooShort(v6), undefined);
  v6[23] = 8; // payload length 8, none present
  assert.match(tooShort(v6) ?? '', /IPv6 payload length 8 with 0 bytes/);
});

test('tooShort: each finding in its own words, with its own numbers, at any offset, asked again or not', () => {
  const frame = (bytes: number[], len: number): Uint8Array => {
    const f = new Uint8Array(len);
    f.set(bytes.slice(0, len));
    return f;
  };
  const eth = (type: number): number[] => [...new Array(12).fill(0), type >> 8, type & 0xff];
  const ip4 = (b0: number, tot: number): number[] => [...eth(0x0800), b0, 0, tot >> 8, tot & 0xff, ...new Array(16).fill(0)];
  const ip6 = (plen: number): number[] => [...eth(0x86dd), 0x60, 0, 0, 0, plen >> 8, plen & 0xff, ...new Array(34).fill(0)];
  const cases: [Uint8Array, string | undefined][] = [
    [frame([], 13), '13 bytes, shorter than an Ethernet header (14): the stack drops it'],
    [frame([], 0), '0 bytes, shorter than an Ethernet header (14): the stack drops it'],
    [frame([...eth(0x8100), 0, 1], 17), 'a VLAN tag cut short: the stack drops it'],
    [frame(ip4(0x45, 20), 14 + 19), '19 bytes after the Ethernet header, fewer than an IPv4 header (20): ip_rcv drops it'],
    [frame(ip4(0x65, 20), 14 + 20), 'IPv4 header with version 6 and IHL 5: ip_rcv drops it'],
    [frame(ip4(0x44, 20), 14 + 20), 'IPv4 header with version 4 and IHL 4: ip_rcv drops it'],
    [frame(ip4(0x4f, 20), 14 + 40), 'IPv4 header of 60 bytes with 40 left in the frame: ip_rcv drops it'],
    [frame(ip4(0x45, 52), 14 + 34), 'IPv4 total length 52 with 34 bytes in the frame and a 20-byte header: ip_rcv drops it'],
    [frame(ip4(0x45, 52), 14 + 46), 'IPv4 total length 52 with 46 bytes in the frame and a 20-byte header: ip_rcv drops it'],
    [frame(ip4(0x45, 65535), 14 + 46), 'IPv4 total length 65535 with 46 bytes in the frame and a 20-byte header: ip_rcv drops it'],
    [frame(ip4(0x46, 20), 14 + 46), 'IPv4 total length 20 with 46 bytes in the frame and a 24-byte header: ip_rcv drops it'],
    [frame(ip4(0x45, 46), 14 + 46), undefined],
    [frame(ip6(0), 14 + 39), '39 bytes after the Ethernet header, fewer than an IPv6 header (40): ipv6_rcv drops it'],
    [frame(ip6(28), 14 + 46), 'IPv6 payload length 28 with 6 bytes after the header: ipv6_rcv drops it'],
    [frame(ip6(65535), 14 + 40 + 40000), 'IPv6 payload length 65535 with 40000 bytes after the header: ipv6_rcv drops it'],
    [frame(ip6(6), 14 + 46), undefined],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [f, want] of cases) {
      assert.equal(tooShort(f), want);
      // The same frame at an offset in a larger array.
      const big = new Uint8Array(f.length + 9).fill(0xee);
      big.set(f, 5);
      assert.equal(tooShort(big, 5, 5 + f.length), want);
    }
  }
});
