// Maps are sparse: memory follows the slots a program touches, never max_entries x value_size x CPUs; untouched slots
// read as zeros; the kernel's refusals at map creation come back with the kernel's errno (measured on 6.18 with
// bpf_map_create); map dumps stay bounded and say what they left out. Memory bounds are measured in the test
// (resident set growth while the program runs, generous for slow machines); speed lives in bench/maps-memory.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { createMap, mapCreateError } from '../../simulator/vm/maps.ts';
import { mapsDump } from '../../simulator/vm/map-json.ts';
import { MapType, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, type MapDef } from '../../simulator/elf/types.ts';
import { loadProgramFile, Session, XdpLensError } from '../../simulator/session.ts';
import { REPO } from '../repo.ts';

const PROGRAMS = join(REPO, 'test', 'maps', 'programs');
const def = (type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): MapDef =>
  ({ name: 'm', type, keySize, valueSize, maxEntries, flags, kind: 'user', section: '.maps' });
const k32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const MiB = 1 << 20;

function rssGrowth(fn: () => void): number {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

test('an ARRAY of 100 million slots: untouched slots read zeros, touched ones keep their bytes and their identity', () => {
  const grew = rssGrowth(() => {
    const m = createMap(def(MapType.ARRAY, 4, 8, 100_000_000), 1);
    const a = m.lookup(k32(99_999_999), 0)!;
    assert.deepEqual(a, new Uint8Array(8));
    a[0] = 7;
    assert.equal(m.lookup(k32(99_999_999), 0), a, 'the same bytes every lookup (a pointer stays valid)');
    assert.equal(m.lookup(k32(100_000_000), 0), undefined);
    assert.equal(m.update(k32(5), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]), 0n, 0), 0);
    for (let i = 0; i < 10_000; i++) m.lookup(k32(i * 9973), 0); // touched, still zero
    assert.equal(m.size(), 2);
    assert.deepEqual(m.dump().map((e) => new Uint32Array(e.key.buffer)[0]), [5, 99_999_999], 'large arrays dump the slots holding data');
  });
  assert.ok(grew < 200 * MiB, `resident memory grew by ${(grew / MiB).toFixed(0)} MiB`);
});

test('small arrays still dump every slot, as bpftool does', () => {
  const m = createMap(def(MapType.ARRAY, 4, 8, 4), 1);
  assert.equal(m.dump().length, 4);
  const pc = createMap(def(MapType.PERCPU_ARRAY, 4, 8, 3), 2);
  pc.lookup(k32(1), 1)![0] = 9;
  assert.deepEqual(pc.dump().map((e) => e.values.map((v) => v[0])), [[0, 0], [0, 9], [0, 0]]);
});

test('map creation: the kernel\'s errors for sizes it refuses (errno as bpf_map_create returns it on 6.18)', () => {
  const cases: [MapDef, RegExp | undefined][] = [
    [def(MapType.ARRAY, 4, 8, 0), /EINVAL.*max_entries is 0/],
    [def(MapType.ARRAY, 8, 8, 1), /EINVAL.*key_size is 8/],
    [def(MapType.ARRAY, 4, 0, 1), /EINVAL.*value_size is 0/],
    [def(MapType.PERCPU_ARRAY, 4, 32768, 1), undefined],
    [def(MapType.PERCPU_ARRAY, 4, 32769, 1), /E2BIG.*PCPU_MIN_UNIT_SIZE/],
    [def(MapType.PERCPU_ARRAY, 4, 65536, 65536), /E2BIG/],
    [def(MapType.ARRAY, 4, 2 ** 31, 1), /E2BIG.*INT_MAX/],
    [def(MapType.ARRAY, 4, 2 ** 31 - 1, 1), undefined],
    [def(MapType.ARRAY, 4, 8, 100_000_000), undefined],
    [def(MapType.HASH, 4, 8, 0), /EINVAL/],
    [def(MapType.HASH, 0, 8, 1), /EINVAL/],
    [def(MapType.HASH, 4, 4194251, 1), undefined],
    [def(MapType.HASH, 4, 4194252, 1), /E2BIG/],
    [def(MapType.HASH, 4, 2 ** 31 - 1, 1), /E2BIG/],
    [def(MapType.PERCPU_HASH, 4, 32769, 1), /E2BIG/],
    [def(MapType.LPM_TRIE, 8, 8, 1), /EINVAL.*BPF_F_NO_PREALLOC/],
    [def(MapType.LPM_TRIE, 8, 8, 1, BPF_F_NO_PREALLOC), undefined],
    [def(MapType.LPM_TRIE, 300, 8, 1, BPF_F_NO_PREALLOC), /EINVAL/],
    [def(MapType.DEVMAP, 4, 4, 0), /EINVAL/],
    [def(MapType.ARRAY_OF_MAPS, 4, 4, 1), undefined],
    // bpftool map create on 6.18: flags 2 (BPF_F_NO_COMMON_LRU) on a hash is EINVAL, flags 1 on an LRU error 524.
    [def(MapType.HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU), /EINVAL.*BPF_F_NO_COMMON_LRU/],
    [def(MapType.PERCPU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU), /EINVAL/],
    [def(MapType.LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC), /ENOTSUPP/],
    [def(MapType.LRU_PERCPU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU), /ENOTSUPP/],
    [def(MapType.LRU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU), undefined],
  ];
  for (const [d, want] of cases) {
    const got = mapCreateError(d);
    if (want) assert.match(got ?? 'created', want, JSON.stringify(d));
    else assert.equal(got, undefined, JSON.stringify(d));
  }
});

