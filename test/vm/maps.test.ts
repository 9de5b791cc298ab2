// Map semantics per family: flags, limits and errno values as the kernel returns them to a program (reference C.9),
// and the JSON form used by --maps and the jsonl output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapTable, createMap } from '../../simulator/vm/maps.ts';
import { mapsToJson, seedMapsFromJson } from '../../simulator/vm/map-json.ts';
import { MapType, BPF_F_RDONLY_PROG, type MapDef } from '../../simulator/elf/types.ts';
import { csumDiff } from '../../simulator/vm/helper-impl/csum.ts';
import { formatPrintk } from '../../simulator/vm/helper-impl/printk.ts';
import { fibLookup, FIB_RET } from '../../simulator/vm/helper-impl/fib.ts';
import { Prandom } from '../../simulator/vm/helper-impl/prandom.ts';

const def = (type: number, keySize = 4, valueSize = 8, maxEntries = 4, extra: Partial<MapDef> = {}): MapDef =>
  ({ name: 'm', type, keySize, valueSize, maxEntries, flags: 0, kind: 'user', section: '.maps', ...extra });
const k32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const v64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

test('ARRAY: zeros until written, E2BIG past the end, NOEXIST is EEXIST, delete is EINVAL, bad flags EINVAL', () => {
  const m = createMap(def(MapType.ARRAY), 1);
  assert.deepEqual(m.lookup(k32(3), 0), new Uint8Array(8));
  assert.equal(m.lookup(k32(4), 0), undefined);
  assert.equal(m.update(k32(4), v64(1), 0n, 0), -7);
  assert.equal(m.update(k32(1), v64(1), 1n, 0), -17);
  assert.equal(m.update(k32(1), v64(9), 2n, 0), 0);
  assert.equal(m.update(k32(1), v64(9), 8n, 0), -22);
  assert.equal(m.update(k32(1), v64(9), 4n, 0), -22);
  assert.equal(m.delete(k32(1)), -22);
  const p = m.lookup(k32(1), 0)!;
  assert.equal(p[0], 9);
  p[0] = 42; // stores through the pointer persist
  assert.equal(m.lookup(k32(1), 0)![0], 42);
});

test('HASH: ENOENT/EEXIST by flag, E2BIG when full, delete of a missing key ENOENT, dump sorted by key', () => {
  const m = createMap(def(MapType.HASH, 4, 8, 2), 1);
  assert.equal(m.update(k32(5), v64(1), 2n, 0), -2);
  assert.equal(m.update(k32(5), v64(1), 1n, 0), 0);
  assert.equal(m.update(k32(5), v64(2), 1n, 0), -17);
  assert.equal(m.update(k32(1), v64(3), 0n, 0), 0);
  assert.equal(m.update(k32(9), v64(3), 0n, 0), -7);
  assert.equal(m.update(k32(5), v64(7), 0n, 0), 0, 'replacing an element works when full');
  assert.deepEqual(m.dump().map((e) => e.key[0]), [1, 5]);
  assert.equal(m.delete(k32(9)), -2);
  assert.equal(m.delete(k32(1)), 0);
  assert.equal(m.lookup(k32(1), 0), undefined);
});

test('LRU_HASH evicts the least recently used element instead of failing', () => {
  const m = createMap(def(MapType.LRU_HASH, 4, 8, 2), 1);
  m.update(k32(1), v64(1), 0n, 0);
  m.update(k32(2), v64(2), 0n, 0);
  m.lookup(k32(1), 0);
  assert.equal(m.update(k32(3), v64(3), 0n, 0), 0);
  assert.deepEqual(m.dump().map((e) => e.key[0]), [1, 3]);
});

test('PERCPU_HASH: a new element holds the value on this CPU and zeros on the others', () => {
  const m = createMap(def(MapType.PERCPU_HASH), 3);
  m.update(k32(1), v64(5), 0n, 1);
  assert.deepEqual(m.dump()[0].values.map((v) => v[0]), [0, 5, 0]);
  assert.equal(m.lookup(k32(1), 2)![0], 0);
});

