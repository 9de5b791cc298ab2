// Special fields of a map value (bpf_spin_lock, bpf_timer, kptrs) found through arrays: a damaged or hostile BTF may
// declare an array of 2^31 elements; the walk must not visit each one (it took minutes: hardening fuzz case 2221).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BTF_KIND, btfSpecialFields, type Btf, type BtfType } from '../../simulator/elf/btf.ts';

const type = (id: number, kind: number, name: string, sizeOrType: number, extra: Partial<BtfType> = {}): BtfType =>
  ({ id, kind, name, vlen: 0, kflag: false, sizeOrType, ...extra });

const HUGE = 2 ** 31 - 1;
const btf: Btf = {
  types: [
    undefined,
    type(1, BTF_KIND.INT, 'u64', 8, { int: { encoding: 0, offset: 0, bits: 64 } }),
    type(2, BTF_KIND.ARRAY, '', 0, { array: { type: 7, indexType: 1, nelems: HUGE } }),
    type(3, BTF_KIND.STRUCT, 'bpf_spin_lock', 4, { members: [] }),
    type(4, BTF_KIND.ARRAY, '', 0, { array: { type: 3, indexType: 1, nelems: HUGE } }),
    type(5, BTF_KIND.STRUCT, 'value', 16, { vlen: 2, members: [{ name: 'n', type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: 'l', type: 3, bitOffset: 64, bitfieldSize: 0 }] }),
    type(6, BTF_KIND.ARRAY, '', 0, { array: { type: 5, indexType: 1, nelems: 3 } }),
    type(7, BTF_KIND.STRUCT, 'plain', 32, { vlen: 4, members: [0, 1, 2, 3].map((i) => ({ name: `f${i}`, type: 1, bitOffset: 64 * i, bitfieldSize: 0 })) }),
  ],
  strings: new Uint8Array(1),
  str: () => '',
};

test('an array of 2^31 structs of plain numbers has no special field, found without visiting every element', () => {
  // A hang guard, not a speed target: visiting every element took about 2 minutes; the answer needs one element.
  const t0 = performance.now();
  assert.deepEqual(btfSpecialFields(btf, 2), []);
  assert.ok(performance.now() - t0 < 15_000, 'the walk visited every element of the array');
});

test('an array of locks lists each one up to the cap, and a small array of values each lock at its offset', () => {
  const locks = btfSpecialFields(btf, 4);
  assert.ok(locks.length > 1000 && locks.length <= 1025, String(locks.length));
  assert.deepEqual(locks.slice(0, 3).map((f) => f.off), [0, 4, 8]);
  assert.deepEqual(btfSpecialFields(btf, 6).map((f) => [f.off, f.kind]), [[8, 'bpf_spin_lock'], [24, 'bpf_spin_lock'], [40, 'bpf_spin_lock']]);
});
