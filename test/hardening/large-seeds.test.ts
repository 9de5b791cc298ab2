// Large but valid inputs cost memory in proportion to their size, and files that answer in short reads are read in
// one growing buffer.
// - /sys/kernel/btf/vmlinux (read for the kernel's struct layouts) comes 4 KiB a read from sysfs although it reports
//   its whole size; a buffer of the whole size per read was 1,300 buffers of 5 MB, each a full garbage collection
//   (2 s alone, 7-20 s beside a large seed).
// - A --conntrack seed of 150,000 connections (21 MB) peaked at 710 MiB (table) / 800 MiB (jsonl): a DataView and an
//   ArrayBuffer per connection image, index keys of ~10 string pieces each (~400 bytes), and the parsed file kept
//   beside the table for the whole run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { REPO } from '../repo.ts';
import { INPUT_LIMITS, readInputFile } from '../../simulator/input.ts';
import { ConntrackTable } from '../../simulator/vm/conntrack.ts';
import { cli, within } from './measure.ts';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const noClang = spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed';

function connections(n: number): object[] {
  const a: object[] = [];
  for (let i = 0; i < n; i++) {
    a.push({ proto: i % 2 ? 'tcp' : 'udp', src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i % 60000), dst: '192.168.1.1', dport: 80, status: ['SEEN_REPLY', 'ASSURED'], mark: i, timeout: 60 });
  }
  return a;
}

test('a file read in short reads (sysfs BTF): the same bytes, buffers of at most a few times its size', { skip: !existsSync(VMLINUX) && `${VMLINUX} is absent` }, () => {
  const want = readFileSync(VMLINUX);
  let allocated = 0;
  const orig = Buffer.allocUnsafe;
  Buffer.allocUnsafe = (size: number) => {
    allocated += size;
    return orig(size);
  };
  let got: Buffer;
  try {
    got = readInputFile(VMLINUX, 'BTF file', INPUT_LIMITS.object);
  } finally {
    Buffer.allocUnsafe = orig;
  }
  assert.ok(Buffer.compare(got, want) === 0, 'the same bytes as readFileSync');
  assert.ok(allocated <= 3 * want.length + (1 << 20), `allocated ${allocated} bytes for a file of ${want.length}`);
});

test('a conntrack table of 150,000 seeded connections: under 130 MB live (was ~210 MB), lookups in both directions', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const json = connections(150_000);
  gc();
  const m0 = process.memoryUsage();
  const t = new ConntrackTable();
  assert.deepEqual(t.seed(json, 'ct.json', 0, 250), []);
  assert.equal(json.length, 150_000, 'the seed is left as it was: it also seeds the return-line twin');
  gc();
  const m1 = process.memoryUsage();
  const mb = (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / 1e6;
  console.log(`# 150,000 connections: ${mb.toFixed(0)} MB`);
  assert.ok(mb < 130, `${mb.toFixed(0)} MB for 150,000 connections`);
  // The index still finds both directions, and the image holds what was seeded.
  const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
  const orig = { family: 4 as const, src: v4('10.2.73.239'), dst: v4('192.168.1.1'), sport: 1024 + (149_999 % 60000), dport: 80, proto: 6 };
  const hit = t.find(orig, 0, 0);
  assert.equal(hit?.dir, 0);
  assert.equal(hit.conn.mark, 149_999);
  assert.equal(hit.conn.status, 14);
  const back = t.find({ ...orig, src: orig.dst, dst: orig.src, sport: 80, dport: orig.sport }, 0, 0);
  assert.equal(back?.dir, 1);
  assert.equal(back.conn, hit.conn);
  assert.equal(t.find({ ...orig, proto: 17 }, 0, 0), undefined, 'udp is another tuple');
  assert.equal(t.find(orig, 1, 0), undefined, 'zone 1 is another table');
  assert.equal(t.toJson(0, 250).length, 150_000);
});

test('run --conntrack with 150,000 connections (21 MB): peak memory bounded (was 710 MiB)', { skip: noClang }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-ct-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ct.json');
  writeFileSync(file, JSON.stringify(connections(150_000)));
  const r = cli(['run', join(REPO, 'examples', 'xdp_filter.c'), join(REPO, 'examples', 'demo.pcap'), '--format', 'table', '--conntrack', file]);
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  assert.match(r.stdout, /conntrack: 150000 connections in the table after the run/);
  within(r, { ms: 90_000, mib: 480 }, '150,000 connections');
});
