// Differential test against the kernel on real XDP programs nobody here wrote: every XDP program of the corpus in
// ../shared/realworld (corpus.tsv) is compiled with its row's clang flags, loaded in the kernel the way its notes say a
// loader must (test/kernel/harness.c: that program only, type XDP for unknown sections, BPF_XDP_DEVMAP for the pre-1.0
// `xdp_devmap/` name, max_entries-0 maps sized to nproc, inner-map templates, a veth for device-bound programs, legacy
// `SEC("maps")` objects through a syscall-level loader) and in the simulator, and both run the same packets (the
// first frames of every shared capture plus the parity corpus's synthetic edge cases) with fresh state. Per packet the
// return value and data_out must be byte-identical, and after the last packet every map, except where the simulator's
// value comes from the clock or bpf_get_prandom_u32 (found as `compare` finds it: bytes that change between runs with
// other clock origins and random streams; counted apart). Maps are seeded from
// test/realworld/seeds/<directory>/<file stem>[.<program>].json (the --maps schema) where a program needs entries to
// make real decisions (backends, rules, redirect targets).
//
// A program fails when the kernel loads it and the simulator does not load it, faults, or differs on any packet or map.
// Skipped, with the reason: rows the kernel refuses (corpus.tsv kernel_loads no, or the refused program of a partial
// row) and programs the kernel loads but BPF_PROG_TEST_RUN will not run (devmap/cpumap programs, device-bound ones),
// when the simulator loads them. KNOWN_FAILURES lists what does not agree yet, each with its reason; such a program is
// reported as TODO, and fails once it agrees so that the list is shrunk.
// Needs root, gcc, libbpf-dev, clang, bpftool and a working bpf(); skips otherwise (fails under XDP_LENS_REQUIRE_KERNEL=1).
// Env XDP_LENS_REALWORLD_ONLY=substr,... restricts the run to rows whose path or program contains one of the strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernelOrSkip } from '../kernel/runner.ts';
import { REALWORLD, corpusPrograms, packetSet, readCorpus, runProgram, type ProgramResult } from './corpus.ts';

/** `<path>#<program>` -> why it does not agree with the kernel yet. Keep it true: a listed program that agrees fails. */
export const KNOWN_FAILURES: Record<string, string> = {
};

const present = existsSync(join(REALWORLD, 'corpus.tsv'));
const only = process.env.XDP_LENS_REALWORLD_ONLY?.split(',').filter(Boolean);
const entries = present
  ? corpusPrograms(readCorpus()).filter(({ row, program }) => !only || only.some((s) => row.path.includes(s) || program === s))
  : [];
const results: ProgramResult[] = [];
let packets: ReturnType<typeof packetSet> | undefined;

test('realworld corpus', (t) => {
  if (!present) {
    t.skip(`no real-world corpus at ${REALWORLD} (set XDP_LENS_SHARED to the directory holding realworld/)`);
    return;
  }
  assert.ok(entries.length >= 1, `expected XDP programs in ${join(REALWORLD, 'corpus.tsv')}, found none`);
  // Another corpus (XDP_LENS_SHARED) may not have them: say so rather than fail.
  const absent = Object.keys(KNOWN_FAILURES).filter((key) => !entries.some(({ row, program }) => `${row.path}#${program}` === key));
  if (absent.length && !only) t.diagnostic(`KNOWN_FAILURES entries not in this corpus: ${absent.join(', ')}`);
});

for (const { row, program } of entries) {
  const key = `${row.path}#${program}`;
  test(`realworld ${key}`, (t) => {
    if (row.kernelLoads === 'no') {
      t.skip(`the kernel refuses it (corpus.tsv): ${row.notes.slice(0, 200)}`);
      return;
    }
    if (kernelOrSkip(t)) return;
    packets ??= packetSet();
    const r = runProgram(row, program, packets.frames);
    results.push(r);
    assert.ok(r.compiles, `${row.path} does not compile with its corpus flags:\n${r.compileError}`);
    if (!r.kernelLoads && row.kernelLoads === 'partial') {
      t.skip(`the kernel refuses this program of a partially loading row (corpus.tsv): ${r.kernelError?.split('\n').slice(-3).join(' | ')}`);
      return;
    }
    if (!r.kernelLoads && r.buildRefusal) {
      // This kernel build takes a helper from XDP that 6.18 gives it: run must refuse the program as the kernel does.
      assert.ok(r.simRefusesToo, `${key}: this kernel refuses ${r.buildRefusal} for XDP; run does not say so before the first packet`);
      t.diagnostic(`${key}: this kernel build refuses ${r.buildRefusal} for XDP (6.18 does not); run refuses it too, so no packets to compare`);
      return;
    }
    assert.ok(r.kernelLoads, `corpus.tsv says the kernel loads ${key}, but the harness could not:\n${r.kernelError}`);
    assert.ok(!r.harnessError, `${key}: ${r.harnessError}`);

    const known = KNOWN_FAILURES[key];
    const problems: string[] = [];
    if (!r.simLoads) problems.push(`the simulator does not load it:\n    ${r.simError?.replace(/\n/g, '\n    ')}`);
    else if (r.kernelRuns) {
      const packetsOff = r.packets - r.packetsAgreeing - r.packetsClockRandom;
      const mapsOff = r.maps - r.mapsAgreeing - r.mapsClockRandom;
      if (packetsOff) problems.push(`${packetsOff} of ${r.packets} packets differ`);
      if (mapsOff) problems.push(`${mapsOff} of ${r.maps} maps differ`);
      problems.push(...r.differences.map((d) => `  ${d}`));
    }
    const failing = problems.length > 0;
    if (known) {
      assert.ok(failing, `${key} is listed in KNOWN_FAILURES (${known}) but no longer fails: remove it from the list`);
      t.todo(`known failure: ${known}`);
    }
    if (!failing && !r.kernelRuns) {
      t.skip(`the kernel loads it (${r.loading.join('; ') || 'as is'}) but cannot run it: ${r.kernelRunError}`);
      return;
    }
    assert.equal(failing, false, `${key} (${packets.note}${r.seed ? `, seeded from ${r.seed}` : ''}):\n  ${problems.join('\n  ')}`);
    if (r.packetsClockRandom || r.mapsClockRandom) {
      t.diagnostic(`${r.packetsClockRandom} packets and ${r.mapsClockRandom} maps differ only where the value comes from the clock or bpf_get_prandom_u32`);
    }
  });
}

test('realworld summary', (t) => {
  const ran = results.filter((r) => r.simLoads && r.kernelRuns);
  const agree = ran.filter((r) => r.agrees);
  const sum = (f: (r: ProgramResult) => number) => results.reduce((a, r) => a + f(r), 0);
  t.diagnostic(`programs tried: ${results.length}; the kernel loads ${results.filter((r) => r.kernelLoads).length}, ` +
    `runs ${results.filter((r) => r.kernelRuns).length}; the simulator loads ${results.filter((r) => r.simLoads).length}; ` +
    `compared ${ran.length}, agreeing ${agree.length}; packets agreeing ${sum((r) => r.packetsAgreeing)}/${sum((r) => r.packets)} ` +
    `(+${sum((r) => r.packetsClockRandom)} clock/random-dependent), maps agreeing ${sum((r) => r.mapsAgreeing)}/${sum((r) => r.maps)} ` +
    `(+${sum((r) => r.mapsClockRandom)} clock/random-dependent)`);
});
