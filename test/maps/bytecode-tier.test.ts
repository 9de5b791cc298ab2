// The bytecode tier on maps of maps: an outer lookup returns an inner map or NULL. Passing it to a map helper before
// the NULL check, and using the inner map's value before its own check, are what the kernel verifier refuses; the
// correct program (map_in_map.c) gives no finding. The refusals are checked against the kernel verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzeFile } from '../../simulator/analysis/index.ts';
import { compileC } from '../../simulator/compile.ts';
import { kernelOrSkip, runKernel, KernelLoadError } from '../kernel/runner.ts';
import { REPO } from '../repo.ts';

const PROGRAMS = join(REPO, 'test', 'maps', 'programs');

test('bytecode tier: an unchecked inner map is map-value-null; an inner ARRAY lookup with key 0 is not (the kernel agrees)', async () => {
  const bad = await analyzeFile(join(PROGRAMS, 'inner_null.c'), undefined, {});
  const found = bad.findings.filter((f) => f.rule === 'map-value-null').map((f) => [f.line, f.message.includes('map_ptr_or_null')]);
  assert.deepEqual(found, [[12, true]]);
  const good = await analyzeFile(join(PROGRAMS, 'map_in_map.c'), undefined, {});
  assert.deepEqual(good.findings.filter((f) => f.severity === 'error'), []);
});

test('the kernel verifier refuses the unchecked inner map and accepts the inner ARRAY lookup with a constant key 0', (t) => {
  if (kernelOrSkip(t)) return;
  const compiled = compileC(join(PROGRAMS, 'inner_null.c'));
  assert.ok(compiled.objectPath, compiled.stderr);
  assert.throws(() => runKernel(compiled.objectPath!, 'bad', [new Uint8Array(64)], { only: true }), (e: unknown) =>
    e instanceof KernelLoadError && /R1 type=map_ptr_or_null expected=map_ptr/.test(e.log));
  assert.equal(runKernel(compiled.objectPath!, 'bad2', [new Uint8Array(64)], { only: true }).results[0].retval, 1);
});
