// A file whose bytecode tier cannot run (it does not compile) still gets its source findings, and `check` says why
// the bytecode tier is missing: on stderr for every format (the `--format json` output stays the documented array),
// and in SARIF as the run's toolExecutionNotifications. SARIF also carries a finding's related locations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import { REPO } from '../repo.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const require = createRequire(join(REPO, 'package.json'));
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = haveClang ? false : 'clang not installed (apt-get install clang llvm libbpf-dev)';

const BROKEN = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int prog(struct xdp_md *ctx) {
  undeclared_function_call(ctx) +;
  return -1;
}
`;

function check(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8', cwd: REPO });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a file that does not compile: source findings, compile errors, and a note saying the bytecode tier did not run', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-notes-'));
  const path = join(dir, 'broken.c');
  writeFileSync(path, BROKEN);
  const r = check(path, '--format', 'json');
  assert.equal(r.status, 1);
  const findings = JSON.parse(r.stdout) as { rule: string; line: number }[];
  assert.ok(Array.isArray(findings));
  assert.ok(findings.some((f) => f.rule === 'invalid-action' && f.line === 7), r.stdout);
  assert.ok(findings.some((f) => f.rule === 'compile-error'), r.stdout);
  assert.match(r.stderr, /broken\.c: the bytecode analysis did not run: clang could not compile the file/);

  const s = check(path, '--format', 'sarif');
  const log = JSON.parse(s.stdout) as { runs: { invocations: { toolExecutionNotifications: unknown[] }[] }[] };
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
  const notes = log.runs[0].invocations[0].toolExecutionNotifications as { level: string; message: { text: string } }[];
  assert.ok(notes.some((n) => /the bytecode analysis did not run/.test(n.message.text) && n.level === 'warning'), JSON.stringify(notes));
});

const FROM_PACKET = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 14 > data_end)
    return XDP_DROP;
  int verdict = (*(unsigned char *)(data + 13) & 7) + 1;
  return verdict;
}
`;

test('SARIF: a returned-value finding of the bytecode tier is on the return and links where the value was set', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-notes-'));
  const path = join(dir, 'from_packet.c');
  writeFileSync(path, FROM_PACKET);
  const r = check(path, '--format', 'sarif');
  const log = JSON.parse(r.stdout) as { runs: { results: unknown[] }[] };
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
  type Loc = { physicalLocation: { region: { startLine: number } } };
  const results = log.runs[0].results as { ruleId: string; locations: Loc[]; relatedLocations?: Loc[] }[];
  assert.equal(results.length, 1, r.stdout);
  assert.equal(results[0].ruleId, 'invalid-action');
  assert.equal(results[0].locations[0].physicalLocation.region.startLine, 11);
  assert.equal(results[0].relatedLocations?.[0]?.physicalLocation.region.startLine, 10);
});
