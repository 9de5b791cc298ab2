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
