// The bytecode tier against the kernel verifier, on generated single-program variants: for the rules the verifier
// enforces (packet bounds, NULL checks, ctx and read-only writes), the tier must report a finding exactly when the
// kernel refuses the program, and on the line the verifier's log names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile, bytecodeFindings } from '../../simulator/analysis/index.ts';
import { kernelVerifierUnavailable } from '../../simulator/analysis/verifier.ts';

const ENFORCED = new Set(['unchecked-packet-access', 'map-value-null', 'ctx-write', 'readonly-write', 'stale-packet-pointer']);

const HEADER = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __uint(map_flags, BPF_F_RDONLY_PROG); __type(key, __u32); __type(value, __u64); } ro SEC(".maps");
const volatile __u32 limit = 3;
static const __u32 table[2] = { 100, 250 };
char LICENSE[] SEC("license") = "GPL";
`;

/** Deterministic variants: each is one program body; the marker line is where a refusal would be. */
function variants(): { name: string; body: string }[] {
  const out: { name: string; body: string }[] = [];
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let i = 0; i < 10; i++) {
    const checked = 4 + rnd(40);
    const at = rnd(checked + 6);
    const width = [1, 2, 4][rnd(3)]!;
    const ty = width === 1 ? '__u8' : width === 2 ? '__u16' : '__u32';
    const op = rnd(2) ? '>' : '>=';
    const bound = op === '>' ? checked : checked + 1;
    out.push({
      name: `bounds ${checked} ${op} read ${width}@${at}`,
      body: `\tvoid *data = (void *)(long)ctx->data;
\tvoid *end = (void *)(long)ctx->data_end;
\tif (data + ${bound} ${op} end)
\t\treturn XDP_DROP;
\tif (*(${ty} *)(data + ${at}) == 7)
\t\treturn XDP_DROP;
\treturn XDP_PASS;`,
    });
  }
  for (const check of [true, false]) {
    out.push({
      name: `hash lookup ${check ? 'checked' : 'unchecked'}`,
      body: `\t__u32 k = ctx->rx_queue_index;