test('a program with a 100-million-slot ARRAY and a 64K x 32 KiB PERCPU_ARRAY on 64 CPUs runs in small memory', () => {
  const obj = loadProgramFile(join(PROGRAMS, 'huge_array.c'));
  let s: Session | undefined;
  const grew = rssGrowth(() => {
    s = new Session(obj, { nrCpus: 64 });
    for (let i = 0; i < 200; i++) assert.equal(s.runPacket(new Uint8Array(60 + i)).action, 'XDP_PASS');
    const dump = s.mapsDump();
    assert.equal(dump.maps.counters.length, 200);
    // 200 touched per-CPU slots of 64 x 32 KiB are 400 MiB of values: the dump lists what fits in 16 MiB and counts the rest.
    assert.equal(dump.maps.scratch.length, 8);
    assert.deepEqual(dump.summarised, { scratch: { entries: 200, listed: 8 } });
  });
  assert.ok(grew < 400 * MiB, `resident memory grew by ${(grew / MiB).toFixed(0)} MiB`);
  assert.equal(s!.machine.maps[1].size(), 200);
  // 65,536 x 32 KiB x 64 CPUs is 128 GiB in the kernel: where that exceeds the machine's memory, a note says so.
  if (totalmem() < 128 * 2 ** 30) assert.ok(s!.notes.some((n) => /map 'scratch' would take 128\.0 GiB in the kernel.*ENOMEM/.test(n)), s!.notes.join('\n'));
});

test('a 64K x 64K PERCPU_ARRAY is refused at load with the kernel\'s E2BIG', () => {
  const obj = loadProgramFile(join(PROGRAMS, 'huge_array.c'));
  const big = { ...obj, maps: obj.maps.map((m) => (m.name === 'scratch' ? { ...m, valueSize: 65536 } : m)) };
  assert.throws(() => new Session(big, { nrCpus: 64 }), (e: unknown) =>
    e instanceof XdpLensError && /the kernel refuses map 'scratch' \(E2BIG\): per-CPU value_size 65536/.test(e.message));
});

test('an ARRAY slot of 2^31-1 bytes runs (the kernel creates it); its dump is summarised, not printed', () => {
  const obj = loadProgramFile(join(PROGRAMS, 'huge_value.c'));
  const grew = rssGrowth(() => {
    const s = new Session(obj);
    assert.equal(s.runPacket(new Uint8Array(64)).action, 'XDP_PASS');
    assert.equal(s.runPacket(new Uint8Array(64)).action, 'XDP_PASS');
    assert.equal(s.runPacket(new Uint8Array(64)).action, 'XDP_DROP');
    const dump = s.mapsDump();
    assert.deepEqual(dump.maps.blob, []);
    assert.deepEqual(dump.summarised.blob, { entries: 1, listed: 0 });
  });
  assert.ok(grew < 400 * MiB, `resident memory grew by ${(grew / MiB).toFixed(0)} MiB`);
});

test('dumps are bounded per map, counted in "summarised", and complete with all', () => {
  const m = createMap({ ...def(MapType.HASH, 4, 4, 50_000), name: 'flows' }, 1);
  for (let i = 0; i < 25_000; i++) m.update(k32(i), k32(i), 0n, 0);
  const d = mapsDump([m]);
  assert.equal(d.maps.flows.length, 10_000);
  assert.deepEqual(d.summarised, { flows: { entries: 25_000, listed: 10_000 } });
  const all = mapsDump([m], { all: true });
  assert.equal(all.maps.flows.length, 25_000);
  assert.deepEqual(all.summarised, {});
  assert.equal(mapsDump([m], { limit: 3 }).maps.flows.length, 3);
});
