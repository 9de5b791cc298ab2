// Every verdict through every driver mode: the path each packet record names and the counters the summary carries.
// The fixture returns the frame's last byte, so one program covers ABORTED, DROP, PASS, TX, REDIRECT and an invalid
// value; it only reads the packet, so it runs the same in all three modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, udpFrame, noClang } from './helpers.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';

test('native: DROP recycles, PASS builds the skb around the page, TX queues, ABORTED and 7 take the exception path', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'native' });
  const drop = driver.receive(udpFrame(64, 1));
  assert.equal(drop.action, 'XDP_DROP');
  assert.equal(drop.path, 'page_pool_recycle');
  const pass = driver.receive(udpFrame(600, 2));
  assert.equal(pass.path, 'build_skb');
  assert.equal(pass.copied, 0, 'build_skb copies nothing');
  const tx = driver.receive(udpFrame(64, 3));
  assert.equal(tx.path, 'xdp_tx');
  const aborted = driver.receive(udpFrame(64, 0));
  assert.equal(aborted.action, 'XDP_ABORTED');
  assert.equal(aborted.path, 'xdp_exception');
  assert.equal(aborted.invalidAction, false);
  const seven = driver.receive(udpFrame(64, 7));
  assert.equal(seven.retval, 7, 'the raw return value is kept');
  assert.equal(seven.action, 'XDP_ABORTED');
  assert.equal(seven.invalidAction, true);
  assert.equal(seven.path, 'xdp_exception');
  driver.finish();
  const s = driver.stats();
  assert.equal(s.rx_packets, 5);
  assert.equal(s.rx_bytes, 64 * 4 + 600);
  assert.equal(s.rx_xdp_drop, 1);
  assert.equal(s.rx_xdp_pass, 1);
  assert.equal(s.rx_skb_build, 1);
  assert.equal(s.rx_xdp_tx, 1);
  assert.equal(s.tx_xdp_xmit, 1);
  assert.equal(s.tx_doorbells, 1);
  assert.equal(s.rx_xdp_aborted, 2, 'ABORTED and the invalid value both count as aborted');
  assert.equal(s.rx_xdp_invalid, 1);
  assert.equal(s.rx_xdp_fault, 0);
  // Page pool: five pages taken; DROP, ABORTED and 7 came straight back into the cache, the TX page through the ring
  // on completion, the PASS page went with the skb.
  assert.equal(s.page_pool_alloc_fast + s.page_pool_alloc_slow, 5);
  assert.equal(s.page_pool_recycle_cached, 3);
  assert.equal(s.page_pool_recycle_ring, 1);
  assert.equal(s.page_pool_released, 1);
});

test('readonly-page: PASS allocates an skb and copies the headers, or the whole frame under the copy-break', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'readonly-page' });
  const big = driver.receive(udpFrame(600, 2));
  assert.equal(big.action, 'XDP_PASS');
  assert.equal(big.path, 'napi_alloc_skb+copy');
  assert.equal(big.copied, 14 + 20 + 8, 'eth_get_headlen: Ethernet + IPv4 + UDP');
  const small = driver.receive(udpFrame(200, 2));
  assert.equal(small.path, 'napi_alloc_skb+copybreak');
  assert.equal(small.copied, 200, 'a frame within the 256-byte copy-break is copied whole');
  const edge = driver.receive(udpFrame(256, 2));
  assert.equal(edge.path, 'napi_alloc_skb+copybreak', 'exactly the copy-break still fits');
  const over = driver.receive(udpFrame(257, 2));
  assert.equal(over.path, 'napi_alloc_skb+copy');
  assert.equal(over.copied, 42);
  const drop = driver.receive(udpFrame(64, 1));
  assert.equal(drop.path, 'page_pool_recycle');
  driver.finish();
  const s = driver.stats();
  assert.equal(s.rx_xdp_pass, 4);
  assert.equal(s.rx_skb_build, 0);
  assert.equal(s.rx_skb_alloc_copy, 4);
  assert.equal(s.rx_copybreak, 2);
  assert.equal(s.rx_copied_bytes, 42 + 200 + 256 + 42);
  // Copy-break and DROP give the page back at once; the two copies keep theirs as a fragment of the skb.
  assert.equal(s.page_pool_recycle_cached, 3);
  assert.equal(s.page_pool_released, 2);
});

