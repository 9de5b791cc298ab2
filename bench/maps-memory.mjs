#!/usr/bin/env node
// Benchmark: peak resident memory of `xdp-lens run` on a program whose maps are huge on paper: an ARRAY of 100
// million u64 counters (800 MB preallocated in the kernel) and a PERCPU_ARRAY of 65,536 x 32 KiB values on
// --cpus 64 (128 GiB in the kernel), over a small capture. Issue 9 asks that map memory follow the slots touched.
//
//   node bench/maps-memory.mjs [--capture FILE] [--cpus 64]
//
// Needs `npm run build` (dist/cli.js) and clang. Peak RSS from `/usr/bin/time -v` (VmHWM of the node process).
// baselineSmallMaps is the same run on a program with small maps. Results are appended to bench/results/maps-memory.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const capture = opt('capture', join(repo, '..', 'shared', 'captures', 'zeek--get-to-ssh-server.pcap'));
const nrCpus = opt('cpus', '64');
const program = join(repo, 'test', 'maps', 'programs', 'huge_array.c');
const cli = join(repo, 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error('dist/cli.js missing: run `npm run build` first');
  process.exit(2);
}
if (!existsSync(capture)) {
  console.error(`capture ${capture} missing (--capture FILE)`);
  process.exit(2);
}

function run(extra, prog = program) {
  const haveTime = existsSync('/usr/bin/time');
  const cmd = haveTime ? '/usr/bin/time' : process.execPath;
  const argv = [...(haveTime ? ['-v', process.execPath] : []), cli, 'run', prog, capture, '--format', 'jsonl', '--cpus', nrCpus, '--exit-lines', 'exit', ...extra];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - t0) / 1000;
  const hwm = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '{}';
  let summary = {};
  try {
    summary = JSON.parse(last);
  } catch {
    /* reported below through exitCode */
  }
  return {
    exitCode: r.status,
    seconds: Math.round(seconds * 10) / 10,
    peakRssMiB: hwm ? Math.round(Number(hwm[1]) / 102.4) / 10 : undefined,
    packets: summary.summary?.packets,
    mapsSummarised: summary.mapsSummarised,
  };
}

const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model.split(' ').slice(0, 2).join(' '), memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version },
  program: 'test/maps/programs/huge_array.c (ARRAY 100,000,000 x 8 B; PERCPU_ARRAY 65,536 x 32 KiB)',
  capture: capture.split('/').pop(),
  cpus: Number(nrCpus),
  bounded: run([]),
  dumpAll: run(['--dump-maps', 'all']),
  // The same run shape on a program with small maps: what node, the loader and the capture cost on their own.
  baselineSmallMaps: run([], join(repo, 'test', 'maps', 'programs', 'legacy_maps.c')),
};
console.log(JSON.stringify(result, null, 2));
const out = join(repo, 'bench', 'results', 'maps-memory.json');
mkdirSync(dirname(out), { recursive: true });
const prev = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : [];
prev.push(result);
writeFileSync(out, JSON.stringify(prev, null, 2) + '\n');
