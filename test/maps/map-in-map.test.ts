// Maps of maps against the kernel: BTF inner-map templates, slots filled in the source and from a seed, lookups
// returning inner maps that lookup/update/delete/redirect_map take, and the verifier's refusal of an outer-map update
// from a program. Each program runs over the shared captures and synthetic frames on both sides; retval, data_out and
// every map after the last packet (outer maps as the names of the maps in their slots) must agree byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session, XdpLensError } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel, KernelLoadError } from '../kernel/runner.ts';
import { REPO, sharedPath } from '../repo.ts';
import { differences, packets } from './kernel-diff.ts';

const PROGRAMS = join(REPO, 'test', 'maps', 'programs');
const MIM = join(PROGRAMS, 'map_in_map.c');
const le32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer).toString('hex');

test('maps of maps: static slots, inner lookups, updates, deletes and redirect_map agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const { problems, session } = differences(MIM, { program: 'mim' });
  assert.deepEqual(problems, []);
  const maps = session.mapsJson();
  assert.deepEqual(maps.by_len, [{ key: le32(0), map: 'counts_a' }, { key: le32(2), map: 'counts_b' }]);
  assert.ok(maps.counts_a.some((e) => e.value !== '0000000000000000'), 'the inner map was written through the outer lookup');
});

test('maps of maps: a slot seeded with another map of the program (--maps {"key": .., "map": NAME}) agrees with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const seed = { by_len: [{ key: le32(1), map: 'counts_b' }, { key: le32(3), map: 'counts_a' }], by_proto: [{ key: le32(0), map: 'sizes_a' }] };
  const { problems, session } = differences(MIM, { program: 'mim', maps: seed });
  assert.deepEqual(problems, []);
  assert.equal(session.mapsJson().by_len.length, 4);
});

test('maps of maps: the kernel refuses bpf_map_update_elem on an outer map from a program; the simulator faults alike', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-mim-'));
  const src = join(dir, 'outer_update.c');
  writeFileSync(src, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct inner a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps");
SEC("xdp") int upd(struct xdp_md *ctx) { __u32 k = 0; __u32 v = 0; bpf_map_update_elem(&outer, &k, &v, 0); return XDP_PASS; }
char _license[] SEC("license") = "GPL";
`);
  const compiled = compileC(src);
  assert.ok(compiled.objectPath, compiled.stderr);
  assert.throws(() => runKernel(compiled.objectPath!, 'upd', [new Uint8Array(64)]), (e: unknown) =>
    e instanceof KernelLoadError && /cannot pass map_type 12 into func bpf_map_update_elem#2/.test(e.log));
  const s = new Session(loadProgramFile(src), {});
  const r = s.runPacket(new Uint8Array(64));
  assert.equal(r.fault?.kind, 'helper-misuse');
  assert.match(r.fault!.message, /cannot pass map_type 12 into func bpf_map_update_elem#2/);
});

test('maps of maps: seeds are checked against the inner-map template as the kernel checks them (bpf_map_meta_equal)', () => {
  const obj = loadProgramFile(MIM);
  assert.throws(() => new Session(obj, { maps: { by_len: [{ key: 1, map: 'sizes_a' }] } }), (e: unknown) =>
    e instanceof XdpLensError && /entry 0: map sizes_a \(type 1.*does not match the inner-map template/.test(e.message));
  assert.throws(() => new Session(obj, { maps: { by_len: [{ key: 1, map: 'nope' }] } }), /no map named 'nope'/);
  assert.throws(() => new Session(obj, { maps: { by_len: [{ key: 1 }] } }), /takes "map".*or "inner"/);
  assert.throws(() => new Session(obj, { maps: { by_len: [{ key: 9, map: 'counts_a' }] } }), /index 9 is outside map by_len/);
});

test('maps of maps: inline inner entries make a map of their own; the dump round-trips through --maps', () => {
  const obj = loadProgramFile(MIM);
  const seed = { by_len: [{ key: 1, inner: [{ key: 0, value: '0500000000000000' }] }, { key: 3, map: 'mine', inner: [] }] };
  const s = new Session(obj, { maps: seed });
  const dump = s.mapsJson();
  assert.deepEqual(dump.by_len.map((e) => [e.key, e.map]), [[le32(0), 'counts_a'], [le32(1), `by_len[${le32(1)}]`], [le32(2), 'counts_b'], [le32(3), 'mine']]);
  assert.equal(dump.by_len[1].inner![0].value, '0500000000000000');
  // A packet of length 61 (slot 1) adds its length to the seeded inner map's counter 0.
  s.runPacket(new Uint8Array(61));
  const after = s.mapsJson();
  assert.equal(after.by_len[1].inner![0].value, Buffer.from(new BigUint64Array([5n + 61n]).buffer).toString('hex'));
  assert.equal(after.counts_a[0].value, '0000000000000000', 'the program maps are untouched');
  const again = new Session(loadProgramFile(MIM), { maps: after });
  assert.deepEqual(again.mapsJson(), after);
});

const MIM_SELFTEST = 'linux/tools/testing/selftests/bpf/progs/test_map_in_map.c';

test('corpus test_map_in_map.c (outer maps without an inner template): the default template and the kernel agree', (t) => {
  const src = join(sharedPath('realworld'), MIM_SELFTEST);
  if (!existsSync(src)) return void t.skip(`${src} not present (the real-world corpus is optional)`);
  const flags = ['-Iinclude', '-Iinclude/bpf', '-Ilinux/tools/testing/selftests/bpf', '-I/usr/include/x86_64-linux-gnu']
    .map((f) => (f.startsWith('-I') && !f.startsWith('-I/') ? `-I${join(sharedPath('realworld'), f.slice(2))}` : f));
  // Without a seed both outer slots are empty: every packet is XDP_DROP on both sides.
  const s = new Session(loadProgramFile(src, { clangFlags: flags }), {});
  assert.equal(s.runPacket(new Uint8Array(64)).action, 'XDP_DROP');
  assert.equal(s.machine.maps.find((m) => m.def.name === 'mim_array')!.innerTemplate!().type, 2);
  if (kernelOrSkip(t)) return;
  const { problems } = differences(src, { program: 'xdp_mimtest0', flags, kernel: { xdpType: true, innerMapTemplate: true, only: true } }, packets().slice(0, 20));
  assert.deepEqual(problems, []);
});
