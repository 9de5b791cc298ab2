// xdpLens/diffVerdicts in process: the working copy against its last commit on the demo capture; the per-line changes
// agree with the packets `diffPrograms` reports, and sit on the return statements of the new source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diffVerdicts } from '../../server/run.ts';
import { DEFAULT_SETTINGS } from '../../server/protocol.ts';
import { REPO } from '../repo.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const host = { settingsFor: async () => DEFAULT_SETTINGS, compileOptions: () => ({}), log: () => {} };
const SOURCE = readFileSync(join(REPO, 'examples', 'xdp_filter.c'), 'utf8');

test('diffVerdicts against git HEAD: +/- counts on the return lines of the new source', { skip: !haveClang && 'clang is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-diffv-'));
  try {
    const git = (...a: string[]) => spawnSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    const prog = join(dir, 'prog.c');
    writeFileSync(prog, SOURCE);
    git('init', '-q');
    git('add', 'prog.c');
    assert.equal(git('commit', '-qm', 'v1').status, 0);
    const edited = `// a line on top\n${SOURCE.replace(/(count\(P_UDP\);\n)\t\treturn XDP_PASS;/, '$1\t\treturn XDP_DROP;')}`;
    assert.notEqual(edited, `// a line on top\n${SOURCE}`);
    writeFileSync(prog, edited);
    const r = await diffVerdicts({ uri: pathToFileURL(prog).href, capture: join(REPO, 'examples', 'demo.pcap'), against: { rev: 'HEAD' } }, host);
    assert.equal(r.error, undefined);
    assert.equal(r.old, 'prog.c@HEAD');
    assert.equal(r.packets, 10);
    assert.ok(r.changed! > 0);
    assert.deepEqual(r.actionDelta, { XDP_DROP: r.changed, XDP_PASS: -r.changed! });
    const lines = edited.split('\n');
    const udpReturn = lines.findIndex((l, i) => l.includes('return XDP_DROP;') && lines[i - 1]!.includes('count(P_UDP)')) + 1;
    // The UDP return was edited in place: its line gains the drops and loses the passes.
    assert.deepEqual(r.lines, [{ line: udpReturn, text: `+${r.changed} XDP_DROP, -${r.changed} XDP_PASS` }]);
    assert.match(r.text!, /XDP_PASS -> XDP_DROP/);
    const bad = await diffVerdicts({ uri: pathToFileURL(prog).href, capture: join(REPO, 'examples', 'demo.pcap'), against: { rev: 'nope' } }, host);
    assert.match(bad.error ?? '', /--rev nope: cannot read prog\.c at nope/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
