// A PROG_ARRAY takes only programs of its owner's expected attach type on the 6.18 kernel (kernel/bpf/core.c
// __bpf_prog_map_compatible; the owner: the first loaded program that uses the map, else the first program put in
// it): a SEC("xdp/devmap") or SEC("xdp/cpumap") program cannot go where SEC("xdp") programs tail-call, whether the
// slot is filled in the source (`.values`: libbpf then fails the object) or by a --maps seed (the update fails,
// EINVAL). The simulator ran such tail calls; `compare` then failed on the kernel side ("seeding the kernel's maps
// failed: update failed: Invalid argument"). Against the kernel, both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { Session, loadProgramFile, loadProgramFileWithObject } from '../../simulator/session.ts';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';

function source(slots: [number, string][], uses: boolean): string {
  return `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("xdp") int plain(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp") int plain2(struct xdp_md *ctx) { return XDP_TX; }
SEC("xdp/devmap") int on_dev(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp/cpumap") int on_cpu(struct xdp_md *ctx) { return XDP_DROP; }
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __uint(key_size, 4); __array(values, int (void *)); } jt SEC(".maps") = {
  .values = { ${slots.map(([i, p]) => `[${i}] = (void *)&${p}`).join(', ')} } };
SEC("xdp") int entry(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data;
  if ((void *)(d + 1) > (void *)(long)ctx->data_end) return XDP_ABORTED;
  ${uses ? 'bpf_tail_call(ctx, &jt, d[0] & 3);' : ''}
  return d[0] == 9 ? XDP_DROP : XDP_PASS;
}
`;
}

// Filled in the source.
const STATIC: { name: string; slots: [number, string][]; uses: boolean; loads: boolean }[] = [
  { name: 'xdp user, devmap slot', slots: [[1, 'on_dev']], uses: true, loads: false },
  { name: 'xdp user, cpumap slot', slots: [[2, 'on_cpu']], uses: true, loads: false },
  { name: 'xdp user, xdp slots', slots: [[1, 'plain'], [2, 'plain2']], uses: true, loads: true },
  { name: 'no user, devmap slots', slots: [[0, 'on_dev'], [3, 'on_dev']], uses: false, loads: true },
  { name: 'no user, devmap then cpumap', slots: [[0, 'on_dev'], [1, 'on_cpu']], uses: false, loads: false },
];
// Filled by a seed, the slots of the source empty.
const SEEDED: { name: string; seed: string[]; uses: boolean; loads: boolean }[] = [
  { name: 'xdp user, devmap seeded', seed: ['plain', 'on_dev'], uses: true, loads: false },
  { name: 'xdp user, xdp seeded', seed: ['plain', 'plain2'], uses: true, loads: true },
  { name: 'no user, cpumap then xdp seeded', seed: ['on_cpu', 'plain'], uses: false, loads: false },
  { name: 'no user, cpumap seeded', seed: ['on_cpu', 'on_cpu'], uses: false, loads: true },
];

const frames = [0, 1, 2, 3].map((i) => { const b = new Uint8Array(64); b[0] = i; return b; });

test('a PROG_ARRAY refuses programs of another expected attach type, as the kernel does', (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-progarray-attach-'));
  try {
    STATIC.forEach((c, n) => {
      const path = join(dir, `st${n}.bpf.c`);
      writeFileSync(path, source(c.slots, c.uses));
      const compiled = compileC(path);
      assert.ok(compiled.objectPath, compiled.stderr);
      let kernelLoads = true;
      try {
        runKernel(compiled.objectPath, 'entry', frames, { objectName: defaultObjectName(path) });
      } catch {
        kernelLoads = false;
      }
      assert.equal(kernelLoads, c.loads, `${c.name}: the kernel ${kernelLoads ? 'loads' : 'refuses'} it`);
      let why = '';
      try {
        loadProgramFile(path);
      } catch (e) {
        why = (e as Error).message;
      }
      assert.equal(why === '', c.loads, `${c.name}: simulator ${why ? `refuses (${why.split('\n')[0]})` : 'loads'}`);
      if (why) assert.match(why, /attached to a (devmap|cpumap) entry/);
    });
    SEEDED.forEach((c, n) => {
      const path = join(dir, `sd${n}.bpf.c`);
      writeFileSync(path, source([], c.uses));
      const compiled = compileC(path);
      assert.ok(compiled.objectPath, compiled.stderr);
      const maps = { jt: c.seed.map((program, i) => ({ key: `0${i + 1}000000`, program })) };
      let kernel: ReturnType<typeof runKernel> | undefined;
      let kernelWhy = '';
      try {
        kernel = runKernel(compiled.objectPath, 'entry', frames, { objectName: defaultObjectName(path), maps, only: true });
      } catch (e) {
        kernelWhy = (e as Error).message;
      }
      assert.equal(kernel !== undefined, c.loads, `${c.name}: the kernel ${kernel ? 'takes the seed' : `refuses it: ${kernelWhy.split('\n').slice(-2).join(' ')}`}`);
      if (!kernel) assert.match(kernelWhy, /update jt failed: Invalid argument/);
      for (const engine of ['compiled', 'interp'] as const) {
        const { object } = loadProgramFileWithObject(compiled.objectPath);
        let session: Session | undefined;
        let why = '';
        try {
          session = new Session(object, { program: 'entry', maps, engine, nrCpus: kernel?.cpus, cpu: 0 });
        } catch (e) {
          why = (e as Error).message;
        }
        assert.equal(session !== undefined, c.loads, `${c.name} (${engine}): simulator ${why ? `refuses (${why})` : 'takes the seed'}`);
        if (!session) assert.match(why, /the kernel refuses to put it in the program array \(EINVAL\)/);
        if (session && kernel) frames.forEach((f, i) => assert.equal(session!.runPacket(f).retval, kernel!.results[i]!.retval, `${c.name} (${engine}) packet ${i}`));
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
