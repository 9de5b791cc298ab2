// The map flags of `xdp-lens run` as a user runs them: --max-entries, --inner-map and --dump-maps, the notes on
// stderr, "mapsSummarised" in the jsonl output, and exit status 2 with a message naming the flag on bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const PROGRAMS = join(REPO, 'test', 'maps', 'programs');
const CAPTURE = join(REPO, 'examples', 'demo.pcap');

function run(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'simulator', 'cli.ts'), 'run', ...args, '--exit-lines', 'exit'], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, stderr: r.stderr, last: r.status === 0 ? JSON.parse(lines[lines.length - 1]) : undefined };
}

test('--max-entries sizes maps declared with 0; without it a note names the default and the flag', () => {
  const src = join(PROGRAMS, 'sized_pinned.c');
  const plain = run([src, CAPTURE, '--format', 'jsonl', '--cpus', '2']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, /note: map 'flows' declares max_entries 0 \(its loader sizes it\); using 2/);
  assert.equal(plain.last.maps.per_slot.length, 2);
  const sized = run([src, CAPTURE, '--format', 'jsonl', '--max-entries', 'flows=16', '--max-entries', 'per_slot=16']);
  assert.equal(sized.status, 0, sized.stderr);
  assert.doesNotMatch(sized.stderr, /max_entries 0/);
  assert.equal(sized.last.maps.per_slot.length, 16);
  for (const bad of ['flows', 'flows=0', 'flows=-1', 'flows=0x10', 'flows=4294967296']) {
    const r = run([src, CAPTURE, '--max-entries', bad]);
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /--max-entries takes MAP=N with N from 1 to 4294967295/);
  }
  const unknown = run([src, CAPTURE, '--max-entries', 'nope=3']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--max-entries: no map named 'nope'/);
});

test('--dump-maps: bounded by default with "mapsSummarised", all on request', () => {
  const src = join(PROGRAMS, 'sized_pinned.c');
  const cut = run([src, CAPTURE, '--format', 'jsonl', '--max-entries', 'flows=64', '--max-entries', 'per_slot=16', '--dump-maps', '1']);
  assert.equal(cut.status, 0, cut.stderr);
  assert.equal(cut.last.maps.per_slot.length, 1);
  assert.deepEqual(cut.last.mapsSummarised.per_slot, { entries: 16, listed: 1 });
  const all = run([src, CAPTURE, '--format', 'jsonl', '--max-entries', 'flows=64', '--max-entries', 'per_slot=16', '--dump-maps', 'all']);
  assert.equal(all.last.maps.per_slot.length, 16);
  assert.equal(all.last.mapsSummarised, undefined);
  const bad = run([src, CAPTURE, '--dump-maps', 'some']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--dump-maps is all or a number/);
});

test('--inner-map gives an outer map its template; a map that does not match is refused with the kernel\'s reason', () => {
  const src = join(PROGRAMS, 'map_in_map.c');
  const r = run([src, CAPTURE, '--format', 'jsonl', '--inner-map', 'by_len=hash:4:4:8']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /map 'by_len' slot 0: map counts_a \(type 2.*does not match the inner-map template \(type 1/);
  const bad = run([src, CAPTURE, '--inner-map', 'counts_a=array:4:4:1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--inner-map: map 'counts_a' is not a map of maps/);
  const syntax = run([src, CAPTURE, '--inner-map', 'by_len=array:4']);
  assert.equal(syntax.status, 2);
  assert.match(syntax.stderr, /--inner-map: 'array:4' is not TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES/);
});

test('a map the kernel would not create stops the run with the kernel\'s errno (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-bigmap-'));
  const src = join(dir, 'big_percpu.c');
  writeFileSync(src, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct big { __u8 b[65536]; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 65536); __type(key, __u32); __type(value, struct big); } wide SEC(".maps");
SEC("xdp") int p(struct xdp_md *c) { __u32 k = 0; return bpf_map_lookup_elem(&wide, &k) ? XDP_PASS : XDP_DROP; }
char _license[] SEC("license") = "GPL";
`);
  const r = run([src, CAPTURE, '--cpus', '64']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /the kernel refuses map 'wide' \(E2BIG\): per-CPU value_size 65536 is above 32768/);
});
