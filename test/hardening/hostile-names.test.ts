// File names that are not UTF-8 (Latin-1 names, say): Node.js hands such an argument to xdp-lens with U+FFFD in place
// of the bytes, so the file cannot be opened by that name. The CLI says so (exit status 2, the argument shown with its
// bytes) instead of "no such file or directory" for a file that is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { cliArgv, measure, within } from './measure.ts';

const PCAP = join(REPO, 'examples', 'demo.pcap');
const QUICK = { ms: 60_000, mib: 600 };
/** Single-quoted for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

test('an argument that is not UTF-8 is refused naming its bytes; a U+FFFD typed on purpose still works', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The files exist under their Latin-1 names (byte 0xe9 is é in Latin-1, not UTF-8).
  copyFileSync(PCAP, Buffer.concat([Buffer.from(join(dir, 'caf')), Buffer.from([0xe9]), Buffer.from('.pcap')]));
  writeFileSync(join(dir, 'ok.pcap'), Buffer.alloc(0));
  copyFileSync(PCAP, join(dir, 'ok.pcap'));
  const [node, ...script] = cliArgv([]);
  const run = (args: string) => measure(['sh', '-c', `exec ${[node!, ...script].map(q).join(' ')} ${args}`], { cwd: dir });

  const prog = join(REPO, 'examples', 'xdp_filter.c');
  const r = run(`run ${q(prog)} "$(printf 'caf\\351.pcap')"`);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /argument 'caf\\xe9\.pcap' is not valid UTF-8/);
  assert.doesNotMatch(r.stderr, /ENOENT|internal error/);
  within(r, QUICK, 'Latin-1 capture name');

  const r2 = run(`check "$(printf 'x\\376\\377.c')"`);
  assert.equal(r2.status, 2, r2.stderr);
  assert.match(r2.stderr, /argument 'x\\xfe\\xff\.c' is not valid UTF-8/);

  // U+FFFD itself is valid UTF-8: a filter naming it runs.
  const r3 = run(`run ${q(prog)} ok.pcap --format summary --filter 'summary contains "\u{FFFD}"'`);
  assert.equal(r3.status, 0, r3.stderr);
});
