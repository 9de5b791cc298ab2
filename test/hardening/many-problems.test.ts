// A --routes, --conntrack or --maps file with a problem in each of 100,000 entries: exit status 2 with the first 50
// problems (each naming the file and the entry) and a count of the rest, not megabytes of stderr (a 5 MB file of bad
// routes printed 400,000 lines, 42 MB). A few problems are all printed, as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { cli, within } from './measure.ts';

const noClang = spawnSync('clang', ['--version']).status !== 0;
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const PCAP = join(REPO, 'examples', 'demo.pcap');

test('100,000 bad routes, connections or map entries: the first 50 problems and how many more, exit 2', { skip: noClang }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-many-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const routes = join(dir, 'routes.json');
  writeFileSync(routes, JSON.stringify(new Array(100_000).fill({ family: 'inet', prefix: 'x', ifindex: 2 })));
  const conns = join(dir, 'conntrack.json');
  writeFileSync(conns, `[${new Array(100_000).fill('1').join(',')}]`);
  for (const [flag, file, first, total] of [['--routes', routes, /routes\.json: route 0: "prefix" "x" is not an IPv4 address/, 100_000], ['--conntrack', conns, /conntrack\.json: connection 0: expected an object/, 100_000]] as const) {
    const r = cli(['run', PROG, PCAP, '--format', 'summary', flag, file]);
    assert.equal(r.status, 2, `${flag}: ${r.stderr.slice(0, 500)}`);
    assert.match(r.stderr, first, flag);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 51, `${flag}: 50 problems and the count`);
    assert.equal(lines.at(-1), `xdp-lens: ... and ${total - 50} more lines of problems (the first 50 are shown)`, flag);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*:\d+:\d+/, `${flag}: no stack`);
    within(r, { ms: 60_000, mib: 600 }, flag);
  }
  // Two problems in one route: both printed, no count.
  const two = join(dir, 'two.json');
  writeFileSync(two, '[{"family":"inet","prefix":10,"ifindex":"x"}]');
  const r = cli(['run', PROG, PCAP, '--format', 'summary', '--routes', two]);
  assert.equal(r.status, 2, r.stderr);
  assert.deepEqual(r.stderr.trimEnd().split('\n').map((l) => l.replace(/^.*two\.json: /, '')), ['route 0: "prefix" must be a string such as "10.0.0.0/8", not 10', 'route 0: "ifindex" must be a whole number from 1 to 2147483647, not "x"']);
});
