// XDP_REDIRECT: the target the last bpf_redirect/bpf_redirect_map recorded, checked the way xdp_do_redirect and
// xdp_do_generic_redirect check it; a missing or unusable target takes the kernel's error path and is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, udpFrame, noClang } from './helpers.ts';
import type { DriverPacket } from '../../simulator/driver/rx.ts';

// devmap[0] -> eth0 (2), devmap_hash[7] -> eth0, cpumap[1] (qsize 256), xskmap[0] (a socket).
const MAPS = {
  ports: [{ key: 0, value: '02000000' }],
  ports_hash: [{ key: 7, value: '02000000' }],
  cpus: [{ key: 1, value: '0001000000000000' }],
  xsks: [{ key: 0, value: '05000000' }],
};

function run(mode: 'native' | 'generic', sel: number, len = 64): { r: DriverPacket; s: Record<string, number> } {
  const { driver } = setup('redirect.c', { mode, maps: MAPS });
  const r = driver.receive(udpFrame(len, sel));
  driver.finish();
  return { r, s: driver.stats() };
}

test('native: bpf_redirect(ifindex), devmap, devmap_hash, cpumap and xskmap entries', { skip: noClang }, () => {
  const expect: [number, string, RegExp][] = [
    [0, 'xdp_redirect:ifindex', /^eth0$/],
    [3, 'xdp_redirect:devmap', /^ports\[0\] -> ifindex 2$/],
    [5, 'xdp_redirect:devmap', /^ports_hash\[7\] -> ifindex 2$/],
    [6, 'xdp_redirect:cpumap', /^cpus\[1\].*cpu 1/],
    [7, 'xdp_redirect:xskmap', /^xsks\[0\].*AF_XDP/],
  ];
  for (const [sel, path, target] of expect) {
    const { r, s } = run('native', sel);
    assert.equal(r.action, 'XDP_REDIRECT', `case ${sel}`);
    assert.equal(r.path, path, `case ${sel}`);
    assert.match(r.target ?? '', target, `case ${sel}`);
    assert.equal(s.rx_xdp_redirect, 1);
    assert.equal(s.rx_xdp_redirect_fail, 0);
    assert.equal(s.xdp_redirect_flushes, 1, 'xdp_do_flush at the end of the poll');
    assert.equal(s.page_pool_released, 1, 'the page now belongs to the target');
  }
});

test('native: a missing target takes the error path (redirect_error), counted, page back to the pool', { skip: noClang }, () => {
  const cases: [number, RegExp][] = [
    [2, /no device with ifindex 99 \(-EINVAL\)/], // bpf_redirect to an ifindex that does not exist
    [9, /without a target from a successful bpf_redirect.*-EBADRQC/], // XDP_REDIRECT with no helper call at all
    [1, /lo does not implement ndo_xdp_xmit \(-EOPNOTSUPP\)/], // loopback has no XDP transmit hook
  ];
  for (const [sel, note] of cases) {
    const { r, s } = run('native', sel);
    assert.equal(r.action, 'XDP_REDIRECT', `case ${sel}`);
    assert.equal(r.path, 'redirect_error', `case ${sel}`);
    assert.match(r.note ?? '', note);
    assert.equal(r.target, undefined);
    assert.equal(s.rx_xdp_redirect_fail, 1);
    assert.equal(s.rx_xdp_redirect, 0);
    assert.equal(s.xdp_redirect_flushes, 0);
    assert.equal(s.page_pool_recycle_cached, 1);
  }
});

test('bpf_redirect_map on an empty slot returns the fallback action from the flags instead of redirecting', { skip: noClang }, () => {
  const drop = run('native', 4); // devmap[5] empty, flags XDP_DROP
  assert.equal(drop.r.action, 'XDP_DROP');
  assert.equal(drop.r.path, 'page_pool_recycle');
  const pass = run('native', 8); // cpumap[3] empty, flags XDP_PASS
  assert.equal(pass.r.action, 'XDP_PASS');
  assert.equal(pass.r.path, 'build_skb');
  assert.equal(pass.s.rx_xdp_redirect + pass.s.rx_xdp_redirect_fail, 0);
});

test('redirect to a device checks its MTU (-EMSGSIZE) and its state (-ENETDOWN)', { skip: noClang }, () => {
  const { driver } = setup('redirect.c', {
    mode: 'native',
    maps: MAPS,
    devices: [{ ifindex: 2, name: 'eth0', mtu: 1500, up: true }],
  });
  // mtu + Ethernet header + one VLAN tag is the largest frame a device takes (xdp_ok_fwd_dev).
  assert.equal(driver.receive(udpFrame(1518, 0)).path, 'xdp_redirect:ifindex');
  const big = driver.receive(udpFrame(1519, 0));
  assert.equal(big.path, 'redirect_error');
  assert.match(big.note ?? '', /MTU 1500 \(-EMSGSIZE\)/);
  const viaMap = driver.receive(udpFrame(1519, 3));
  assert.equal(viaMap.path, 'redirect_error');
  assert.match(viaMap.note ?? '', /bpf_redirect_map\(ports\[0\]\).*-EMSGSIZE/);
  const { driver: down } = setup('redirect.c', { mode: 'native', devices: [{ ifindex: 2, name: 'eth0', mtu: 1500, up: false }] });
  const r = down.receive(udpFrame(64, 0));
  assert.equal(r.path, 'redirect_error');
  assert.match(r.note ?? '', /eth0 is down \(-ENETDOWN\)/);
});

test('generic: xdp_do_generic_redirect for every target kind; loopback works through the skb path', { skip: noClang }, () => {
  for (const sel of [0, 1, 3, 5, 6, 7]) {
    const { r, s } = run('generic', sel);
    assert.equal(r.path, 'xdp_do_generic_redirect', `case ${sel}`);
    assert.ok(r.target, `case ${sel} names its target`);
    assert.equal(s.rx_xdp_redirect, 1);
  }
  assert.equal(run('generic', 1).r.target, 'lo');
  for (const sel of [2, 9]) {
    const { r, s } = run('generic', sel);
    assert.equal(r.path, 'redirect_error', `case ${sel}`);
    assert.equal(s.rx_xdp_redirect_fail, 1);
  }
});

test('redirects are flushed once per NAPI poll', { skip: noClang }, () => {
  const { driver } = setup('redirect.c', { mode: 'native', maps: MAPS });
  for (let i = 0; i < 130; i++) driver.receive(udpFrame(64, i % 2 === 0 ? 0 : 3));
  driver.finish();
  const s = driver.stats();
  assert.equal(s.rx_xdp_redirect, 130);
  assert.equal(s.napi_polls, 3);
  assert.equal(s.xdp_redirect_flushes, 3);
});
