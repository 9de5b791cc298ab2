// iproute2's maps of maps (struct bpf_elf_map in SEC("maps"): inner_id names the inner-map template, inner_idx
// stores a map in the outer maps at load), as cilium's maglev tables were declared: the kernel harness's legacy loader
// creates them as iproute2's lib/bpf_legacy.c does, and the simulator must run the object alike, packet by packet and
// map by map (before, it refused the object: "an inner map named there is not supported").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { sessionVsKernel } from './session-vs-kernel.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'elf_map_in_map.c');
// Two maps of the seed's own in LUT_OUTER (made from its template, LUT_INNER); slot 3 of SLOTS gets TABLE_A too.
const SEED = {
  LUT_OUTER: [
    { key: '0000', map: 'lut0', inner: [{ key: '00000000', value: '0300000000000000' }, { key: '01000000', value: '0900000000000000' }] },
    { key: '0800', map: 'lut8', inner: [{ key: '00000000', value: '0400000000000000' }] },
    { key: '0100', map: 'lut1', inner: [] },
  ],
  SLOTS: [{ key: '03000000', map: 'TABLE_A' }],
};

function frames(): { name: string; bytes: Uint8Array }[] {
  const out = syntheticCorpus().map((p) => ({ name: p.name, bytes: p.bytes }));
  // Every (slot, sel) pair the program reads: ethertype bytes 12 and 13.
  for (let i = 0; i < 32; i++) {
    const b = new Uint8Array(60 + i);
    b[12] = i & 3;
    b[13] = (i >> 2) & 3 | (i & 16 ? 8 : 0);
    out.push({ name: `sel${i}`, bytes: b });
  }
  return out;
}

test('iproute2 maps of maps: inner_id templates and inner_idx slots agree with the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const packets = frames();
  const kernel = runKernel(compiled.objectPath, 'elf_mim', packets.map((p) => p.bytes), { objectName: 'elf_map_in_map', maps: SEED, only: true });
  assert.equal(kernel.program?.legacy, true, 'loaded through the legacy path');
  assert.ok(kernel.results.every((r) => r.errno === undefined), 'every packet ran');
  // The kernel took every branch: no slot (DROP), a table slot (PASS) and both lookup-table values (PASS, TX).
  assert.deepEqual([...new Set(kernel.results.map((r) => r.retval))].sort(), [1, 2, 3]);
  const slots = (kernel.maps.SLOTS ?? []).map((e) => `${e.key}:${e.map ?? ''}`).sort();
  assert.deepEqual(slots, ['00000000:TABLE_A', '02000000:TABLE_B', '03000000:TABLE_A'], 'inner_idx placed TABLE_A and TABLE_B');

  const { object } = loadProgramFileWithObject(SRC);
  const session = new Session(object, { program: 'elf_mim', nrCpus: kernel.cpus, cpu: 0, maps: SEED });
  const problems = sessionVsKernel(session, packets, kernel);
  assert.equal(problems.length, 0, `the simulator differs from the kernel:\n  ${problems.slice(0, 12).join('\n  ')}`);
});

test('iproute2 maps of maps: an inner_id naming no map is refused on both sides', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC, { flags: ['-DLUT_INNER_ID=77'] });
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  assert.throws(() => runKernel(compiled.objectPath!, 'elf_mim', [new Uint8Array(60)], { objectName: 'elf_map_in_map', only: true }), /no map with id 77/);
  const { object } = loadProgramFileWithObject(compiled.objectPath);
  assert.throws(() => new Session(object, { program: 'elf_mim' }), /inner_id 77 names no map/);
});