test('LPM_TRIE: longest prefix wins, prefix bits beyond the length are ignored, EINVAL past max prefix', () => {
  const m = createMap(def(MapType.LPM_TRIE, 8, 4, 8), 1);
  const key = (len: number, a: number[]) => Uint8Array.from([len, 0, 0, 0, ...a]);
  assert.equal(m.update(key(8, [10, 9, 9, 9]), Uint8Array.from([1, 0, 0, 0]), 0n, 0), 0);
  assert.equal(m.update(key(24, [10, 1, 2, 0]), Uint8Array.from([2, 0, 0, 0]), 0n, 0), 0);
  assert.equal(m.update(key(33, [10, 1, 2, 0]), Uint8Array.from([2, 0, 0, 0]), 0n, 0), -22);
  assert.equal(m.lookup(key(32, [10, 1, 2, 3]), 0)![0], 2);
  assert.equal(m.lookup(key(32, [10, 1, 3, 3]), 0)![0], 1);
  assert.equal(m.lookup(key(16, [10, 1, 2, 3]), 0)![0], 1, 'the lookup prefix length bounds the match');
  assert.equal(m.lookup(key(32, [11, 1, 2, 3]), 0), undefined);
  assert.equal(m.delete(key(8, [10, 0, 0, 0])), 0);
});

test('DEVMAP: read-only for programs, redirect targets from seeded entries', () => {
  const m = createMap(def(MapType.DEVMAP, 4, 4, 4, { flags: BPF_F_RDONLY_PROG }), 1);
  assert.equal(m.readonlyForProgram, true);
  assert.equal(m.seed({ key: k32(2), values: [k32(7)] }), undefined);
  assert.deepEqual(m.redirectTarget!(2), { present: true, ifindex: 7 });
  assert.deepEqual(m.redirectTarget!(1), { present: false });
  assert.match(m.seed({ key: k32(9), values: [k32(7)] })!, /outside/);
});

test('map JSON round-trips, seeds per-CPU maps and names the file and entry on errors', () => {
  const maps = [createMap({ ...def(MapType.HASH), name: 'flows' }, 2), createMap({ ...def(MapType.PERCPU_ARRAY, 4, 8, 2), name: 'stats' }, 2)];
  const errors = seedMapsFromJson(maps, {
    flows: [{ key: '01000000', value: '0200000000000000' }],
    stats: [{ key: 1, value: '0300000000000000' }],
  }, 'seed.json');
  assert.deepEqual(errors, []);
  const json = mapsToJson(maps);
  assert.deepEqual(json.flows, [{ key: '01000000', value: '0200000000000000' }]);
  assert.deepEqual(json.stats[1], { key: '01000000', values: ['0300000000000000', '0300000000000000'] });
  const again = [createMap({ ...def(MapType.HASH), name: 'flows' }, 2)];
  assert.deepEqual(seedMapsFromJson(again, { flows: json.flows }, 'x'), []);
  const bad = seedMapsFromJson(maps, { nope: [], flows: [{ key: 'zz', value: '00' }, { key: '01000000', value: '00' }] }, 'seed.json');
  assert.equal(bad.length, 3);
  assert.match(bad[0], /seed\.json: no map named 'nope'/);
  assert.match(bad[1], /entry 0: "key" must be hex/);
  assert.match(bad[2], /entry 1: value of 1 bytes/);
});

test('csum_diff folds to 16 bits without complementing; from-only and to-only cases', () => {
  const a = Uint8Array.from([0x12, 0x34, 0x56, 0x78]);
  const b = Uint8Array.from([0x12, 0x34, 0x56, 0x79]);
  assert.equal(csumDiff(new Uint8Array(), a, 0), (0x3412 + 0x7856) & 0xffff);
  assert.equal(csumDiff(a, b, 0), 0x0100);
  assert.equal(csumDiff(a, a, 0), 0xffff);
  assert.equal(csumDiff(Uint8Array.from([1, 2, 3]), new Uint8Array(), 0), (~(0x0201 + 0x03) & 0xffff));
});

test('printk formats like the kernel and refuses formats it refuses', () => {
  const fmt = (s: string) => new TextEncoder().encode(s + '\0');
  const none = () => undefined;
  assert.equal(formatPrintk(fmt('n=%d u=%u x=%x'), [0xffffffffn, 0xffffffffn, 255n], none), 'n=-1 u=4294967295 x=ff');
  assert.equal(formatPrintk(fmt('%lld %05d|%-3d|'), [BigInt.asUintN(64, -5n), 42n, 7n], none), '-5 00042|7  |');
  assert.equal(formatPrintk(fmt('%pI4'), [1n], none, () => Uint8Array.from([10, 0, 0, 1])), '10.0.0.1');
  assert.equal(formatPrintk(fmt('%f'), [1n], none), undefined);
  assert.equal(formatPrintk(fmt('%d %d'), [1n], none), undefined);
});

