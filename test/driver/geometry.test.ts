// The receive buffer each profile and mode builds, and the limits that follow for bpf_xdp_adjust_head/tail/meta;
// multi-buffer frames split into fragments, as xdp.frags programs and programs without frags support see them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, ethFrame, le32, bss, noClang } from './helpers.ts';
import { PROFILES } from '../../simulator/driver/profiles.ts';
import type { DriverMode } from '../../simulator/driver/profiles.ts';

const EINVAL = -22;
const EACCES = -13;
const HEAD = 0;
const TAIL = 1;
const META = 2;

/** Run the adjust fixture once on a 64-byte frame: the helper's return value and the data length after it. */
function adjust(mode: DriverMode, profile: 'mlx5' | 'i40e', op: number, delta: number, len = 64): { ret: number; len: number } {
  const { driver, session } = setup('adjust.c', { mode, profile: PROFILES[profile] });
  const r = driver.receive(ethFrame([op, ...le32(delta)], len));
  assert.equal(r.fault, undefined, r.fault?.message);
  const out = bss(session);
  return { ret: Number(out.readBigInt64LE(0)), len: out.readUInt32LE(8) };
}

test('mlx5 profile (256 B headroom, 4096 B frames): the BPF_PROG_TEST_RUN limits measured on the kernel', { skip: noClang }, () => {
  // Moving data or data_meta writes nothing into the page, so readonly-page mode has the same limits.
  for (const mode of ['native', 'readonly-page'] as const) {
    assert.deepEqual(adjust(mode, 'mlx5', HEAD, -216), { ret: 0, len: 280 }, 'grow the head down to hard_start + 40');
    assert.equal(adjust(mode, 'mlx5', HEAD, -217).ret, EINVAL);
    assert.deepEqual(adjust(mode, 'mlx5', HEAD, 50), { ret: 0, len: 14 });
    assert.equal(adjust(mode, 'mlx5', HEAD, 51).ret, EINVAL, 'at least an Ethernet header stays');
    assert.equal(adjust(mode, 'mlx5', META, -216).ret, 0);
    assert.equal(adjust(mode, 'mlx5', META, -220).ret, EINVAL);
    assert.equal(adjust(mode, 'mlx5', META, -2).ret, EACCES, 'metadata length must be a multiple of 4');
    assert.equal(adjust(mode, 'mlx5', META, 4).ret, EINVAL);
  }
});

test('mlx5 profile: the tail grows up to skb_shared_info and shrinks down to an Ethernet header', { skip: noClang }, () => {
  // Native only: growing the tail zero-fills the new bytes, itself a write into the page, which readonly-page mode
  // does not treat as a fault today (bpf_xdp_adjust_tail lives in the VM helpers).
  assert.deepEqual(adjust('native', 'mlx5', TAIL, 3456), { ret: 0, len: 3520 });
  assert.equal(adjust('native', 'mlx5', TAIL, 3457).ret, EINVAL);
  assert.deepEqual(adjust('native', 'mlx5', TAIL, -50), { ret: 0, len: 14 });
  assert.equal(adjust('native', 'mlx5', TAIL, -51).ret, EINVAL);
});

test('i40e profile (192 B headroom, 2048 B frames): less room at both ends', { skip: noClang }, () => {
  assert.deepEqual(adjust('native', 'i40e', HEAD, -152), { ret: 0, len: 216 }, '192 - 40 bytes of headroom to grow into');
  assert.equal(adjust('native', 'i40e', HEAD, -153).ret, EINVAL);
  assert.equal(adjust('native', 'i40e', HEAD, -216).ret, EINVAL, 'what works on mlx5 fails here');
  assert.deepEqual(adjust('native', 'i40e', TAIL, 1472), { ret: 0, len: 1536 }, '2048 - 192 - 320 bytes of data area');
  assert.equal(adjust('native', 'i40e', TAIL, 1473).ret, EINVAL);
  assert.equal(adjust('native', 'i40e', TAIL, 3456).ret, EINVAL);
  assert.equal(adjust('native', 'i40e', META, -152).ret, 0);
  assert.equal(adjust('native', 'i40e', META, -156).ret, EINVAL);
});