\t__u64 *v = bpf_map_lookup_elem(&h, &k);
${check ? '\tif (!v)\n\t\treturn XDP_PASS;\n' : ''}\t*v += 1;
\treturn XDP_PASS;`,
    });
  }
  for (const key of ['0', '2', 'ctx->rx_queue_index']) {
    out.push({
      name: `array lookup, key ${key}, unchecked`,
      body: `\t__u32 k = ${key};\n\t__u64 *v = bpf_map_lookup_elem(&a, &k);\n\t*v += 1;\n\treturn XDP_PASS;`,
    });
  }
  for (const [field, write] of [['ingress_ifindex', false], ['rx_queue_index', true], ['data', true]] as const) {
    out.push({
      name: `ctx ${field} ${write ? 'write' : 'read'}`,
      body: write ? `\tctx->${field} = 1;\n\treturn XDP_PASS;` : `\treturn ctx->${field} == 1 ? XDP_DROP : XDP_PASS;`,
    });
  }
  for (const reload of [true, false]) {
    out.push({
      name: `adjust_head ${reload ? 'then reload' : 'then stale pointer'}`,
      body:
        '\tvoid *data = (void *)(long)ctx->data;\n\tvoid *end = (void *)(long)ctx->data_end;\n\tif (data + 20 > end)\n\t\treturn XDP_DROP;\n' +
        '\tif (bpf_xdp_adjust_head(ctx, 4))\n\t\treturn XDP_DROP;\n' +
        (reload ? '\tdata = (void *)(long)ctx->data;\n\tend = (void *)(long)ctx->data_end;\n\tif (data + 8 > end)\n\t\treturn XDP_DROP;\n' : '') +
        '\treturn *(__u8 *)(data + 2) == 1 ? XDP_DROP : XDP_PASS;',
    });
  }
  // Packet-range proofs the verifier makes or refuses on variable offsets and on data_end itself.
  const ends = '\tvoid *data = (void *)(long)ctx->data;\n\tvoid *end = (void *)(long)ctx->data_end;\n';
  for (const [mask, back] of [['', 1], ['', 0], [' & 0x7ff', 1], [' & 0x7ff', 0]] as const) {
    out.push({
      name: `length${mask ? ' masked' : ''} as offset, read ${back} back`,
      body: `${ends}\t__u64 len = (__u32)(end - data)${mask};\n\tif (data + len > end)\n\t\treturn XDP_PASS;\n` +
        `\t__u8 *p = data + len - ${back};\n\treturn (void *)(p + 1) <= end && *p == 9 ? XDP_DROP : XDP_PASS;`,
    });
  }
  for (const delta of ['- 14', '- (ctx->rx_queue_index & 7)']) {
    out.push({
      name: `data_end ${delta}`,
      body: `${ends}\tvoid *lim = end ${delta};\n\tasm volatile("" : "+r"(lim));\n\treturn data > lim ? XDP_PASS : XDP_DROP;`,
    });
  }
  // A field read into a local above the check that covers it, used only below it (clang loads it below).
  out.push({
    name: 'field read above its check',
    body: `${ends}\t__u16 proto = *(__u16 *)(data + 12);\n\tif (data + 14 > end)\n\t\treturn XDP_PASS;\n\treturn proto == 0x0608 ? XDP_DROP : XDP_PASS;`,
  });
  out.push({ name: 'rodata write', body: `\t*(volatile __u32 *)&limit = 5;\n\treturn XDP_PASS;` });
  out.push({ name: 'rodata read', body: `\treturn limit > 2 ? XDP_PASS : XDP_DROP;` });
  out.push({
    name: 'rdonly map write',
    body: `\t__u32 z = 0;\n\t__u64 *v = bpf_map_lookup_elem(&ro, &z);\n\tif (!v)\n\t\treturn XDP_PASS;\n\t*v = 2;\n\treturn XDP_PASS;`,
  });
  // Found on unseen programs (2026-12-05, third round): a read-only map changed by a helper, a static const table
  // written through a cast.
  out.push({
    name: 'rdonly map update by helper',
    body: `\t__u32 z = 0;\n\t__u64 one = 1;\n\tbpf_map_update_elem(&ro, &z, &one, BPF_ANY);\n\treturn XDP_PASS;`,
  });
  out.push({
    name: 'rdonly map delete by helper',
    body: `\t__u32 z = 0;\n\tbpf_map_delete_elem(&ro, &z);\n\treturn XDP_PASS;`,
  });
  out.push({
    name: 'static const table written through a cast',
    body: `\t((volatile __u32 *)table)[ctx->rx_queue_index & 1] = 7;\n\treturn table[1] == 7 ? XDP_DROP : XDP_PASS;`,
  });
  out.push({
    name: 'rdonly map read',
    body: `\t__u32 z = 0;\n\t__u64 *v = bpf_map_lookup_elem(&ro, &z);\n\tif (!v)\n\t\treturn XDP_PASS;\n\treturn *v ? XDP_DROP : XDP_PASS;`,
  });
  return out;
}

test('the bytecode tier reports what the kernel verifier refuses, on the same line, and nothing else', (t) => {
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-agree-'));
  const disagreements: string[] = [];
  let refused = 0;
  for (const [i, v] of variants().entries()) {
    const path = join(dir, `v${i}.c`);
    writeFileSync(path, `${HEADER}\nSEC("xdp")\nint prog(struct xdp_md *ctx)\n{\n${v.body}\n}\n`);
    const r = bytecodeFindings(path, { kernel: true });
    const kernel = r.findings.filter((f) => f.tier === 'verifier');
    const ours = r.findings.filter((f) => f.tier === 'bytecode' && ENFORCED.has(String(f.rule)));
    if (kernel.length) refused++;
    const k = kernel.map((f) => `${f.rule}:${f.line}`).sort();
    const o = ours.map((f) => `${f.rule}:${f.line}`).sort();
    // A kernel message without a rule of its own ('verifier') matches any of ours on its line.
    const matched = (x: string) => o.includes(x) || (x.startsWith('verifier:') && o.some((y) => y.endsWith(`:${x.split(':')[1]}`)));
    if (kernel.length === 0 ? o.length !== 0 : !k.every(matched) || o.length === 0)
      disagreements.push(`${v.name}: kernel [${k.join(', ')}] vs bytecode tier [${o.join(', ')}]`);
  }
  assert.deepEqual(disagreements, []);
  assert.ok(refused >= 5, `the variants exercise refusals (${refused})`);
});

test('both tiers merged report no packet-bounds finding on a program the kernel verifier loads', async (t) => {
  const why = kernelVerifierUnavailable();
  if (why) {
    if (process.env.XDP_LENS_REQUIRE_KERNEL === '1') assert.fail(`kernel required: ${why}`);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-agree-merged-'));
  const wrong: string[] = [];
  let accepted = 0;
  for (const [i, v] of variants().entries()) {
    if (!/field read above|length|bounds/.test(v.name)) continue;
    const path = join(dir, `v${i}.c`);
    writeFileSync(path, `${HEADER}\nSEC("xdp")\nint prog(struct xdp_md *ctx)\n{\n${v.body}\n}\n`);
    if (bytecodeFindings(path, { kernel: true }).findings.some((f) => f.tier === 'verifier')) continue;
    accepted++;
    const r = await analyzeFile(path, undefined, {});
    const bad = r.findings.filter((f) => f.rule === 'unchecked-packet-access');
    if (bad.length) wrong.push(`${v.name}: ${bad.map((f) => `${f.tier} ${f.rule}:${f.line}`).join(', ')}`);
  }
  assert.deepEqual(wrong, []);
  assert.ok(accepted >= 3, `some variants load (${accepted})`);
});