test('readonly-page: the copy stops at the headers the dissector finds (TCP options, VLAN tags)', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'readonly-page' });
  // 802.1Q-tagged IPv4 TCP with a 32-byte TCP header (data offset 8).
  const f = new Uint8Array(1000);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00], 0);
  f.set([0x45, 0, (1000 - 18) >> 8, (1000 - 18) & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 18);
  f[38 + 12] = 8 << 4;
  f[f.length - 1] = 2;
  const r = driver.receive(f);
  assert.equal(r.path, 'napi_alloc_skb+copy');
  assert.equal(r.copied, 18 + 20 + 32);
});

test('readonly-page: XDP_TX and XDP_REDIRECT need a writable page and take the exception path', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'readonly-page' });
  const tx = driver.receive(udpFrame(64, 3));
  assert.equal(tx.action, 'XDP_TX');
  assert.equal(tx.path, 'xdp_exception');
  assert.match(tx.note ?? '', /writable page/);
  const { driver: d2 } = setup('redirect.c', { mode: 'readonly-page' });
  const rd = d2.receive(udpFrame(64, 0)); // bpf_redirect(2): a good target, but the page cannot become an xdp_frame
  assert.equal(rd.action, 'XDP_REDIRECT');
  assert.equal(rd.path, 'xdp_exception');
  assert.match(rd.note ?? '', /writable page/);
  assert.equal(driver.stats().rx_xdp_aborted, 1);
  assert.equal(driver.stats().rx_xdp_tx, 0);
  assert.equal(d2.stats().rx_xdp_aborted, 1);
  assert.equal(d2.stats().rx_xdp_redirect, 0);
});

test('generic: the skb exists already; no page pool, TX goes out at once, DROP and ABORTED free the skb', { skip: noClang }, () => {
  const { driver } = setup('verdict.c', { mode: 'generic' });
  const paths = [0, 1, 2, 3, 7].map((v) => driver.receive(udpFrame(600, v)).path);
  assert.deepEqual(paths, ['kfree_skb', 'kfree_skb', 'netif_receive_skb', 'generic_xdp_tx', 'kfree_skb']);
  const s = driver.stats();
  // generic_xdp_tx transmits immediately, before the poll ends: counted at once, no XDP TX ring, no doorbell.
  assert.equal(s.tx_xdp_xmit, 1);
  driver.finish();
  const f = driver.stats();
  assert.equal(f.tx_doorbells, 0);
  assert.equal(f.rx_xdp_drop, 1);
  assert.equal(f.rx_xdp_pass, 1);
  assert.equal(f.rx_xdp_tx, 1);
  assert.equal(f.rx_xdp_aborted, 2);
  assert.equal(f.rx_xdp_invalid, 1);
  assert.equal(f.rx_skb_build + f.rx_skb_alloc_copy + f.rx_copied_bytes, 0, 'no skb is built or copied for PASS');
  for (const k of Object.keys(f).filter((k) => k.startsWith('page_pool_'))) assert.equal(f[k], 0, `${k} stays 0 in skb mode`);
});

test('XDP_TX: one doorbell per NAPI poll, and a full TX ring drops and counts', { skip: noClang }, () => {
  // 100 frames on one queue with the default budget of 64: two polls, two doorbells, every frame sent.
  const { driver } = setup('verdict.c', { mode: 'native' });
  for (let i = 0; i < 100; i++) assert.equal(driver.receive(udpFrame(64, 3)).path, 'xdp_tx');
  driver.finish();
  let s = driver.stats();
  assert.equal(s.napi_polls, 2);
  assert.equal(s.tx_doorbells, 2);
  assert.equal(s.tx_xdp_xmit, 100);
  assert.equal(s.rx_xdp_tx_full, 0);

  // A ring of 16 descriptors and a poll of 64: 16 fit before the doorbell, the other 48 of the poll are dropped.
  const small = { ...PROFILES.mlx5, name: 'small-tx', txRingSize: 16 };
  const { driver: d } = setup('verdict.c', { mode: 'native', profile: small });
  const paths: string[] = [];
  for (let i = 0; i < 80; i++) paths.push(d.receive(udpFrame(64, 3)).path);
  d.finish();
  s = d.stats();
  assert.deepEqual(paths.slice(0, 16), new Array(16).fill('xdp_tx'));
  assert.deepEqual(paths.slice(16, 64), new Array(48).fill('tx_ring_full'));
  assert.deepEqual(paths.slice(64), new Array(16).fill('xdp_tx'), 'the next poll finds the ring drained');
  assert.equal(s.rx_xdp_tx, 32);
  assert.equal(s.rx_xdp_tx_full, 48);
  assert.equal(s.tx_xdp_xmit, 32);
  assert.equal(s.tx_doorbells, 2);
  // Dropped frames go straight back into the cache; sent ones come back through the ring on completion.
  assert.equal(s.page_pool_recycle_ring, 32);
});