test('generic: XDP_PACKET_HEADROOM whatever the profile; the tail grows only into the driver buffer', { skip: noClang }, () => {
  assert.deepEqual(adjust('generic', 'i40e', HEAD, -216), { ret: 0, len: 280 });
  assert.equal(adjust('generic', 'i40e', HEAD, -217).ret, EINVAL);
  assert.equal(adjust('generic', 'i40e', TAIL, 1472).ret, 0);
  assert.equal(adjust('generic', 'i40e', TAIL, 1473).ret, EINVAL);
  assert.equal(adjust('generic', 'mlx5', TAIL, 3456).ret, 0);
  assert.equal(adjust('generic', 'mlx5', TAIL, 3457).ret, EINVAL);
  // A jumbo frame is linearised: its tail can grow only into the cache-line slack after it (9000 -> 9024).
  const big = adjust('generic', 'mlx5', TAIL, 24, 9000);
  assert.deepEqual(big, { ret: 0, len: 9024 });
  assert.equal(adjust('generic', 'mlx5', TAIL, 25, 9000).ret, EINVAL);
});

/** A 9000-byte frame with a probe offset after the Ethernet header and deadbeef at byte 8000. */
function jumbo(probe: number): Uint8Array {
  const f = ethFrame([probe & 0xff, probe >> 8], 9000);
  f.set([0xde, 0xad, 0xbe, 0xef], 8000);
  return f;
}

function frags(mode: DriverMode, program: 'with_frags' | 'without_frags', profile: 'mlx5' | 'i40e', frame: Uint8Array) {
  const { driver, session } = setup('frags.c', { mode, program, profile: PROFILES[profile] });
  const r = driver.receive(frame);
  driver.finish();
  const out = bss(session);
  return {
    r,
    s: driver.stats(),
    loadRet: Number(out.readBigInt64LE(0)),
    linear: out.readUInt32LE(8),
    buffLen: out.readUInt32LE(12),
    probed: out.subarray(16, 20).toString('hex'),
  };
}

test('multi-buffer: an xdp.frags program sees the whole 9000-byte frame through its fragments', { skip: noClang }, () => {
  const m = frags('native', 'with_frags', 'mlx5', jumbo(8000));
  assert.equal(m.linear, 3520, 'the linear part ends at the first buffer');
  assert.equal(m.buffLen, 9000, 'bpf_xdp_get_buff_len counts the fragments');
  assert.equal(m.loadRet, 0);
  assert.equal(m.probed, 'deadbeef', 'bpf_xdp_load_bytes reads across into the fragments');
  assert.equal(m.r.note, undefined);
  assert.equal(m.r.out.length, 9000, 'the whole frame leaves the program');
  assert.equal(m.s.rx_multibuf, 1);
  // Three buffers (3520 + 4096 + 1384) from the pool, all handed to the skb.
  assert.equal(m.s.page_pool_alloc_fast + m.s.page_pool_alloc_slow, 3);
  assert.equal(m.s.page_pool_released, 3);

  const i = frags('native', 'with_frags', 'i40e', jumbo(8000));
  assert.equal(i.linear, 1536);
  assert.equal(i.buffLen, 9000);
  assert.equal(i.probed, 'deadbeef');
  // 1536 linear + five 1536-byte buffers and a sixth for the last 1320 bytes.
  assert.equal(i.s.page_pool_alloc_fast + i.s.page_pool_alloc_slow, 6);

  const past = frags('native', 'with_frags', 'mlx5', jumbo(8997));
  assert.equal(past.loadRet, EINVAL, 'a read past the end of the last fragment fails');
});

