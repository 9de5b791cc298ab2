// Differential test against the real kernel: every C program in test/parity/programs/ runs over the same packet corpus
// (frames of ../shared/captures/*.pcap plus synthetic edge cases from packets.ts) twice — through BPF_PROG_TEST_RUN
// via test/kernel/runner.ts and through the simulator's Session — with fresh map state per program and the packets
// in the same order. Per packet the return value and data_out must be byte-identical; after the last packet so must
// every map (arrays, hashes, per-CPU values for each possible CPU, global data, PROG_ARRAY slots).
// A failure names the program, the packet index and origin, and a compact diff.
// Needs root, gcc, libbpf-dev, clang and a working bpf() syscall; skips with the reason otherwise (fails instead under
// XDP_LENS_REQUIRE_KERNEL=1). The captures are optional (synthetic frames alone still run).
// Env XDP_LENS_PARITY_ONLY=p05,p18 restricts the run to programs whose file name starts with one of the prefixes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { buildOnlyRefusal, KernelLoadError, kernelOrSkip, runKernel, type KernelMaps, type KernelRun } from '../kernel/runner.ts';
import { refusalsBeforeRun } from '../../simulator/verifier-refusals.ts';
import { REPO, sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus, type CorpusPacket } from './packets.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from './compare.ts';

const PROGRAMS = join(REPO, 'test', 'parity', 'programs');

interface ProgramSpec {
  flags?: string[];
  program?: string;
  maps?: KernelMaps;
}

const le32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer).toString('hex');

/** Programs needing more than the defaults: compiler flags, a specific entry point, seeded maps. */
const SPECS: Record<string, ProgramSpec> = {
  'p06_lpm.c': {
    maps: {
      routes: [
        { key: '08000000' + '0a000000', value: le32(1) }, // 10.0.0.0/8 -> DROP
        { key: '10000000' + 'c0a80000', value: le32(3) }, // 192.168.0.0/16 -> TX
        { key: '18000000' + 'c0a80100', value: le32(2) }, // 192.168.1.0/24 -> PASS
        { key: '20000000' + '0a000001', value: le32(7) }, // 10.0.0.1/32 -> invalid action 7
      ],
    },
  },
  'p16_atomics.c': { flags: ['-mcpu=v3'] },
  'p18_redirect.c': {
    maps: {
      ports: [{ key: le32(1), value: le32(1) }, { key: le32(3), value: le32(1) }],
      ports_hash: [{ key: le32(7), value: le32(1) }],
    },
  },
  'p19_tailcall.c': { program: 'tail_entry' },
};

function corpus(): { packets: CorpusPacket[]; note: string } {
  const captures = captureCorpus(sharedPath('captures'));
  const synthetic = syntheticCorpus();
  const note = captures.length === 0
    ? `no captures found under ${sharedPath('captures')}; synthetic frames only`
    : `${captures.length} capture frames + ${synthetic.length} synthetic`;
  return { packets: [...captures, ...synthetic], note };
}

const only = process.env.XDP_LENS_PARITY_ONLY?.split(',').filter(Boolean);
const files = readdirSync(PROGRAMS)
  .filter((f) => f.endsWith('.c'))
  .filter((f) => !only || only.some((p) => f.startsWith(p)))
  .sort();

let compared = 0;
let packetRuns = 0;
const failed: string[] = [];

test('parity corpus is not empty', () => {
  assert.ok(files.length >= (only ? 1 : 20), `expected the parity programs in ${PROGRAMS}, found ${files.length}`);
});

const { packets, note } = corpus();

for (const file of files) {
  test(`parity ${file}`, (t) => {
    if (kernelOrSkip(t)) return;
    const spec = SPECS[file] ?? {};
    const src = join(PROGRAMS, file);
    const compiled = compileC(src, { flags: spec.flags });
    assert.ok(compiled.objectPath, `cannot compile ${file}:\n${compiled.stderr}`);
    const obj = loadProgramFile(src, { clangFlags: spec.flags });
    const progName = spec.program ?? new Session(obj, { program: spec.program }).program.name;
    let kernel: KernelRun;
    try {
      kernel = runKernel(compiled.objectPath, progName, packets.map((p) => p.bytes), { objectName: file.split('.')[0], maps: spec.maps });
    } catch (e) {
      const build = e instanceof KernelLoadError ? buildOnlyRefusal(e.log) : undefined;
      if (!build) throw e;
      // This kernel build refuses a helper 6.18 gives XDP: run must refuse the program before its first packet too.
      const s = new Session(obj, { program: spec.program });
      const said = refusalsBeforeRun(obj, s.program, s.machine).filter((r) => r.message.includes(`cannot use helper ${build.words}`));
      assert.equal(said.length, 1, `${file}: this kernel refuses it (${build.words}), run must say so once before the first packet`);
      t.diagnostic(`${file}: this kernel build refuses ${build.words} for XDP (6.18 does not); run refuses it too, so no packets to compare`);
      return;
    }
    const session = new Session(obj, { program: spec.program, nrCpus: kernel.cpus, cpu: 0, maps: spec.maps });

    const problems: string[] = [];
    packets.forEach((pkt, i) => {
      const k = kernel.results[i];
      const s = session.runPacket(pkt.bytes);
      packetRuns++;
      const where = `packet ${i} (${pkt.name}, ${pkt.bytes.length} B)`;
      if (k.errno !== undefined) {
        problems.push(`${where}: kernel test_run failed with errno ${k.errno}`);
        return;
      }
      if (s.fault) problems.push(`${where}: simulator fault ${s.fault.kind ?? ''} ${s.fault.message ?? JSON.stringify(s.fault)}`);
      if (k.retval !== s.retval) problems.push(`${where}: retval kernel ${k.retval} sim ${s.retval}`);
      const d = diffBytes(k.out, s.out);
      if (d) problems.push(`${where}: data_out ${d}`);
    });
    const mapDiff = diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson()));
    problems.push(...mapDiff.map((l) => `final maps: ${l}`));
    compared++;
    if (problems.length > 0) failed.push(file);
    const shown = problems.length > 15 ? [...problems.slice(0, 15), `... ${problems.length - 15} more`] : problems;
    assert.equal(problems.length, 0, `${file} differs from the kernel over ${packets.length} packets (${note}):\n  ${shown.join('\n  ')}`);
  });
}

test('parity summary', (t) => {
  t.diagnostic(`programs compared: ${compared}, packets per program: ${packets.length} (${note}), packet runs: ${packetRuns}, ` +
    `programs differing: ${failed.length}${failed.length ? ` (${failed.join(', ')})` : ''}`);
});
