// Figures for issue 8: how many XDP programs of the real-world corpus (../shared/realworld, corpus.tsv) run here, and
// how many agree with the kernel, packet by packet and map by map. Same procedure as test/realworld (shared code in
// test/realworld/corpus.ts): each program compiled with its row's flags, loaded in the kernel as a real loader would
// and in the simulator, both run over the same packets (the first frames of every shared capture plus the synthetic
// edge cases), maps seeded from test/realworld/seeds/, compared. For a program whose packets agree but whose maps do
// not, the packet after which the maps first differ is found by re-running shorter prefixes.
//
//   node --import tsx bench/realworld.ts [--no-record]
//
// Prints a table and the totals, and appends them to bench/results/realworld.json with the date and the machine.
// Needs root and a working bpf() (the kernel is the reference); exits 2 with the reason when it cannot use the kernel.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelAvailable } from '../test/kernel/runner.ts';
import { REALWORLD, corpusPrograms, firstMapDivergence, packetSet, readCorpus, runProgram, type ProgramResult } from '../test/realworld/corpus.ts';
import { REPO, machine } from './common.ts';

if (!existsSync(join(REALWORLD, 'corpus.tsv'))) {
  console.error(`no real-world corpus at ${REALWORLD} (set XDP_LENS_SHARED to the directory holding realworld/)`);
  process.exit(2);
}
const why = kernelAvailable();
if (why) {
  console.error(`the kernel cannot be used here: ${why}`);
  process.exit(2);
}

const started = Date.now();
const rows = readCorpus();
const entries = corpusPrograms(rows);
const { frames, note } = packetSet();
const results: (ProgramResult & { firstMapDivergence?: { index: number; frame: string; differences: string[] } })[] = [];
for (const { row, program } of entries) {
  const r = runProgram(row, program, frames);
  const out: (typeof results)[number] = { ...r };
  if (r.kernelRuns && r.simLoads && r.packetsAgreeing + r.packetsClockRandom === r.packets && r.mapsAgreeing + r.mapsClockRandom !== r.maps) {
    out.firstMapDivergence = firstMapDivergence(row, program, frames);
  }
  results.push(out);
}

const yes = (b: boolean) => (b ? 'yes' : 'no');
const count = (f: (r: ProgramResult) => boolean) => results.filter(f).length;
const sum = (f: (r: ProgramResult) => number) => results.reduce((a, r) => a + f(r), 0);
const compared = results.filter((r) => r.simLoads && r.kernelRuns);
const totals = {
  corpusFiles: rows.length,
  programs: results.length,
  compiles: count((r) => r.compiles),
  kernelLoads: count((r) => r.kernelLoads),
  kernelRuns: count((r) => r.kernelRuns),
  simLoads: count((r) => r.simLoads),
  simLoadsOfKernelLoaded: count((r) => r.simLoads && r.kernelLoads),
  compared: compared.length,
  agreeing: compared.filter((r) => r.agrees).length,
  packetsCompared: sum((r) => r.packets),
  packetsAgreeing: sum((r) => r.packetsAgreeing),
  packetsClockRandom: sum((r) => r.packetsClockRandom),
  mapsCompared: sum((r) => r.maps),
  mapsAgreeing: sum((r) => r.mapsAgreeing),
  mapsClockRandom: sum((r) => r.mapsClockRandom),
};

