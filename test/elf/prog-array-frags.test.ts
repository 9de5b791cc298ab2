// A PROG_ARRAY filled statically (`.values = { [i] = &prog }`) with programs whose xdp.frags differs from the map's
// owner (the program that tail-calls through it, else the first program in it): the kernel refuses the slot and
// libbpf the whole object; the simulator must refuse it too, and load the objects whose programs agree. Against the
// kernel's loader. Found by the C fuzzer (test/fuzz/cfuzz.test.ts): an xdp.frags program tail-calling a plain xdp
// program ran in the simulator, the kernel refused the object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { defaultObjectName, KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';

function source(entry: string, slots: [number, string][], uses: boolean): string {
  return `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp") int plain(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp.frags") int frags(struct xdp_md *ctx) { return XDP_TX; }
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = {
  .values = { ${slots.map(([i, p]) => `[${i}] = (void *)&${p}`).join(', ')} } };
SEC("${entry}") int entry(struct xdp_md *ctx) { ${uses ? 'bpf_tail_call(ctx, &jt, 1);' : ''} return XDP_PASS; }
`;
}

const CASES: { name: string; entry: string; slots: [number, string][]; uses: boolean; loads: boolean }[] = [
  { name: 'xdp.frags entry, plain slot', entry: 'xdp.frags', slots: [[1, 'plain']], uses: true, loads: false },
  { name: 'plain entry, xdp.frags slot', entry: 'xdp', slots: [[1, 'frags']], uses: true, loads: false },
  { name: 'xdp.frags entry and slot', entry: 'xdp.frags', slots: [[1, 'frags']], uses: true, loads: true },
  { name: 'plain entry and slot', entry: 'xdp', slots: [[1, 'plain'], [2, 'plain']], uses: true, loads: true },
  { name: 'no user, mixed slots', entry: 'xdp', slots: [[1, 'plain'], [2, 'frags']], uses: false, loads: false },
  { name: 'no user, xdp.frags slots', entry: 'xdp', slots: [[0, 'frags'], [3, 'frags']], uses: false, loads: true },
];

test('a program array mixing xdp.frags and plain programs is refused as the kernel refuses it', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-progarray-frags-'));
  const seen: string[] = [];
  CASES.forEach((c, n) => {
    const path = join(dir, `pa${n}.bpf.c`);
    writeFileSync(path, source(c.entry, c.slots, c.uses));
    const compiled = compileC(path);
    assert.ok(compiled.objectPath, compiled.stderr);
    let kernelLoads = true;
    try {
      runKernel(compiled.objectPath, 'entry', [new Uint8Array(64)], { objectName: defaultObjectName(path) });
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
      kernelLoads = false;
    }
    let simLoads = true;
    let why = '';
    try {
      loadProgramFile(path);
    } catch (e) {
      simLoads = false;
      why = (e as Error).message;
    }
    seen.push(`${c.name}: kernel ${kernelLoads ? 'loads' : 'refuses'}, simulator ${simLoads ? 'loads' : `refuses (${why.split('\n')[0]})`}`);
    assert.equal(kernelLoads, c.loads, `${c.name}: the kernel ${kernelLoads ? 'loads' : 'refuses'} it`);
    assert.equal(simLoads, kernelLoads, seen.at(-1));
    if (!simLoads) assert.match(why, /xdp\.frags/);
  });
});
