// A program in a section libbpf >= 1.0 gives no type (takehaya/Vinbero's SEC("xdp_vinbero_main")) tail-calling
// SEC("xdp") programs: its loader (cilium/ebpf, which takes the "xdp" prefix) gives it type XDP and expected attach
// type BPF_XDP, and the 6.18 kernel's PROG_ARRAY takes only programs of its owner's expected attach type. The kernel
// harness set the type only, so seeding the PROG_ARRAY failed (EINVAL) and nothing was compared. Both sides must run
// the tail calls alike, packet by packet and map by map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { sessionVsKernel } from './session-vs-kernel.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'custom_section_tail.c');
const SEED = { jumps: [{ key: '01000000', program: 'tail_drop' }, { key: '02000000', program: 'tail_tx' }] };

test('a custom-section XDP entry tail-calls SEC("xdp") programs on both sides', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const packets = syntheticCorpus().map((p) => ({ name: p.name, bytes: p.bytes }));
  for (let i = 0; i < 4; i++) {
    const b = new Uint8Array(64);
    b[13] = i;
    packets.push({ name: `slot${i}`, bytes: b });
  }
  const kernel = runKernel(compiled.objectPath, 'custom_entry', packets.map((p) => p.bytes), { objectName: 'custom_section_tail', maps: SEED, only: true, xdpType: true });
  assert.equal(kernel.program?.typeSet, true, 'the type was set for the custom section');
  assert.ok(kernel.results.every((r) => r.errno === undefined), 'every packet ran');
  assert.deepEqual([...new Set(kernel.results.map((r) => r.retval))].sort(), [1, 2, 3], 'PASS, and DROP and TX from the tail calls');

  const { object } = loadProgramFileWithObject(SRC);
  const session = new Session(object, { program: 'custom_entry', nrCpus: kernel.cpus, cpu: 0, maps: SEED });
  const problems = sessionVsKernel(session, packets, kernel);
  assert.equal(problems.length, 0, `the simulator differs from the kernel:\n  ${problems.slice(0, 12).join('\n  ')}`);
});
