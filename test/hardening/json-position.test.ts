// A JSON input that is not JSON (--maps, --routes, --conntrack, a test file's maps file, compile_commands.json) is
// reported at the line and column where it stops being JSON, whatever V8's own message says (some of its messages
// carry no position at all: "Unexpected end of JSON input", "Unexpected token ']', ... is not valid JSON").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { jsonError } from '../../simulator/input.ts';
import { flagsFromCompileCommands } from '../../simulator/compile-commands.ts';
import { cli } from './measure.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;

/** [text, line, column, reason]: where the text stops being JSON. */
const CASES: [string, number, number, RegExp][] = [
  ['', 1, 1, /expected a value.*found the end of the file/],
  ['{"a": 1', 1, 8, /expected ',' or '}' after a member, found the end of the file/],
  ['[1, 2,]', 1, 7, /expected a value.*found '\]'/],
  ['{\n  "a": [1, 2],\n  "b": tru\n}', 3, 8, /expected a value.*found 't'/],
  ['{"a": 1,\n "b": 2,\n}', 3, 1, /expected a member name in double quotes, found '\}'/],
  ['{"a" 1}', 1, 6, /expected ':' after a member name, found '1'/],
  ['[1 2]', 1, 4, /expected ',' or '\]' after an element, found '2'/],
  ['{"a": "x\ny"}', 1, 9, /control character/],
  ['{"a": "\\q"}', 1, 8, /backslash escape/],
  ['{"a": 1}\n]', 2, 1, /expected the end of the file after the value, found '\]'/],
  ['[01]', 1, 3, /expected ',' or '\]' after an element, found '1'/],
  ['[-]', 1, 2, /expected a value/],
  ['[1.]', 1, 3, /expected ',' or '\]' after an element, found '\.'/],
  ['\ufeff{}', 1, 1, /expected a value.*found '\ufeff'/],
  ['"abc', 1, 5, /a string is not closed, found the end of the file/],
  ['[' + '['.repeat(1_000_000), 1, 1_000_002, /expected a value.*found the end of the file/],
  ['{"a": [{"b": {}}], "c": [[], {}], "d": "\\u00e9\\n", "e": -1.5e+3, "f": [true, false, null]}x', 1, 91, /expected the end of the file after the value, found 'x'/],
];

test('jsonError: the first place a text stops being JSON, and why', () => {
  for (const [text, line, column, reason] of CASES) {
    assert.throws(() => JSON.parse(text), SyntaxError, `${JSON.stringify(text.slice(0, 40))} is not JSON`);
    const { offset, reason: why } = jsonError(text);
    const before = text.slice(0, offset);
    const at = { line: before.split('\n').length, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
    assert.deepEqual(at, { line, column }, JSON.stringify(text.slice(0, 40)));
    assert.match(why, reason, JSON.stringify(text.slice(0, 40)));
  }
});

test('--maps, --routes, --conntrack and compile_commands.json: not JSON is exit 2 with file:line:column', { skip: !haveClang && 'clang is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-json-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '[\n  {"key": "00000000",\n   "value": "01000000"\n');
  for (const flag of ['--maps', '--routes', '--conntrack']) {
    const r = cli(['run', join(REPO, 'examples', 'xdp_filter.c'), join(REPO, 'examples', 'demo.pcap'), flag, bad]);
    assert.equal(r.status, 2, `${flag}: ${r.stderr}`);
    assert.equal(r.stderr, `xdp-lens: ${bad}:4:1: not valid JSON: expected ',' or '}' after a member, found the end of the file\n`, flag);
  }
  const db = join(dir, 'compile_commands.json');
  writeFileSync(db, '[{"file": "a.c", "directory": "/tmp",}]');
  assert.equal(flagsFromCompileCommands(db, join(dir, 'a.c')), `${db}:1:38: not valid JSON: expected a member name in double quotes, found '}'`);
});
