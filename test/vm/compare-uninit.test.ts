// A map key with padding the program never wrote: root may read such stack bytes (allow_uninit_stack), and the kernel
// hashes whatever its stack held there while the simulator's bytes are zeros, so the maps cannot agree. `compare` said
// only "differs"; it now says which packets read unwritten stack bytes and where. The same program with the key
// zeroed (`= {}`) gets no such note and agrees with the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareWithKernel } from '../../simulator/kernel-compare.ts';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { kernelOrSkip } from '../kernel/runner.ts';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct key { __u32 a; __u8 b; __u16 c; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, struct key); __type(value, __u64); } cnt SEC(".maps");
SEC("xdp") int prog(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
  struct key k KEY_INIT;
  if (d + 20 > e) return XDP_PASS;
  k.a = d[13]; k.b = d[14]; k.c = d[15];
  __u64 one = 1, *v = bpf_map_lookup_elem(&cnt, &k);
  if (v) *v += 1; else bpf_map_update_elem(&cnt, &k, &one, BPF_ANY);
  return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

test('compare names the packets that read stack bytes never written (a map key\'s padding); zeroed, the key agrees with no note', (t) => {
  if (kernelOrSkip(t)) return;
  const frames = [1, 2, 1].map((b, i) => {
    const f = new Uint8Array(64);
    f[12] = 0x08;
    f[14] = b;
    return { frame: f, tsNs: BigInt(i) * 1_000_000n };
  });
  for (const zeroed of [false, true]) {
    const path = join(mkdtempSync(join(tmpdir(), 'xdp-lens-uninit-')), 'pad.bpf.c');
    writeFileSync(path, SOURCE.replace('KEY_INIT', zeroed ? '= {}' : ''));
    const { object, objectPath } = loadProgramFileWithObject(path, { clangFlags: ['-I/usr/include/x86_64-linux-gnu'] });
    const r = compareWithKernel(objectPath, object, frames);
    assert.equal(r.available, true, r.reason);
    const note = r.notes.find((n) => /stack bytes it never wrote/.test(n));
    if (zeroed) {
      assert.equal(note, undefined, r.notes.join('\n'));
      assert.equal(r.mapsDiffering, 0, JSON.stringify(r.maps));
    } else {
      assert.ok(note, `no note: ${r.notes.join('\n')}`);
      assert.match(note!, /^packets 0, 1, 2: .*pad\.bpf\.c:\d+/);
    }
  }
});
