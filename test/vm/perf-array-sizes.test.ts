// A PERF_EVENT_ARRAY holds file descriptors: the kernel creates it only with 4-byte keys and 4-byte values
// (fd_array_map_alloc_check, array_map_alloc_check) and refuses BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG on it. libbpf fills
// in a zero max_entries (the CPUs) but never the sizes, so a definition that leaves them out (as goebpf-style
// `bpf_map_def`s and BTF maps without key_size/value_size do) cannot be loaded. The simulator created such a map and
// ran the program. Each definition here is refused or loaded as the kernel does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelLoadError, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { compileTestSource } from './kernel-agree.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { prepareMaps } from '../../simulator/vm/map-load.ts';

const source = (fields: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); ${fields} } events SEC(".maps");
SEC("xdp")
int prog(struct xdp_md *ctx) {
  __u32 v = ctx->data_end - ctx->data;
  bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v));
  return XDP_PASS;
}
`;

const CASES: { name: string; fields: string; refused?: RegExp }[] = [
  { name: 'sized', fields: '__uint(key_size, 4); __uint(value_size, 4);' },
  { name: 'sized-max', fields: '__uint(key_size, sizeof(int)); __uint(value_size, sizeof(__u32)); __uint(max_entries, 4);' },
  { name: 'no-sizes', fields: '', refused: /value_size is 0/ },
  { name: 'no-sizes-max', fields: '__uint(max_entries, 8);', refused: /value_size is 0/ },
  { name: 'no-key', fields: '__uint(value_size, 4);', refused: /key_size is 0/ },
  { name: 'value8', fields: '__uint(key_size, 4); __uint(value_size, 8);', refused: /value_size is 8/ },
  { name: 'key8', fields: '__uint(key_size, 8); __uint(value_size, 4);', refused: /key_size is 8/ },
  { name: 'rdonly', fields: '__uint(key_size, 4); __uint(value_size, 4); __uint(map_flags, BPF_F_RDONLY_PROG);', refused: /BPF_F_RDONLY_PROG/ },
];

test('a PERF_EVENT_ARRAY is created only with 4-byte keys and values, as the kernel does (EINVAL otherwise)', (t) => {
  const skip = kernelOrSkip(t);
  for (const c of CASES) {
    const { path, objectPath } = compileTestSource(`perfsz-${c.name}`, source(c.fields));
    const errors = prepareMaps(loadProgramFile(path), { nrCpus: 2 }).errors.join('\n');
    if (c.refused) assert.match(errors, new RegExp(`refuses map 'events' \\(EINVAL\\): ${c.refused.source}`), c.name);
    else assert.equal(errors, '', c.name);
    if (skip) continue;
    let refused = '';
    try {
      runKernel(objectPath, 'prog', [new Uint8Array(64)]);
    } catch (e) {
      if (!(e instanceof KernelLoadError)) throw e;
      refused = e.message;
    }
    if (c.refused) assert.match(refused, /Invalid argument/, c.name);
    else assert.equal(refused, '', c.name);
  }
});
