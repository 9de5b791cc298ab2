// readonly-page mode: every write into packet memory faults on its source line and the packet is counted like an
// aborted one; the same program in native and generic mode writes freely.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setup, udpFrame, noClang, PROGRAMS } from './helpers.ts';

/** 1-based line of the first source line containing `marker`. */
function lineOf(file: string, marker: string): number {
  const lines = readFileSync(join(PROGRAMS, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `${marker} not in ${file}`);
  return i + 1;
}

const CASES = [
  { sel: 1, marker: '// STORE', what: 'a direct store into the Ethernet header' },
  { sel: 2, marker: '// STORE_BYTES', what: 'bpf_xdp_store_bytes' },
  { sel: 3, marker: '// META_STORE', what: 'a store into the metadata area' },
];

for (const c of CASES) {
  test(`readonly-page: ${c.what} faults with readonly-page-write at write.c:${lineOf('write.c', c.marker)}`, { skip: noClang }, () => {
    const { driver } = setup('write.c', { mode: 'readonly-page' });
    const frame = udpFrame(64, c.sel);
    const r = driver.receive(frame);
    assert.ok(r.fault, 'the write faults');
    assert.equal(r.fault.kind, 'readonly-page-write');
    assert.match(r.fault.loc?.file ?? '', /write\.c$/);
    assert.equal(r.fault.loc?.line, lineOf('write.c', c.marker));
    assert.equal(r.action, 'XDP_ABORTED');
    assert.equal(r.path, 'xdp_exception');
    assert.deepEqual(r.out.subarray(r.metaLen), frame, 'the page is unchanged');
    driver.finish();
    const s = driver.stats();
    assert.equal(s.rx_xdp_fault, 1);
    assert.equal(s.rx_xdp_aborted, 1, 'counted like an aborted packet');
    assert.equal(s.rx_xdp_pass, 0);
    assert.equal(s.page_pool_recycle_cached, 1, 'the page goes back to the pool like any aborted frame');
  });
}

for (const mode of ['native', 'generic'] as const) {
  test(`${mode}: the same writes succeed and the rewritten bytes leave the program`, { skip: noClang }, () => {
    const { driver } = setup('write.c', { mode });
    const direct = driver.receive(udpFrame(64, 1));
    assert.equal(direct.fault, undefined);
    assert.equal(direct.action, 'XDP_PASS');
    assert.equal(direct.out[0], 0x02);
    const helper = driver.receive(udpFrame(64, 2));
    assert.equal(helper.fault, undefined);
    assert.deepEqual([...helper.out.subarray(0, 6)], [0x02, 0, 0, 0, 0, 0x99]);
    const meta = driver.receive(udpFrame(64, 3));
    assert.equal(meta.fault, undefined);
    assert.equal(meta.metaLen, 4);
    assert.deepEqual([...meta.out.subarray(0, 4)], [0xcd, 0xab, 0, 0], 'metadata precedes the frame in the output');
    driver.finish();
    assert.equal(driver.stats().rx_xdp_fault, 0);
    assert.equal(driver.stats().rx_xdp_pass, 3);
  });
}

test('readonly-page: a program that only reads passes every packet', { skip: noClang }, () => {
  const { driver } = setup('write.c', { mode: 'readonly-page' });
  const r = driver.receive(udpFrame(64, 0));
  assert.equal(r.fault, undefined);
  assert.equal(r.path, 'napi_alloc_skb+copybreak');
});
