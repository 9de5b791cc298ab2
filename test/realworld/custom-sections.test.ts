// Global-data maps of custom sections (`.rodata.frame_limits`, `.data.frame_counters`, ...) go by the full section
// name, as libbpf shows them to its users (bpf_map__name) and the kernel harness reports them; the simulator used to
// cut them to the kernel's 15 characters (`.data.frame_cou`), so a run's map dump and a seed named as libbpf names the
// map did not match the kernel's (tk154/eBPF-Firewall's `.rodata.cpu_count`). Both sides must agree on names, on
// every packet and on the maps' contents, with a seed that sets a custom .rodata before load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { normaliseSimMaps } from '../parity/compare.ts';
import { syntheticCorpus } from '../parity/packets.ts';
import { REPO } from '../repo.ts';
import { sessionVsKernel } from './session-vs-kernel.ts';

const SRC = join(REPO, 'test', 'realworld', 'fixtures', 'custom_sections.c');
const SEED = { '.rodata.frame_limits_hi': [{ key: '00000000', value: '64000000' }] }; // drop frames over 100 bytes

test('custom .data.*/.rodata.* maps are named by their full section names, as libbpf names them', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, `cannot compile ${SRC}:\n${compiled.stderr}`);
  const packets = syntheticCorpus();
  const kernel = runKernel(compiled.objectPath, 'custom_sections', packets.map((p) => p.bytes), { objectName: 'custom_sections', maps: SEED, only: true });
  assert.ok(kernel.results.every((r) => r.errno === undefined), 'every packet ran');
  assert.deepEqual([...new Set(kernel.results.map((r) => r.retval))].sort(), [1, 2], 'the seeded bound drops the long frames');

  const { object } = loadProgramFileWithObject(SRC);
  const session = new Session(object, { program: 'custom_sections', nrCpus: kernel.cpus, cpu: 0, maps: SEED });
  const problems = sessionVsKernel(session, packets, kernel);
  const sim = normaliseSimMaps(session.mapsJson({ all: true }));
  assert.deepEqual(Object.keys(sim).sort(), Object.keys(kernel.maps).sort(), 'the same map names');
  assert.equal(problems.length, 0, `the simulator differs from the kernel:\n  ${problems.slice(0, 12).join('\n  ')}`);
});
