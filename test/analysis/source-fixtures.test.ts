// Source-tier fixtures: one C file per rule under fixtures/source/, each expected finding marked on its line with
// `// expect: <rule>[, <rule>]`. The set of (rule, line) the analysis reports for the fixture must equal the marked
// set exactly, so a missing finding and a false positive both fail. A `// driver: MODE` line sets the driver mode.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyzeSource, initSourceAnalysis, type SourceOptions } from '../../simulator/analysis/source/index.ts';
import { sentences } from './sentences.ts';

const DIR = resolve('test/analysis/fixtures/source');

before(async () => {
  await initSourceAnalysis();
});

function expected(text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /\/\/\s*expect:\s*([\w-]+(?:\s*,\s*[\w-]+)*)/.exec(line);
    if (m) for (const rule of m[1].split(',')) out.push(`${rule.trim()}@${i + 1}`);
  });
  return out.sort();
}

function run(file: string, opts: SourceOptions = {}) {
  const text = readFileSync(file, 'utf8');
  const driver = /\/\/\s*driver:\s*([\w-]+)/.exec(text)?.[1] as SourceOptions['driverMode'] | undefined;
  const findings = analyzeSource(file, text, { driverMode: driver, ...opts });
  return { text, findings };
}

const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.c')).sort();

test('there is a fixture for every rule of the source tier', () => {
  for (const rule of [
    'invalid_action',
    'redirect_without_target',
    'ctx_write',
    'readonly_write',
    'readonly_page_write',
    'unchecked_packet_access',
    'stale_packet_pointer',
    'tx_unmodified',
    'map_value_null',
    'stale_checksum',
  ]) {
    assert.ok(fixtures.includes(`${rule}.c`), `missing fixture ${rule}.c`);
  }
});

for (const name of fixtures) {
  test(`fixture ${name}: findings are exactly the marked lines`, () => {
    const file = join(DIR, name);
    const { text, findings } = run(file);
    const got = findings.filter((f) => f.file === file).map((f) => `${f.rule}@${f.line}`).sort();
    assert.deepEqual(got, expected(text), findings.map((f) => `${f.line}:${f.column} ${f.rule}: ${f.message}`).join('\n'));
    for (const f of findings) {
      assert.equal(f.tier, 'source');
      assert.ok(f.line >= 1 && f.column >= 1 && (f.endLine > f.line || f.endColumn >= f.column), `bad range ${JSON.stringify(f)}`);
      assert.ok(f.message.length > 40, `message too thin: ${f.message}`);
      assert.ok(sentences(f.message) <= 2, `more than two sentences: ${f.message}`);
      assert.match(f.message, /^(?:[A-Z`0-9-]|\w+\(\) )/, `not a sentence: ${f.message}`);
    }
  });
}

for (const name of readdirSync(join(DIR, 'clean')).filter((f) => f.endsWith('.c')).sort()) {
  test(`clean program ${name} has no findings`, () => {
    const { findings } = run(join(DIR, 'clean', name));
    assert.deepEqual(findings.map((f) => `${f.line}:${f.column} ${f.rule}: ${f.message}`), []);
  });
}

// The clean programs are clean because the analysis follows them, not because it skips them: one small edit each
// turns them into a finding.
const MUTATIONS: [string, string | RegExp, string, string][] = [
  ['syn_guard.c', 'if ((void *)(tcp + 1) > data_end)', 'if (0)', 'unchecked-packet-access'],
  ['ipip_balancer.c', 'return XDP_TX;', 'return TC_ACT_OK;', 'invalid-action'],
  ['ipip_balancer.c', /\n\tdata = \(void \*\)\(long\)ctx->data;/, '\n\t;', 'stale-packet-pointer'],
  ['fib_router.c', 'if (iph + 1 > data_end)', 'if (0)', 'unchecked-packet-access'],
  // (`action + 5` passed in would not do: the callee's `if (action > XDP_REDIRECT)` guard keeps it from the return.)
  ['cursor_parsers.c', '\treturn action;', '\treturn action + 5;', 'invalid-action'],
  ['syn_guard.c', 'reflect(eth, ip, tcp);', ';', 'tx-unmodified'],
  ['ipip_balancer.c', /if \(!be\)\n\t*return XDP_DROP;/, '', 'map-value-null'],
  ['cursor_parsers.c', 'if (!rec)', 'if (rec == (void *)8)', 'map-value-null'],
  ['syn_guard.c', /if \(__v\)\s*\\/, '\\', 'map-value-null'],
];

for (const [name, from, to, rule] of MUTATIONS) {
  test(`clean program ${name} reports ${rule} once \`${String(from).slice(0, 30)}\` is changed`, () => {
    const file = join(DIR, 'clean', name);
    const text = readFileSync(file, 'utf8');
    const mutated = text.replace(from, to);
    assert.notEqual(mutated, text);
    const rules = analyzeSource(file, mutated).map((f) => f.rule);
    assert.ok(rules.includes(rule), `got ${rules.join(', ') || 'nothing'}`);
  });
}