test('fib_lookup: longest prefix, NOT_FWDED without a route, NO_NEIGH without a neighbour, FRAG_NEEDED over the MTU', () => {
  const routes = [
    { family: 'inet' as const, prefix: '10.0.0.0/8', ifindex: 2, smac: '02:00:00:00:00:01', dmac: '02:00:00:00:00:02' },
    { family: 'inet' as const, prefix: '10.1.0.0/16', ifindex: 3, mtu: 1000 },
  ];
  const params = (dst: number[], totLen = 100) => {
    const p = new Uint8Array(64);
    p[0] = 2;
    p[6] = totLen & 0xff;
    p[7] = totLen >> 8;
    p.set(dst, 32);
    return p;
  };
  const p = params([10, 9, 0, 1]);
  assert.equal(fibLookup(p, 0, routes), FIB_RET.SUCCESS);
  assert.equal(p[8], 2);
  assert.deepEqual([...p.subarray(58, 64)], [2, 0, 0, 0, 0, 2]);
  assert.equal(fibLookup(params([10, 1, 0, 1]), 0, routes), FIB_RET.NO_NEIGH);
  assert.equal(fibLookup(params([10, 1, 0, 1], 1400), 0, routes), FIB_RET.FRAG_NEEDED);
  assert.equal(fibLookup(params([192, 168, 0, 1]), 0, routes), FIB_RET.NOT_FWDED);
  assert.equal(fibLookup(params([10, 1, 0, 1]), 64, routes), -22);
});

test('prandom is repeatable for a seed and differs between seeds', () => {
  const a = new Prandom(7), b = new Prandom(7), c = new Prandom(8);
  const xs = [a.next(), a.next(), a.next()];
  assert.deepEqual(xs, [b.next(), b.next(), b.next()]);
  assert.notDeepEqual(xs, [c.next(), c.next(), c.next()]);
});

test('maps of maps: lookups past max_entries or in empty slots are NULL, seeds must match the template, handles are stable', () => {
  const table = new MapTable(1);
  const inner: MapDef = { ...def(MapType.ARRAY, 4, 8, 2), name: 'inner' };
  const a = createMap(inner, 1, table);
  table.add(a, true);
  const outer = createMap({ ...def(MapType.ARRAY_OF_MAPS, 4, 4, 2), name: 'outer', inner }, 1, table);
  table.add(outer, true);
  assert.equal(outer.lookupMap!(k32(0)), undefined);
  assert.equal(outer.seed({ key: k32(1), values: [], map: a }), undefined);
  assert.equal(outer.lookupMap!(k32(1)), a);
  assert.equal(outer.lookupMap!(k32(2)), undefined);
  assert.match(outer.seed({ key: k32(2), values: [], map: a })!, /index 2 is outside map outer/);
  const wrong = createMap({ ...def(MapType.ARRAY, 4, 8, 3), name: 'wrong' }, 1, table);
  assert.match(outer.seed({ key: k32(0), values: [], map: wrong })!, /array wrong has max_entries 3, the inner-map template 2/);
  assert.equal(table.handle(a), 0);
  const made = outer.createInner!('fresh');
  assert.equal(table.handle(made), 2, 'inner maps made from the template get handles after the program\'s maps');
  assert.equal(table.isProgramMap(made), false);
  const hash = createMap({ ...def(MapType.HASH_OF_MAPS, 4, 4, 1), name: 'h' }, 1, table);
  assert.equal(hash.innerTemplate!().type, MapType.ARRAY, 'without a template: an ARRAY of one 4-byte value');
  const h1 = createMap({ ...def(MapType.HASH, 4, 4, 4), name: 'h1' }, 1, table);
  assert.match(hash.seed({ key: k32(7), values: [], map: h1 })!, /does not match the inner-map template/);
  assert.deepEqual(mapsToJson([outer, a]).outer, [{ key: '01000000', map: 'inner' }]);
});
