// `xdp-lens diff`: two versions of a program on one capture. The packets it reports as changed are checked against two
// independent `xdp-lens run --format jsonl --data` runs (the same model, run apart), and its map differences against
// the maps those runs end with; exit lines through the line mapping; --rev through a throwaway git repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { diffPrograms, lineMapping, diffMaps } from '../../simulator/diff.ts';
import { compileC } from '../../simulator/compile.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !haveClang && 'clang is not installed';
const CAPTURE = join(REPO, 'examples', 'demo.pcap');
const SOURCE = readFileSync(join(REPO, 'examples', 'xdp_filter.c'), 'utf8');
const MAPS = join(REPO, 'examples', 'blocklist.json');

function cli(args: string[], cwd = REPO) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const jsonl = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

/** The demo program with UDP dropped, a line added on top, and UDP counted twice (a map difference). */
function edited(): string {
  const s = SOURCE.replace(/(if \(ip->protocol == IPPROTO_UDP\) \{\n\t\tcount\(P_UDP\);\n)\t\treturn XDP_PASS;/, '$1\t\tcount(P_UDP);\n\t\treturn XDP_DROP;');
  assert.notEqual(s, SOURCE, 'the fixture edit applies');
  return `// edited\n${s}`;
}

function withFiles<T>(fn: (dir: string, oldPath: string, newPath: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-diff-test-'));
  try {
    const oldPath = join(dir, 'old.c');
    const newPath = join(dir, 'new.c');
    writeFileSync(oldPath, SOURCE);
    writeFileSync(newPath, edited());
    return fn(dir, oldPath, newPath);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const OPTS = { compile: {}, mode: 'native' as const, profile: 'mlx5', queues: 1 };

test('lineMapping: unchanged lines map across insertions and deletions, lines edited in place to their new selves', () => {
  const m = lineMapping(['a', 'b', 'c', 'd', 'e'], ['x', 'a', 'b', 'C', 'd', 'e', 'f']);
  assert.deepEqual([...m].slice(1), [2, 3, 4, 5, 6], 'c was edited in place into C');
  assert.deepEqual([...lineMapping(['a', 'b'], ['a', 'b'])].slice(1), [1, 2]);
  assert.deepEqual([...lineMapping(['a', 'b', 'c'], ['c'])].slice(1), [0, 0, 1], 'removed lines map to nothing');
  assert.deepEqual([...lineMapping(['a', 'b', 'c'], ['a', 'X', 'Y', 'c'])].slice(1), [1, 0, 4], 'one line became two: not in place');
  assert.deepEqual([...lineMapping(['p', 'q'], ['P', 'Q'])].slice(1), [1, 2], 'everything edited, same length');
});

test('diff: the changed packets are those two separate runs disagree on, with their actions, lines and bytes', { skip }, () => {
  withFiles((_dir, oldPath, newPath) => {
    const runOf = (p: string) => jsonl(cli(['run', p, CAPTURE, '--format', 'jsonl', '--data', '--maps', MAPS]).stdout);
    const a = runOf(oldPath);
    const b = runOf(newPath);
    const r = diffPrograms(oldPath, newPath, CAPTURE, { ...OPTS, maps: JSON.parse(readFileSync(MAPS, 'utf8')) });
    const pa = a.slice(0, -1);
    const pb = b.slice(0, -1);
    assert.equal(r.packets, pa.length);
    const differing = pa.filter((x, i) => x.action !== pb[i]!.action || x.outcome !== pb[i]!.outcome || x.data !== pb[i]!.data).map((x) => x.packet);
    assert.ok(differing.length > 0, 'the edit changes some verdicts');
    assert.ok(r.changed.length < r.packets, 'and not all (a line added on top is not a change)');
    assert.deepEqual(r.changed.map((c) => c.packet), differing);
    for (const c of r.changed) {
      const x = pa[c.packet]!;
      const y = pb[c.packet]!;
      assert.deepEqual([c.old.action, c.old.outcome, c.old.data, c.old.line], [x.action, x.outcome, x.data, x.line]);
      assert.deepEqual([c.new.action, c.new.outcome, c.new.data, c.new.line], [y.action, y.outcome, y.data, y.line]);
    }
    // Every unchanged packet left through the same statement: its old line maps to its new line.
    assert.ok(pa.some((x, i) => x.line !== pb[i]!.line && !differing.includes(x.packet)), 'lines moved by the added line');
    // Maps: what the two runs end with.
    const expected = diffMaps(a[a.length - 1]!.maps, b[b.length - 1]!.maps);
    assert.ok(expected.length > 0, 'UDP counted twice changes a map');
    assert.deepEqual(r.maps.map(({ text: _, ...m }) => m), expected);
    assert.ok(r.maps.every((m) => !m.note), 'global data compared by section, not by object name');
    // Each change also reads decoded through BTF, as each run's jsonl "mapsDecoded" decodes the same entries.
    const decodedOf = (run: Record<string, any>[], map: string, key: string) => {
      const last = run[run.length - 1]!;
      // Global data is compared by section (`.rodata`); each run names it after its object (`old.rodata`).
      const name = Object.keys(last.maps).find((n) => n === map || (map.startsWith('.') && n.endsWith(map)))!;
      const i = (last.maps[name] as { key: string }[]).findIndex((e) => e.key === key);
      return i < 0 ? undefined : (last.mapsDecoded[name][i] as { key: string; value: string });
    };
    for (const m of r.maps) {
      const x = decodedOf(a, m.map, m.key!);
      const y = decodedOf(b, m.map, m.key!);
      assert.equal(m.text, `${m.map}[${(y ?? x)!.key}] ${x?.value ?? '(none)'} -> ${y?.value ?? '(none)'}`);
    }
  });
});

test('diff CLI: exit status 1 and the counts when something changed, 0 when nothing did; jsonl contract', { skip }, () => {
  withFiles((_dir, oldPath, newPath) => {
    const same = cli(['diff', oldPath, oldPath, CAPTURE]);
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stdout, /\n0 packets of 10 changed\nmaps: no differences\n$/);
    const t = cli(['diff', oldPath, newPath, CAPTURE]);
    assert.equal(t.status, 1, t.stderr);
    assert.match(t.stdout, /actions: XDP_PASS -> XDP_DROP \d+/);
    assert.match(t.stdout, /counts: \+\d+ XDP_DROP, -\d+ XDP_PASS/);
    const j = jsonl(cli(['diff', oldPath, newPath, CAPTURE, '--format', 'jsonl']).stdout);
    const last = j[j.length - 1]!;
    assert.equal(last.summary.changed, j.length - 1);
    for (const c of j.slice(0, -1)) {
      assert.deepEqual(Object.keys(c), ['packet', 'summary', 'changed', 'old', 'new']);
      assert.ok(c.changed.length > 0);
    }
  });
});

test('diff --rev: the file at a git revision against the working copy; a bad revision is exit status 2', { skip }, () => {
  withFiles((dir) => {
    const git = (...a: string[]) => spawnSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    const prog = join(dir, 'prog.c');
    writeFileSync(prog, SOURCE);
    assert.equal(git('init', '-q').status, 0);
    assert.equal(git('add', 'prog.c').status, 0);
    assert.equal(git('commit', '-qm', 'v1').status, 0);
    writeFileSync(prog, edited());
    const r = cli(['diff', '--rev', 'HEAD', prog, CAPTURE]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^diff .*prog\.c@HEAD -> .*prog\.c on /);
    assert.match(r.stdout, /XDP_PASS -> XDP_DROP/);
    const bad = cli(['diff', '--rev', 'nosuchrev', prog, CAPTURE]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^xdp-lens: --rev nosuchrev: cannot read prog\.c at nosuchrev/);
  });
});

test('diff of an object against its own C source: nothing changed, and exit lines (instructions vs returns) are not compared', { skip }, () => {
  withFiles((dir, oldPath, newPath) => {
    const obj = compileC(oldPath, { cacheDir: join(dir, 'cache') }).objectPath;
    assert.ok(obj, 'the demo compiles');
    const r = diffPrograms(obj, oldPath, CAPTURE, OPTS);
    assert.equal(r.packets, 10);
    assert.deepEqual(r.changed, [], 'same program: no packet changed although the .o has no return lines');
    assert.match(r.linesNote ?? '', /^exit lines not compared: the new program has return lines/);
    // A real change still shows, by action and bytes; the line is not counted as a change.
    const changed = diffPrograms(obj, newPath, CAPTURE, OPTS);
    assert.ok(changed.changed.length > 0);
    for (const c of changed.changed) assert.ok(!c.changed.includes('line'), JSON.stringify(c));
    const t = cli(['diff', obj, oldPath, CAPTURE]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /\n0 packets of 10 changed\nexit lines not compared: .*\nmaps: no differences\n$/);
    // Two C sources: lines are compared (the fixture's summary has no note).
    assert.equal(diffPrograms(oldPath, newPath, CAPTURE, OPTS).linesNote, undefined);
  });
});
