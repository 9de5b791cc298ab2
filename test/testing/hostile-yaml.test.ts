// Test files (*.xdptest.yaml) that are hostile rather than wrong: an alias bomb ("billion laughs") and nesting deeper
// than the YAML parser's stack are errors at a position, in bounded time, not a hang or an internal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml, TestFileError } from '../../simulator/testing/yaml.ts';

function refused(text: string, message: RegExp): TestFileError {
  const t0 = performance.now();
  let err: unknown;
  try {
    parseYaml('t.xdptest.yaml', text);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TestFileError, `a TestFileError, not ${String(err)}`);
  assert.match(err.message, message);
  assert.ok(performance.now() - t0 < 30_000, 'answered in bounded time');
  return err;
}

test('an alias bomb is refused once its expansion passes the node limit, where the alias is', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 11; i++) lines.push(`a${i}: &a${i} [${Array<string>(9).fill(`*a${i - 1}`).join(', ')}]`);
  lines.push('program: p.c', 'cases: *a11');
  const e = refused(lines.join('\n'), /^t\.xdptest\.yaml:\d+:\d+: more than 500000 values once aliases are expanded/);
  assert.ok(e.pos.line >= 1 && e.pos.line <= 12, `line ${e.pos.line}`);
  // The same shape, small, is read with its aliases expanded.
  const small = parseYaml('t.xdptest.yaml', 'a: &a [1, 2]\nb: &b [*a, *a]\nc: [*b, *b]\n');
  assert.equal(small.kind, 'map');
  const c = small.kind === 'map' ? small.entries[2]!.value : undefined;
  assert.equal(c?.kind === 'seq' ? c.items.length : -1, 2);
});

test('nesting deeper than the parser goes is "nested too deeply" at its position', () => {
  const e = refused(`program: p.c\ncases: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, /^t\.xdptest\.yaml:2:\d+: nested too deeply$/);
  assert.equal(e.pos.line, 2);
  refused(`program: p.c\ncases: ${'['.repeat(100)}${']'.repeat(100)}\n`, /^t\.xdptest\.yaml:2:\d+: nested too deeply$/);
});
