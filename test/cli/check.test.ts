// `xdp-lens check`: the json contract (exact keys, 1-based positions), SARIF 2.1.0 validated against its schema,
// text output, exit statuses, and the driver mode flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const FIX = join(REPO, 'test', 'server', 'fixtures');
const require = createRequire(join(REPO, 'package.json'));
const haveClang = spawnSync('clang', ['--version']).status === 0;

function check(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8', cwd: REPO });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--format json: an array of exactly {file,line,column,endLine,endColumn,severity,rule,message}; exit 1 on an error', () => {
  const r = check(join(FIX, 'invalid_action.c'), '--format', 'json');
  assert.equal(r.status, 1, r.stderr);
  const findings = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.ok(Array.isArray(findings));
  const f = findings.find((x) => x.rule === 'invalid-action');
  assert.ok(f, r.stdout);
  assert.deepEqual(Object.keys(f), ['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'rule', 'message']);
  assert.equal(f.line, 10);
  const text = readFileSync(join(FIX, 'invalid_action.c'), 'utf8').split('\n')[9]!;
  assert.ok([text.indexOf('return') + 1, text.indexOf('TC_ACT_SHOT') + 1].includes(f.column as number), `column ${f.column} points at the return`);
  assert.equal(f.severity, 'error');
  assert.equal(f.file, join(FIX, 'invalid_action.c'));
});

test('a clean program: empty array, exit 0 (both tiers)', () => {
  const r = check(join(FIX, 'clean.c'), '--format', 'json');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(JSON.parse(r.stdout), []);
  if (!haveClang) assert.match(r.stderr, /clang not found/);
});

test('--driver readonly-page reports packet writes that native mode accepts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-check-'));
  const path = join(dir, 'writer.c');
  writeFileSync(
    path,
    readFileSync(join(FIX, 'clean.c'), 'utf8').replace('if (eth->h_proto == bpf_htons(ETH_P_ARP))', 'eth->h_dest[0] = 0xff;\n\tif (eth->h_proto == bpf_htons(ETH_P_ARP))'),
  );
  assert.equal(check(path, '--format', 'json').status, 0);
  const r = check(path, '--format', 'json', '--driver', 'readonly-page');
  assert.equal(r.status, 1);
  const rules = (JSON.parse(r.stdout) as { rule: string; line: number }[]).map((f) => `${f.rule}:${f.line}`);
  assert.deepEqual(rules, ['readonly-page-write:15']);
});

test('--format sarif validates against the SARIF 2.1.0 schema', () => {
  const r = check(join(FIX, 'invalid_action.c'), join(FIX, 'ctx_write.c'), join(FIX, 'clean.c'), '--format', 'sarif');
  assert.equal(r.status, 1);
  const log = JSON.parse(r.stdout) as { version: string; runs: { results: unknown[] }[] };
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  const validate = ajv.compile(schema);
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
  assert.equal(log.version, '2.1.0');
  const results = log.runs[0].results as { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[];
  assert.ok(results.some((x) => x.ruleId === 'invalid-action' && x.locations[0]!.physicalLocation.region.startLine === 10));
  assert.ok(results.some((x) => x.ruleId === 'ctx-write' && x.locations[0]!.physicalLocation.region.startLine === 7));
});

test('text format and bad usage', () => {
  const r = check(join(FIX, 'ctx_write.c'));
  assert.equal(r.status, 1);
  assert.match(r.stdout, /ctx_write\.c:7:\d+: error: .* \[ctx-write\]/);
  assert.equal(check().status, 2);
  assert.equal(check(join(FIX, 'clean.c'), '--format', 'xml').status, 2);
  assert.equal(check(join(FIX, 'clean.c'), '--driver', 'fast').status, 2);
  const missing = check(join(FIX, 'no_such_file.c'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*no_such_file\.c/);
});

test('without clang the source tier still runs and one note says what is missing', () => {
  const r = spawnSync(process.execPath, [CLI, 'check', join(FIX, 'invalid_action.c'), '--format', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, XDP_LENS_CLANG: '/nonexistent/clang' },
  });
  assert.equal(r.status, 1);
  assert.ok((JSON.parse(r.stdout) as { rule: string }[]).some((f) => f.rule === 'invalid-action'));
  const notes = r.stderr.trim().split('\n');
  assert.equal(notes.length, 1, r.stderr);
  assert.match(notes[0]!, /clang not found \(\/nonexistent\/clang\): only the source analysis ran/);
});

test('--compile-commands supplies include directories and defines from the compilation database', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-cc-'));
  const inc = join(dir, 'inc');
  mkdirSync(inc);
  writeFileSync(join(inc, 'actions.h'), '#define MY_VERDICT XDP_DROP\n');
  const src = join(dir, 'prog.c');
  writeFileSync(
    src,
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "actions.h"\n' +
      'SEC("xdp") int prog(struct xdp_md *ctx) {\n#ifdef WANT_PASS\n\treturn XDP_PASS;\n#endif\n\treturn MY_VERDICT;\n}\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  const db = join(dir, 'compile_commands.json');
  writeFileSync(db, JSON.stringify([{ directory: dir, file: 'prog.c', command: `clang -O2 -target bpf -I inc -DWANT_PASS=1 -c prog.c -o prog.o` }]));
  const without = check(src, '--format', 'json');
  assert.equal(without.status, 1, 'actions.h is not found without the database');
  assert.match(without.stdout, /compile-error/);
  const r = check(src, '--format', 'json', '--compile-commands', db);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
});
