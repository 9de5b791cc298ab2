// Objects with more section headers than any compiler writes: a real object whose section header table is replaced by
// one of a million headers (extended numbering: e_shnum 0, the count in section header 0's sh_size), every added one a
// copy of the program section's header. Each is another XDP program; reading them all took 2.4 GB and a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { compileC } from '../../simulator/compile.ts';
import { cli, within } from '../hardening/measure.ts';

const haveClang = spawnSync('clang', ['--version']).status === 0;
const PCAP = join(REPO, 'examples', 'demo.pcap');

/** `obj` with its section headers followed by copies of its first executable non-empty section's header, `count` in all. */
function manySections(obj: Uint8Array, count: number | bigint): Buffer {
  const b = Buffer.from(obj);
  const shoff = Number(b.readBigUInt64LE(40));
  const shnum = b.readUInt16LE(60);
  const headers = b.subarray(shoff, shoff + 64 * shnum);
  let prog = -1;
  for (let i = 0; i < shnum; i++) {
    const h = headers.subarray(i * 64);
    if (h.readUInt32LE(4) === 1 && (h.readBigUInt64LE(8) & 4n) !== 0n && h.readBigUInt64LE(32) > 0n) { prog = i; break; }
  }
  assert.ok(prog > 0, 'the object has a program section');
  const real = typeof count === 'bigint' ? 1_000_000 : count;
  const table = Buffer.alloc(64 * real);
  headers.copy(table);
  for (let i = shnum; i < real; i++) headers.copy(table, i * 64, prog * 64, prog * 64 + 64);
  const out = Buffer.concat([b, table]);
  out.writeBigUInt64LE(BigInt(b.length), 40); // e_shoff
  out.writeUInt16LE(0, 60); // e_shnum 0: the count is section header 0's sh_size
  out.writeBigUInt64LE(BigInt(count), b.length + 32);
  return out;
}

test('an object of a million sections is refused at the header that counts them, quickly, in bounded memory', { skip: !haveClang && 'clang is not installed' }, () => {
  const o = compileC(join(REPO, 'examples', 'xdp_filter.c')).objectPath;
  assert.ok(o, 'xdp_filter.c compiles');
  const bytes = readFileSync(o);
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-sections-'));
  const shoff = bytes.length;
  for (const [name, count] of [['million.o', 1_000_000], ['count-huge.o', 0xffffffffffffffffn]] as const) {
    const file = join(dir, name);
    writeFileSync(file, manySections(bytes, count));
    const r = cli(['run', file, PCAP, '--format', 'summary']);
    assert.equal(r.status, 2, `${name}: exit status ${r.status}, stderr: ${r.stderr.slice(0, 500)}`);
    assert.match(r.stderr, new RegExp(`${name}: section header 0's sh_size at byte ${shoff + 32} gives ${String(count)}\\b.* sections; at most 65536 are read`), name);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*:\d+:\d+/, name);
    within(r, { ms: 30_000, mib: 600 }, name);
  }
});
