// Source tier beyond the per-rule fixtures: the clean corpus stays clean, quick fixes produce the intended code,
// options (driver mode, include directories, readFile) work, edits re-analyse correctly, and bad input is a result.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import type { Finding, FixEdit } from '../../simulator/analysis/findings.ts';

const FIXTURES = resolve('test/analysis/fixtures/source');
const PARITY = resolve('test/parity/programs');

before(async () => {
  await initSourceAnalysis();
});

const show = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`);

/** Applies the edits of a fix to the text (1-based positions, end exclusive), last edit first. */
function applyEdits(text: string, edits: FixEdit[]): string {
  const lines = text.split('\n');
  const offset = (line: number, column: number) => lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  const sorted = [...edits].sort((a, b) => offset(b.line, b.column) - offset(a.line, a.column));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.line, e.column)) + e.newText + out.slice(offset(e.endLine, e.endColumn));
  return out;
}

test('examples/xdp_filter.c has no findings', () => {
  const file = resolve('examples/xdp_filter.c');
  assert.deepEqual(show(analyzeSource(file, readFileSync(file, 'utf8'))), []);
});

for (const name of readdirSync(PARITY).filter((f) => f.endsWith('.c') && f !== 'p20_invalid_ret.c')) {
  test(`parity program ${name} has no findings`, () => {
    const file = join(PARITY, name);
    assert.deepEqual(show(analyzeSource(file, readFileSync(file, 'utf8'))), []);
  });
}

test('p20_invalid_ret.c: the out-of-range returns and nothing else', () => {
  const file = join(PARITY, 'p20_invalid_ret.c');
  const findings = analyzeSource(file, readFileSync(file, 'utf8'));
  // `return b` (a packet byte) is left to the bytecode tier: the source tier does not know its range.
  assert.deepEqual(
    findings.map((f) => `${f.rule}@${f.line}`),
    ['invalid-action@8', 'invalid-action@11', 'invalid-action@12', 'invalid-action@13', 'invalid-action@14'],
  );
  // The value once, what happens, what was likely meant; and a quick fix that writes it.
  assert.match(findings[2].message, /^-1 is not an XDP action: .* XDP_DROP \(or XDP_ABORTED for an error\) was likely meant\.$/);
  assert.deepEqual(findings[2].fixes?.map((f) => f.edits[0].newText), ['XDP_DROP', 'XDP_ABORTED']);
  const line = readFileSync(file, 'utf8').split('\n')[11]!;
  const e = findings[2].fixes![0].edits[0];
  assert.equal(line.slice(e.column - 1, e.endColumn - 1), '-1');
  assert.match(findings[0].message, /Illegal XDP return value/);
});

test('readonly-page-write needs the readonly-page driver mode', () => {
  const file = join(FIXTURES, 'readonly_page_write.c');
  const text = readFileSync(file, 'utf8');
  for (const mode of ['native', 'generic'] as const) {
    assert.deepEqual(analyzeSource(file, text, { driverMode: mode }).filter((f) => f.rule === 'readonly-page-write'), []);
  }
  // Five stores into the packet and the XDP_TX that a read-only page cannot send.
  assert.equal(analyzeSource(file, text, { driverMode: 'readonly-page' }).filter((f) => f.rule === 'readonly-page-write').length, 6);
});

test('quick fix: a foreign constant is replaced by the XDP action it stands for', () => {
  const file = '/virtual/fix_tc.c';
  const text = 'SEC("xdp")\nint p(struct xdp_md *ctx)\n{\n\tint act = TC_ACT_OK;\n\tif (ctx->rx_queue_index)\n\t\tact = TC_ACT_SHOT;\n\treturn act;\n}\n';
  const [f] = analyzeSource(file, text);
  assert.equal(f.rule, 'invalid-action');
  assert.equal(f.line, 7);
  assert.match(f.message, /TC_ACT_OK/);
  assert.match(f.message, /TC_ACT_SHOT/);
  assert.equal(f.fixes?.length, 2);
  let fixed = text;
  for (const fix of f.fixes!) fixed = applyEdits(fixed, fix.edits);
  assert.equal(fixed, text.replace('TC_ACT_OK', 'XDP_PASS').replace('TC_ACT_SHOT', 'XDP_DROP'));
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

test('quick fix: return the result of an ignored bpf_redirect_map', () => {
  const file = '/virtual/fix_redirect.c';
  const text = 'SEC("xdp")\nint p(struct xdp_md *ctx)\n{\n\tbpf_redirect_map(&tx_port, 0, 0);\n\treturn XDP_REDIRECT;\n}\n';
  const [f] = analyzeSource(file, text);
  assert.equal(f.rule, 'redirect-without-target');
  const fixed = applyEdits(text, f.fixes![0].edits);
  assert.equal(fixed, 'SEC("xdp")\nint p(struct xdp_md *ctx)\n{\n\treturn bpf_redirect_map(&tx_port, 0, 0);\n}\n');
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

test('quick fix: insert a bounds check before the first unchecked access', () => {
  const file = '/virtual/fix_bounds.c';
  const text = [
    'SEC("xdp")',
    'int p(struct xdp_md *ctx)',
    '{',
    '\tvoid *data = (void *)(long)ctx->data;',
    '\tvoid *data_end = (void *)(long)ctx->data_end;',
    '\tstruct ethhdr *eth = data;',
    '',
    '\tif (eth->h_proto == 8)',
    '\t\treturn XDP_DROP;',
    '\treturn eth->h_dest[0] ? XDP_PASS : XDP_DROP;',
    '}',
    '',
  ].join('\n');
  const findings = analyzeSource(file, text);
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['unchecked-packet-access@8'], 'one finding per missing check');
  const fixed = applyEdits(text, findings[0].fixes![0].edits);
  assert.match(fixed, /\tif \(\(void \*\)\(eth \+ 1\) > data_end\)\n\t\treturn XDP_DROP;\n\tif \(eth->h_proto == 8\)/);
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

test('quick fix: reload data and data_end after bpf_xdp_adjust_head', () => {
  const file = '/virtual/fix_stale.c';
  const text = [
    'SEC("xdp")',
    'int p(struct xdp_md *ctx)',
    '{',
    '\tvoid *data = (void *)(long)ctx->data;',
    '\tvoid *data_end = (void *)(long)ctx->data_end;',
    '',
    '\tbpf_xdp_adjust_head(ctx, -4);',
    '\tif (data + 4 > data_end)',
    '\t\treturn XDP_DROP;',
    '\t*(__u32 *)data = 0;',
    '\treturn XDP_PASS;',
    '}',
    '',
  ].join('\n');
  const findings = analyzeSource(file, text);
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['stale-packet-pointer@10']);
  const fixed = applyEdits(text, findings[0].fixes![0].edits);
  assert.match(fixed, /bpf_xdp_adjust_head\(ctx, -4\);\n\tdata = \(void \*\)\(long\)ctx->data;\n\tdata_end = \(void \*\)\(long\)ctx->data_end;\n/);
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

const NULL_MAPS = [
  'struct {',
  '\t__uint(type, BPF_MAP_TYPE_HASH);',
  '\t__uint(max_entries, 16);',
  '\t__type(key, __u32);',
  '\t__type(value, struct flow);',
  '} flows SEC(".maps");',
  '',
];

test('quick fix: a NULL check after the lookup, indented like the lookup, in a program', () => {
  const file = '/virtual/fix_null.c';
  const text = [
    ...NULL_MAPS,
    'SEC("xdp")',
    'int p(struct xdp_md *ctx)',
    '{',
    '\t__u32 k = ctx->rx_queue_index;',
    '\tstruct flow *f = bpf_map_lookup_elem(&flows, &k); /* per flow */',
    '',
    '\tf->packets++;',
    '\tf->bytes += 64;',
    '\treturn XDP_PASS;',
    '}',
    '',
  ].join('\n');
  const findings = analyzeSource(file, text);
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['map-value-null@14'], 'one finding per unchecked lookup');
  assert.match(findings[0].message, /`f` may be NULL here: bpf_map_lookup_elem\(&flows, \.\.\.\) on line 12 returns NULL/);
  assert.match(findings[0].message, /invalid mem access 'map_value_or_null'/);
  assert.equal(findings[0].fixes?.length, 1);
  const fixed = applyEdits(text, findings[0].fixes![0].edits);
  assert.match(fixed, /&k\); \/\* per flow \*\/\n\tif \(!f\)\n\t\treturn XDP_PASS;\n\n\tf->packets\+\+;/);
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

test('quick fix: a NULL check in a callee (space indentation, code after the lookup on its line)', () => {
  const file = '/virtual/fix_null_callee.c';
  const text = [
    ...NULL_MAPS,
    'static __always_inline void count(__u32 k)',
    '{',
    '  struct flow *f;',
    '  f = bpf_map_lookup_elem(&flows, &k); k++;',
    '  f->packets++;',
    '}',
    '',
    'SEC("xdp")',
    'int p(struct xdp_md *ctx)',
    '{',
    '  count(ctx->rx_queue_index);',
    '  return XDP_PASS;',
    '}',
    '',
  ].join('\n');
  const findings = analyzeSource(file, text);
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['map-value-null@12']);
  const fixed = applyEdits(text, findings[0].fixes![0].edits);
  assert.match(fixed, /  f = bpf_map_lookup_elem\(&flows, &k\);\n  if \(!f\)\n    return;\n   k\+\+;\n/);
  assert.deepEqual(show(analyzeSource(file, fixed)), []);
});

test('map-value-null: no quick fix where the lookup is not stored in a local by its own statement', () => {
  const file = '/virtual/fix_null_none.c';
  const text = [
    ...NULL_MAPS,
    'SEC("xdp")',
    'int p(struct xdp_md *ctx)',
    '{',
    '\t__u32 k = 1;',
    '\treturn ((struct flow *)bpf_map_lookup_elem(&flows, &k))->flags ? XDP_DROP : XDP_PASS;',
    '}',
    '',
  ].join('\n');
  const findings = analyzeSource(file, text);
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['map-value-null@12']);
  assert.equal(findings[0].fixes, undefined);
});

test('includes are read through readFile, relative to the file and from includeDirs', () => {
  const files: Record<string, string> = {
    '/proj/src/local.h': '#define LOCAL_VERDICT TC_ACT_SHOT\n#include "nested.h"\n',
    '/proj/src/nested.h': 'enum { NESTED_BAD = 17 };\n',
    '/proj/include/shared.h': '#define SHARED_BAD (-5)\n',
  };
  const read = (p: string) => files[p];
  const text = [
    '#include "local.h"',
    '#include <shared.h>',
    '#include <linux/bpf.h>',
    'SEC("xdp") int a(struct xdp_md *ctx) { return LOCAL_VERDICT; }',
    'SEC("xdp") int b(struct xdp_md *ctx) { return NESTED_BAD; }',
    'SEC("xdp") int c(struct xdp_md *ctx) { return SHARED_BAD; }',
  ].join('\n');
  const findings = analyzeSource('/proj/src/prog.c', text, { readFile: read, includeDirs: ['/proj/include'] });
  assert.deepEqual(findings.map((f) => `${f.rule}@${f.line}`), ['invalid-action@4', 'invalid-action@5', 'invalid-action@6']);
  // Without the include directory the shared macro is unknown, and unknown values are not reported.
  const without = analyzeSource('/proj/src/prog.c', text, { readFile: read });
  assert.deepEqual(without.map((f) => `${f.rule}@${f.line}`), ['invalid-action@4', 'invalid-action@5']);
});

test('editing a document re-analyses the new text (incremental parse)', () => {
  const file = '/virtual/edit.c';
  let text = 'SEC("xdp")\nint p(struct xdp_md *ctx)\n{\n\treturn XDP_PASS;\n}\n';
  assert.deepEqual(analyzeSource(file, text), []);
  text = text.replace('XDP_PASS', 'TC_ACT_OK');
  assert.deepEqual(analyzeSource(file, text).map((f) => `${f.rule}@${f.line}`), ['invalid-action@4']);
  text = '// a comment pushes everything down\n' + text;
  assert.deepEqual(analyzeSource(file, text).map((f) => `${f.rule}@${f.line}`), ['invalid-action@5']);
  text = text.replace('TC_ACT_OK', 'XDP_DROP');
  assert.deepEqual(analyzeSource(file, text), []);
});

test('a file without section marks: non-static functions taking struct xdp_md * are programs', () => {
  const text = 'int p(struct xdp_md *ctx) { return 9; }\nstatic int q(struct xdp_md *ctx) { return 9; }\n';
  assert.deepEqual(analyzeSource('/virtual/nosec.c', text).map((f) => `${f.rule}@${f.line}`), ['invalid-action@1']);
});

// ---- bad input: always a result, never an exception ------------------------------------------------------------

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

test('every prefix of a real program (half-typed code) analyses without throwing', () => {
  const text = readFileSync('examples/xdp_filter.c', 'utf8');
  for (let n = 0; n <= text.length; n += 37) {
    const findings = analyzeSource('/virtual/typing.c', text.slice(0, n));
    for (const f of findings) assert.ok(f.line >= 1 && f.column >= 1);
  }
});

test('random bytes, NULs and non-C text give no findings and no exception', () => {
  const rnd = prng(42);
  for (let i = 0; i < 20; i++) {
    const bytes = Buffer.alloc(4096 + i * 512);
    for (let j = 0; j < bytes.length; j++) bytes[j] = rnd() & 0xff;
    const text = bytes.toString('latin1') + ' xdp ';
    assert.ok(Array.isArray(analyzeSource('/virtual/garbage.bin', text)));
  }
  assert.deepEqual(analyzeSource('/virtual/readme.md', '# XDP notes\n\n* return XDP_TX; {{{ ((( \u0000\u0000 xdp'), []);
  assert.deepEqual(analyzeSource('/virtual/data.json', JSON.stringify({ xdp: [1, 2, { a: 'SEC("xdp")' }] })), []);
});

test('mutated programs (tokens shuffled, braces dropped) analyse without throwing', () => {
  const rnd = prng(7);
  const base = readFileSync(join(FIXTURES, 'unchecked_packet_access.c'), 'utf8');
  const tokens = base.split(/(\s+)/);
  for (let i = 0; i < 30; i++) {
    const t = [...tokens];
    for (let k = 0; k < 40; k++) {
      const a = rnd() % t.length;
      const b = rnd() % t.length;
      [t[a], t[b]] = [t[b], t[a]];
    }
    const text = t.join('').replace(i % 2 ? /}/g : /\)/g, (m) => (rnd() % 3 === 0 ? '' : m));
    const findings = analyzeSource('/virtual/mutated.c', text);
    for (const f of findings) assert.ok(f.line >= 1, JSON.stringify(f));
  }
});

test('deep nesting and very long lines do not overflow or hang', () => {
  const deep = `SEC("xdp") int p(struct xdp_md *ctx) { return ${'('.repeat(5000)}1${')'.repeat(5000)}; }`;
  assert.ok(Array.isArray(analyzeSource('/virtual/deep.c', deep)));
  const blocks = `SEC("xdp") int q(struct xdp_md *ctx) { ${'if (ctx->rx_queue_index) {'.repeat(2000)} return 7; ${'}'.repeat(2000)} return XDP_PASS; }`;
  assert.ok(Array.isArray(analyzeSource('/virtual/blocks.c', blocks)));
  const long = `SEC("xdp") int r(struct xdp_md *ctx) { int x = 0; ${'x = x + 1; '.repeat(20000)} return XDP_PASS; }`;
  assert.deepEqual(analyzeSource('/virtual/long.c', long), []);
});

test('analyzeSource before initSourceAnalysis is a clear error naming what to do', () => {
  const script = "import('./simulator/analysis/source/index.ts').then((m) => { try { (m.analyzeSource ?? m.default.analyzeSource)('x.c', 'int xdp;'); console.log('no error'); } catch (e) { console.log(e.message); } })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.match(r.stdout, /initSourceAnalysis\(\) must be awaited before analyzeSource\(\)/, r.stderr);
});