test('multi-buffer: a program without frags support runs the split frame, as BPF_PROG_TEST_RUN does, with a note', { skip: noClang }, () => {
  const m = frags('native', 'without_frags', 'mlx5', jumbo(8000));
  assert.equal(m.linear, 3520, 'test_run splits beyond 3520 bytes even without BPF_F_XDP_HAS_FRAGS');
  assert.equal(m.buffLen, 9000);
  assert.equal(m.probed, 'deadbeef');
  assert.match(m.r.note ?? '', /xdp\.frags/);
  assert.match(m.r.note ?? '', /refuses/);
  const fits = frags('native', 'without_frags', 'mlx5', ethFrame([0, 0], 3520));
  assert.equal(fits.linear, 3520);
  assert.equal(fits.r.note, undefined, 'a frame that fits one buffer needs no note');
  assert.equal(fits.s.rx_multibuf, 0);
  const over = frags('native', 'without_frags', 'mlx5', ethFrame([0, 0], 3521));
  assert.equal(over.linear, 3520);
  assert.equal(over.buffLen, 3521);
  assert.equal(over.s.rx_multibuf, 1);
});

test('multi-buffer in generic mode: linearised for plain programs, page_pool fragments for xdp.frags ones', { skip: noClang }, () => {
  const plain = frags('generic', 'without_frags', 'i40e', jumbo(8000));
  assert.equal(plain.linear, 9000, 'pskb_expand_head + skb_linearize: one linear buffer');
  assert.equal(plain.buffLen, 9000);
  assert.equal(plain.r.note, undefined);
  const withFrags = frags('generic', 'with_frags', 'i40e', jumbo(8000));
  assert.equal(withFrags.linear, 3520, 'skb_cow_data_for_xdp: one page of head, the rest in page fragments');
  assert.equal(withFrags.buffLen, 9000);
  assert.equal(withFrags.probed, 'deadbeef');
});

test('multi-buffer in readonly-page mode: PASS copies the headers and keeps every buffer as a fragment', { skip: noClang }, () => {
  const m = frags('readonly-page', 'with_frags', 'mlx5', jumbo(8000));
  assert.equal(m.r.path, 'napi_alloc_skb+copy');
  assert.equal(m.r.copied, 14, 'an unknown EtherType: only the Ethernet header is a header');
  assert.equal(m.s.page_pool_released, 3);
});

test('adjust_tail on fragments: the last fragment grows up to its buffer size per profile; shrinking frees buffers', { skip: noClang }, () => {
  const grow = (profile: 'mlx5' | 'i40e', delta: number) => {
    const { driver, session } = setup('adjust.c', { mode: 'native', profile: PROFILES[profile] });
    driver.receive(ethFrame([TAIL, ...le32(delta)], 9000));
    return Number(bss(session).readBigInt64LE(0));
  };
  // mlx5: last fragment 9000 - 3520 - 4096 = 1384 bytes of a 4096-byte buffer.
  assert.equal(grow('mlx5', 4096 - 1384), 0);
  assert.equal(grow('mlx5', 4096 - 1384 + 1), EINVAL);
  // i40e: last fragment 9000 - 5 * 1536 = 1320 bytes of a 1536-byte buffer.
  assert.equal(grow('i40e', 1536 - 1320), 0);
  assert.equal(grow('i40e', 1536 - 1320 + 1), EINVAL);

  const { driver, session } = setup('adjust.c', { mode: 'native', profile: PROFILES.mlx5 });
  const r = driver.receive(ethFrame([TAIL, ...le32(-5000)], 9000));
  driver.finish();
  assert.equal(Number(bss(session).readBigInt64LE(0)), 0);
  assert.equal(r.out.length, 4000);
  const s = driver.stats();
  assert.equal(s.page_pool_recycle_cached, 1, 'the emptied last buffer goes back to the pool');
  assert.equal(s.page_pool_released, 2, 'the other two go with the skb');
});
