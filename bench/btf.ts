// Benchmark: the CO-RE target BTF. /sys/kernel/btf/vmlinux (about 5 MB, 125k types on 6.18) is parsed once per
// process, the first time a program with CO-RE relocations is loaded; this measures that parse (each sample in a
// fresh process, so nothing is cached), the heap it keeps, and the load of a CO-RE program after it.
//
//   node --import tsx bench/btf.ts [--runs 7] [--btf /sys/kernel/btf/vmlinux]
//
// Results are appended to bench/results/btf.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileC } from '../simulator/compile.ts';
import { loadBtfFile } from '../simulator/elf/core.ts';
import { loadObject } from '../simulator/elf/index.ts';
import { REPO, machine, option } from './common.ts';

const runs = Number(option('runs', '7'));
const btf = option('btf', '/sys/kernel/btf/vmlinux');
const program = join(REPO, 'test', 'core', 'fixtures', 'core_layout.c');

interface Sample { types: number; parseMs: number; heapMiB: number; loadAfterMs: number }

function sample(): Sample {
  const obj = compileC(program).objectPath!;
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const t1 = performance.now();
  const t = loadBtfFile(btf, 'kernel');
  const t2 = performance.now();
  if (typeof t === 'string') throw new Error(t);
  gc();
  const h1 = process.memoryUsage().heapUsed;
  const t3 = performance.now();
  const r = loadObject(readFileSync(obj), 'core_layout.c', { btf });
  const t4 = performance.now();
  if (!r.object) throw new Error('core_layout.c did not load');
  return { types: t.btf.types.length, parseMs: t2 - t1, heapMiB: (h1 - h0) / 2 ** 20, loadAfterMs: t4 - t3 };
}

if (process.argv.includes('--child')) {
  console.log(JSON.stringify(sample()));
} else {
  if (!existsSync(btf)) {
    console.error(`no ${btf}`);
    process.exit(2);
  }
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(REPO, 'bench', 'btf.ts'), '--child', '--btf', btf], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    samples.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
  }
  const sorted = (k: keyof Sample) => samples.map((s) => s[k]).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    btf,
    bytes: statSync(btf).size,
    types: samples[0]!.types,
    runs,
    parseMsMedian: round(sorted('parseMs')[Math.floor(runs / 2)]!),
    parseMsMin: round(sorted('parseMs')[0]!),
    heapMiBMedian: round(sorted('heapMiB')[Math.floor(runs / 2)]!),
    loadAfterParseMsMedian: round(sorted('loadAfterMs')[Math.floor(runs / 2)]!),
  };
  console.log(JSON.stringify(result, null, 2));
  const out = join(REPO, 'bench', 'results', 'btf.json');
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  const prev = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as unknown[]) : [];
  writeFileSync(out, JSON.stringify([...prev, result], null, 2) + '\n');
}
