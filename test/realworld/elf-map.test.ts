// Legacy map definitions in iproute2's struct bpf_elf_map layout (fixtures/elf_map.c: bpf_map_def's five words, then
// id and pinning set), as real programs written for `ip link ... xdp obj` declare them (cody0704/xdp-examples'
// network_tap and forward_packets). The kernel harness's legacy loader creates the maps from the first five words,
// as iproute2 does; the simulator used to refuse the object ("unrecognised non-zero bytes after struct bpf_map_def").
// Both sides must load it and agree on every packet and on the maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { sessionVsKernel } from './session-vs-kernel.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'elf_map.c');
const SEED = { out_port: [{ key: '00000000', value: '01000000' }] }; // slot 0 -> lo: UDP is redirected

test('legacy maps in struct bpf_elf_map layout (id, pinning set) load and run as in the kernel', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const packets = syntheticCorpus();
  const kernel = runKernel(compiled.objectPath, 'elf_map_prog', packets.map((p) => p.bytes), { objectName: 'elf_map', maps: SEED, only: true, netns: true });
  assert.equal(kernel.program?.legacy, true, 'loaded through the legacy path');
  assert.ok(kernel.results.every((r) => r.errno === undefined), 'every packet ran');
  assert.deepEqual([...new Set(kernel.results.map((r) => r.retval))].sort(), [2, 4], 'PASS and REDIRECT both taken');

  const { object } = loadProgramFileWithObject(SRC);
  const session = new Session(object, { program: 'elf_map_prog', nrCpus: kernel.cpus, cpu: 0, maps: SEED });
  const problems = sessionVsKernel(session, packets, kernel);
  assert.equal(problems.length, 0, `the simulator differs from the kernel:\n  ${problems.slice(0, 12).join('\n  ')}`);
  assert.ok(Object.keys(kernel.maps).includes('by_proto') && kernel.maps.by_proto!.length > 0, 'the hash map was filled');
});
