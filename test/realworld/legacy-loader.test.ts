// The kernel harness's syscall-level loader for legacy `SEC("maps")` objects (which libbpf 1.x refuses), on a program
// of our own shaped like the old samples (fixtures/legacy_loader.c): legacy map definitions, global data in .data,
// .bss, .rodata and .rodata.cst8, noinline functions in .text called with and without relocations, a PROG_ARRAY seeded
// with the object's second program. The kernel must load and run it through the harness exactly as libbpf 0.x would
// have (global-data maps named as libbpf names them, .rodata seedable before it is frozen); then the simulator, which
// runs the same object, must agree on every packet and map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { sessionVsKernel } from './session-vs-kernel.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'legacy_loader.c');
// .rodata's drop_len set to 1400 before load, as a loader would; slot 1 of `jump` -> legacy_tail (IPv6 frames).
const SEED = {
  'legacy_l.rodata': [{ key: '00000000', value: '78050000' }],
  jump: [{ key: '01000000', program: 'legacy_tail' }],
};
test('legacy loader: the kernel loads and runs a SEC("maps") object with global data, subprograms and a tail call', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const packets = syntheticCorpus();
  const kernel = runKernel(compiled.objectPath, 'legacy_main', packets.map((p) => p.bytes), { objectName: 'legacy_loader', maps: SEED, only: true });
  assert.equal(kernel.program?.legacy, true, 'loaded through the legacy path');
  assert.deepEqual(Object.keys(kernel.maps).sort(), ['.rodata.cst8', 'by_len', 'by_proto', 'jump', 'legacy_l.bss', 'legacy_l.data', 'legacy_l.rodata']);
  assert.equal(kernel.maps['legacy_l.rodata']![0]!.value, '78050000', 'the seeded .rodata image');
  assert.equal(kernel.maps.jump![0]!.program, 'legacy_tail');
  assert.ok(kernel.results.every((r) => r.errno === undefined), 'every packet ran');
  // Every verdict the program has is taken: PASS, DROP (>= 1400 bytes) and TX (the tail call, IPv6 under 1400 bytes).
  assert.deepEqual([...new Set(kernel.results.map((r) => r.retval))].sort(), [1, 2, 3]);

  const { object } = loadProgramFileWithObject(SRC); // the same cached object, named after the source as libbpf would
  const session = new Session(object, { program: 'legacy_main', nrCpus: kernel.cpus, cpu: 0, maps: SEED });
  const problems = sessionVsKernel(session, packets, kernel);
  assert.equal(problems.length, 0, `the simulator differs from the kernel:\n  ${problems.slice(0, 12).join('\n  ')}`);
});
