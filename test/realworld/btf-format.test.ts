// The BTF value formatter (simulator/btf-format.ts) on the maps of the real-world corpus (../shared/realworld): each
// object that `bpftool prog loadall` loads as it is gets its hash, array, per-CPU and LRU maps and its .data/.bss
// filled with pseudo-random bytes, and `bpftool map dump`'s BTF-formatted entries must equal the formatter's reading
// of the same bytes (test/maps/bpftool-format.ts). Objects bpftool cannot load alone (non-standard sections, legacy
// map definitions, maps a loader sizes) are listed, not compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { loadProgramFileWithObject } from '../../simulator/session.ts';
import { objectWithOnly, privateBpffsUnavailable } from '../../simulator/kernel-load.ts';
import type { MapDef } from '../../simulator/elf/types.ts';
import { kernelOrSkip } from '../kernel/runner.ts';
import { XDP_FORBIDDEN_HELPERS_618, helperIdsCalled, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';
import { bytes, compareWithBpftool, type Fill } from '../maps/bpftool-format.ts';
import { REALWORLD, compileRow, readCorpus } from './corpus.ts';

const FILLABLE = new Set([1, 2, 5, 6, 9, 10]); // HASH, ARRAY, PERCPU_HASH, PERCPU_ARRAY, LRU_HASH, LRU_PERCPU_HASH
const ARRAYS = new Set([2, 6]);
/** Arrays are dumped whole by bpftool: only those small enough to read. */
const MAX_ARRAY_DUMP = 4096;

function fill(m: MapDef, seed: number): Fill[] {
  if (m.kind === 'global') return m.section.startsWith('.data') || m.section.startsWith('.bss') ? [{ key: new Uint8Array(4), value: bytes(m.valueSize, seed) }] : [];
  if (!FILLABLE.has(m.type) || m.keySize === 0 || m.valueSize === 0 || m.maxEntries === 0) return [];
  return Array.from({ length: Math.min(3, m.maxEntries) }, (_, i) => ({
    key: ARRAYS.has(m.type) ? new Uint8Array(new Uint32Array([i]).buffer) : bytes(m.keySize, seed + 17 * i),
    value: bytes(m.valueSize, seed + 31 * i + 5),
  }));
}

const dumpable = (m: MapDef) => (m.kind === 'global' || FILLABLE.has(m.type)) && !(ARRAYS.has(m.type) && m.maxEntries > MAX_ARRAY_DUMP) && (m.keyType !== undefined || m.valueType !== undefined);

test('real-world maps: the formatter agrees with bpftool map dump on every map bpftool can fill', { timeout: 900_000 }, (t) => {
  if (!existsSync(join(REALWORLD, 'corpus.tsv'))) return void t.skip(`the real-world corpus is absent (${REALWORLD})`);
  if (kernelOrSkip(t)) return;
  const ns = privateBpffsUnavailable();
  if (ns) return void t.skip(ns);
  const problems: string[] = [];
  const notLoaded: string[] = [];
  const buildRefused: string[] = [];
  let objects = 0;
  let entries = 0;
  const seen = new Set<string>();
  readCorpus().forEach((row, i) => {
    if (seen.has(row.path)) return;
    seen.add(row.path);
    const c = compileRow(row);
    if (!c.objectPath) return void notLoaded.push(`${row.path}: does not compile here`);
    const { object } = loadProgramFileWithObject(c.objectPath);
    if (!object.maps.some(dumpable)) return;
    // Only the row's XDP programs are programs, in sections libbpf knows (as Compare with Kernel loads them), under
    // the object's own file name (global-data maps are named after it).
    const keep = new Set(row.programs.length ? row.programs : object.programs.filter((p) => p.isXdp).map((p) => p.name));
    // A program calling a helper this kernel build takes from XDP (6.18 gives it) cannot be loaded here: say so.
    const taken = object.programs.filter((p) => keep.has(p.name)).flatMap(helperIdsCalled)
      .filter((id) => xdpForbiddenHelpers().has(id) && !XDP_FORBIDDEN_HELPERS_618.has(id));
    if (taken.length) return void buildRefused.push(`${row.path}: this kernel build takes helper ${taken[0]} from XDP`);
    const patched = objectWithOnly(readFileSync(c.objectPath), keep, new Set(object.programs.filter((p) => p.frags).map((p) => p.name)));
    if (typeof patched === 'string') return void notLoaded.push(`${row.path}: ${patched}`);
    const path = join(mkdtempSync(join(tmpdir(), 'xdp-lens-rw-btf-')), basename(c.objectPath));
    writeFileSync(path, patched);
    const r = compareWithBpftool(path, object, (m) => fill(m, 1000 * (i + 1)), dumpable);
    rmSync(dirname(path), { recursive: true, force: true });
    if (r.loadError) return void notLoaded.push(`${row.path}: ${r.loadError}`);
    objects++;
    entries += r.compared;
    problems.push(...r.problems.map((p) => `${row.path}: ${p}`));
  });
  t.diagnostic(`compared ${entries} entries of ${objects} objects; not loaded by bpftool alone: ${notLoaded.length}`);
  for (const n of notLoaded) t.diagnostic(`  ${n}`);
  assert.deepEqual(problems, []);
  for (const n of buildRefused) t.diagnostic(`  not loadable on this kernel build: ${n}`);
  // loxilb's maps are a good part of the entries; a build that refuses it leaves fewer to compare.
  assert.ok(objects >= 5 && entries >= (buildRefused.length ? 20 : 50), `only ${entries} entries of ${objects} objects compared`);
});