const header = ['program', 'compiles', 'sim loads', 'kernel loads', 'kernel runs', 'packets', 'maps', 'note'];
const table = results.map((r) => [
  `${r.file}#${r.program}`, yes(r.compiles), yes(r.simLoads), yes(r.kernelLoads), yes(r.kernelRuns),
  r.packets ? `${r.packetsAgreeing}/${r.packets}${r.packetsClockRandom ? ` (+${r.packetsClockRandom} clock/random)` : ''}` : '-',
  r.maps ? `${r.mapsAgreeing}/${r.maps}${r.mapsClockRandom ? ` (+${r.mapsClockRandom} clock/random)` : ''}` : '-',
  !r.kernelLoads ? `kernel refuses (corpus: ${r.corpusKernelLoads})` : !r.simLoads ? 'simulator refuses' : !r.kernelRuns ? 'test_run refuses' : r.agrees ? 'agrees' : 'DIFFERS',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
console.log(`packets per program: ${frames.length} (${note})\n`);
console.log(line(header));
for (const row of table) console.log(line(row));
console.log('');
for (const r of results) {
  const why = r.compileError ?? (r.kernelLoads && !r.simLoads ? r.simError : undefined) ?? (r.kernelLoads && r.simLoads && !r.kernelRuns ? r.kernelRunError : undefined);
  const diffs = r.kernelRuns && r.simLoads && !r.agrees ? r.differences : [];
  if (!why && diffs.length === 0) continue;
  console.log(`${r.file}#${r.program}:`);
  if (why) console.log(`  ${why.split('\n').slice(0, 3).join('\n  ')}`);
  for (const d of diffs.slice(0, 4)) console.log(`  ${d}`);
  const first = (r as (typeof results)[number]).firstMapDivergence;
  if (first) console.log(`  maps first differ after packet ${first.index} (${first.frame}): ${first.differences[0]}`);
}
console.log(`\ncorpus: ${totals.corpusFiles} files, ${totals.programs} XDP programs; compiled ${totals.compiles}; ` +
  `the kernel loads ${totals.kernelLoads} (BPF_PROG_TEST_RUN runs ${totals.kernelRuns}); the simulator loads ${totals.simLoads} ` +
  `(${totals.simLoadsOfKernelLoaded} of the ${totals.kernelLoads} the kernel loads); compared ${totals.compared}, agreeing ${totals.agreeing}; ` +
  `packets agreeing ${totals.packetsAgreeing}/${totals.packetsCompared} (+${totals.packetsClockRandom} differing only in clock/random-derived bytes); ` +
  `maps agreeing ${totals.mapsAgreeing}/${totals.mapsCompared} (+${totals.mapsClockRandom} clock/random)`);

if (!process.argv.includes('--no-record')) {
  const out = join(REPO, 'bench', 'results', 'realworld.json');
  const history = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : [];
  history.push({
    date: new Date().toISOString(),
    machine: { ...machine(), kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() },
    seconds: Math.round((Date.now() - started) / 100) / 10,
    packetsPerProgram: frames.length,
    packets: note,
    totals,
    programs: results.map((r) => ({
      program: `${r.file}#${r.program}`,
      corpusKernelLoads: r.corpusKernelLoads,
      compiles: r.compiles,
      simLoads: r.simLoads,
      kernelLoads: r.kernelLoads,
      kernelRuns: r.kernelRuns,
      packetsCompared: r.packets,
      packetsAgreeing: r.packetsAgreeing,
      ...(r.packetsClockRandom ? { packetsClockRandom: r.packetsClockRandom } : {}),
      mapsCompared: r.maps,
      mapsAgreeing: r.mapsAgreeing,
      ...(r.mapsClockRandom ? { mapsClockRandom: r.mapsClockRandom } : {}),
      ...(r.seed ? { seed: r.seed } : {}),
      ...(Object.keys(r.verdicts).length ? { kernelVerdicts: r.verdicts } : {}),
      ...(r.loading.length ? { loading: r.loading } : {}),
      ...(r.kernelLoads && !r.simLoads && r.simError ? { simError: r.simError.split('\n')[0] } : {}),
      ...(!r.kernelLoads && r.kernelError ? { kernelError: r.kernelError.split('\n').slice(-1)[0] } : {}),
      ...(r.kernelRunError ? { kernelRunError: r.kernelRunError } : {}),
      ...(r.differences.length ? { differences: r.differences.slice(0, 4) } : {}),
      ...((r as (typeof results)[number]).firstMapDivergence ? { firstMapDivergence: (r as (typeof results)[number]).firstMapDivergence } : {}),
    })),
  });
  writeFileSync(out, JSON.stringify(history, null, 2) + '\n');
  console.log(`recorded in ${out}`);
}
