// The whole path of `xdp-lens run`, end to end, against the kernel on the same programs and packets (issue 12):
//   npm run build && npx tsx bench/whole-path.ts [--packets 300000] [--trials 3] [--engines compiled,interp]
//     [--cli dist/cli.js] [--label TEXT] [--out bench/results/whole-path.json]
// Programs: parse and count with maps (p01), ICMP echo via XDP_TX (p03), IP-in-IP encapsulation (p07) of the parity
// corpus. Packets: the shared captures' frames and the parity corpus' synthetic ones, cycled to --packets, written as
// one pcap (the same mix bench/engine.ts uses).
// - kernel: BPF_PROG_TEST_RUN with repeat 1000 (the JIT's own time) and one syscall per packet, through
//   bench/kernel-timing.c (needs root, gcc and libbpf; skipped with the reason otherwise);
// - xdp-lens: `node dist/cli.js run X.o CAP --format summary`, `... --format jsonl`, and `run X.c CAP --format summary`
//   and `--format jsonl` (return lines on: the marked twin runs beside the program), per engine: wall time of the
//   command on the capture less the same command on a one-packet
//   capture (startup, compile and load excluded), divided by the packets; also the CPU time (user + system) the same
//   way, which a busy machine inflates less than wall time. Best of --trials, the engines and formats taking turns.
// - two views of the same runs (both recorded): `cpuNs`/`wallNs` are the command on N packets less the command on one
//   packet, divided by N - 1 (the README's figure since the start: it includes the one-time V8 compile and warm-up of
//   the path and of the generated program, spread over N packets); `marginal` is the command on 2N packets less the
//   command on N (each time the least over the trials), divided by N: only what each further packet costs (compiled
//   engine, .o summary and jsonl); `warmupCpuMs` is the N run less the one-packet run less N times that (the one-time
//   part: it grows with the program's and the path's code, not with packets);
// - `floor`: what Node itself costs per packet on this path, timed the same way: `node bench/node-floor.mjs walk` (read
//   the same pcap in the CLI's block size, walk its records, count), `... jsonl` (the same and a fixed jsonl line per
//   packet through a 256 KiB output block), then `run pass.o` (a program that returns XDP_PASS: the reader, the driver
//   model, the engine's entry and the counting, with no program work) with --format summary and jsonl (--floor-only:
//   only these).
// The 1, 5 and 15-minute load averages are recorded before and after: on this 2-core machine, shared with other
// jobs, a load above 2 inflates every XDP Lens figure.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../simulator/compile.ts';
import { loadProgramFile } from '../simulator/session.ts';
import { PcapWriter } from '../simulator/net/pcap-writer.ts';
import type { Engine } from '../simulator/vm/machine.ts';
import { captureCorpus, syntheticCorpus } from '../test/parity/packets.ts';
import { sharedPath } from '../test/repo.ts';
import { REPO, machine, option } from './common.ts';

const N = Number(option('packets', '300000'));
const TRIALS = Number(option('trials', '3'));
const OUT = option('out', join(REPO, 'bench', 'results', 'whole-path.json'));
const PROGRAMS = ['p01_parse_count', 'p03_icmp_echo', 'p07_encap_ipip'];
const ENGINES = option('engines', 'compiled,interp').split(',') as Engine[];
const CPU_AT_EXIT = join(REPO, 'bench', 'cpu-at-exit.cjs');
// --cli: another bundle (an A/B of two builds; dist/ is shared with whoever rebuilds it).
const bundle = option('cli', join(REPO, 'dist', 'cli.js'));
/** --label: what the bundle is (e.g. 'before: HEAD abc1234'), kept in the record. */
const LABEL = option('label', '');
if (!existsSync(bundle)) throw new Error('dist/cli.js is missing: run `npm run build` first');

const loads = () => loadavg().map((x) => Math.round(x * 100) / 100);
const loadStart = loads();
const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-bench-path-'));
const frames = [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes).filter((b) => b.length >= 14);
const packets = Array.from({ length: N }, (_, i) => frames[i % frames.length]!);

function writePcap(path: string, list: Uint8Array[]): void {
  const w = new PcapWriter(path);
  list.forEach((p, i) => w.write(BigInt(1_700_000_000 + Math.floor(i / 1000)) * 1_000_000_000n + BigInt((i % 1000) * 1_000_000), p));
  w.close();
}
const pcap = join(dir, 'mixed.pcap');
const one = join(dir, 'one.pcap');
const twice = join(dir, 'mixed-2n.pcap');
writePcap(pcap, packets);
writePcap(one, packets.slice(0, 1));
writePcap(twice, [...packets, ...packets]);
const lenPrefixed = join(dir, 'packets.bin');
writeFileSync(lenPrefixed, Buffer.concat(packets.flatMap((p) => {
  const l = Buffer.alloc(4);
  l.writeUInt32LE(p.length);
  return [l, Buffer.from(p)];
})));

function kernelTiming(obj: string, program: string): { repeatNs: number; syscallNs: number } | { skipped: string } {
  const bin = join(dir, 'kernel-timing');
  if (!existsSync(bin)) {
    const g = spawnSync('gcc', ['-O2', '-o', bin, join(REPO, 'bench', 'kernel-timing.c'), '-lbpf', '-lelf', '-lz'], { encoding: 'utf8' });
    if (g.status !== 0) return { skipped: `cannot build bench/kernel-timing.c: ${g.stderr || g.error?.message}` };
  }
  const r = spawnSync(bin, [obj, program, lenPrefixed, '1000'], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `kernel-timing failed: ${(r.stderr || '').trim()}` };
  const m = /syscall ([\d.]+)\nrepeat ([\d.]+)/.exec(r.stdout);
  return m ? { syscallNs: Number(m[1]), repeatNs: Number(m[2]) } : { skipped: `unexpected output: ${r.stdout}` };
}

/**
 * Wall and CPU seconds of one command. CPU: the process's user + system time in microseconds, all threads (V8's
 * compiler and GC threads too), written at exit by the preload bench/cpu-at-exit.cjs (/usr/bin/time reports only
 * hundredths of a second: 33 ns a packet at 300,000 packets).
 */
function timed(args: string[]): { wall: number; cpu: number } {
  const out = join(dir, 'cpu.txt');
  rmSync(out, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', CPU_AT_EXIT, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, XDP_LENS_ENGINE: '', XDP_LENS_BENCH_CPU_OUT: out },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
  const cpu = existsSync(out) ? readFileSync(out, 'utf8').trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0) / 1e6 : NaN;
  return { wall, cpu };
}

/** ns per packet of `run ARGS` on the capture, less the same on one packet. */
function cli(args: string[], engine: Engine): { wallNs: number; cpuNs: number } {
  return lessOne((cap) => timed([bundle, 'run', ...args.map((a) => (a === 'CAP' ? cap : a)), '--engine', engine]));
}

/** ns per packet of a command on the capture (`run(cap)`), less the same on one packet. */
function lessOne(run: (cap: string) => { wall: number; cpu: number }): { wallNs: number; cpuNs: number } {
  const a = run(one);
  const b = run(pcap);
  return { wallNs: ((b.wall - a.wall) * 1e9) / (N - 1), cpuNs: ((b.cpu - a.cpu) * 1e9) / (N - 1) };
}

type Times = { wall: number; cpu: number };
/** Per key of the marginal view: the least wall and CPU seconds seen of the command on 1, N and 2N packets. */
const marginalRuns = new Map<string, { one: Times; n: Times; twice: Times }>();
const least = (x: Times | undefined, y: Times): Times => (x === undefined ? y : { wall: Math.min(x.wall, y.wall), cpu: Math.min(x.cpu, y.cpu) });
/**
 * A trial of the marginal view of `run ARGS`: the command on 1, N and 2N packets, each time's least over the trials
 * kept under `key` (a difference of two least times is steadier on a busy machine than the least of the differences).
 */
function marginalTrial(key: string, args: string[], engine: Engine): void {
  const run = (cap: string) => timed([bundle, 'run', ...args.map((a) => (a === 'CAP' ? cap : a)), '--engine', engine]);
  const prev = marginalRuns.get(key);
  marginalRuns.set(key, { one: least(prev?.one, run(one)), n: least(prev?.n, run(pcap)), twice: least(prev?.twice, run(twice)) });
}
/** The marginal view from the trials under `key`: ns per packet of 2N packets less N, and the one-time CPU of the N run. */
function marginal(key: string): { wallNs: number; cpuNs: number; warmupCpuMs: number } {
  const { one: a, n: b, twice: c } = marginalRuns.get(key)!;
  const cpuNs = ((c.cpu - b.cpu) * 1e9) / N;
  return { wallNs: Math.round(((c.wall - b.wall) * 1e9) / N), cpuNs: Math.round(cpuNs), warmupCpuMs: Math.round(((b.cpu - a.cpu) * 1e9 - cpuNs * (N - 1)) / 1e6) };
}

type Best = Record<string, { wallNs: number; cpuNs: number; warmupCpuMs?: number }>;
const keepBest = (row: Best, k: string, v: { wallNs: number; cpuNs: number }) => {
  const prev = row[k];
  row[k] = { wallNs: Math.min(prev?.wallNs ?? Infinity, Math.round(v.wallNs)), cpuNs: Math.min(prev?.cpuNs ?? Infinity, Math.round(v.cpuNs)) };
};

// The floor (see above): Node alone, then the CLI with a program that only returns XDP_PASS.
const floor: Best = {};
{
  const passSrc = join(dir, 'pass.c');
  writeFileSync(passSrc, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar _license[] SEC("license") = "GPL";\n');
  const c = compileC(passSrc);
  if (!c.objectPath) throw new Error(`cannot compile ${passSrc}: ${c.stderr}`);
  const passObj = join(dir, 'pass.o');
  copyFileSync(c.objectPath, passObj);
  const nodeFloor = join(REPO, 'bench', 'node-floor.mjs');
  for (let t = 0; t < TRIALS; t++) {
    keepBest(floor, 'nodeWalk', lessOne((cap) => timed([nodeFloor, 'walk', cap])));
    keepBest(floor, 'nodeJsonlFixedLine', lessOne((cap) => timed([nodeFloor, 'jsonl', cap])));
    keepBest(floor, 'passSummary', cli([passObj, 'CAP', '--format', 'summary'], 'compiled'));
    keepBest(floor, 'passJsonl', cli([passObj, 'CAP', '--format', 'jsonl'], 'compiled'));
    marginalTrial('passSummary', [passObj, 'CAP', '--format', 'summary'], 'compiled');
    marginalTrial('passJsonl', [passObj, 'CAP', '--format', 'jsonl'], 'compiled');
  }
  floor.passSummaryMarginal = marginal('passSummary');
  floor.passJsonlMarginal = marginal('passJsonl');
  console.log(JSON.stringify({ floor }));
}
const FLOOR_ONLY = process.argv.includes('--floor-only');

const results: Record<string, unknown>[] = [];
for (const name of FLOOR_ONLY ? [] : PROGRAMS) {
  const src = join(REPO, 'test', 'parity', 'programs', `${name}.c`);
  const c = compileC(src);
  if (!c.objectPath) throw new Error(`cannot compile ${src}: ${c.stderr}`);
  const obj = join(dir, `${name}.o`); // named after the source, as `run X.c` names it
  copyFileSync(c.objectPath, obj);
  const program = loadProgramFile(obj).programs.find((p) => p.isXdp)!.name;
  const kernel = kernelTiming(obj, program);
  const best: Record<string, Best> = {};
  const keep = (e: Engine, k: string, v: { wallNs: number; cpuNs: number }) => keepBest((best[e] ??= {}), k, v);
  for (let t = 0; t < TRIALS; t++) {
    for (const e of ENGINES) {
      keep(e, 'summary', cli([obj, 'CAP', '--format', 'summary'], e));
      keep(e, 'jsonl', cli([obj, 'CAP', '--format', 'jsonl'], e));
      if (e === 'compiled') {
        marginalTrial(`${name} summary`, [obj, 'CAP', '--format', 'summary'], e);
        marginalTrial(`${name} jsonl`, [obj, 'CAP', '--format', 'jsonl'], e);
      }
      keep(e, 'summaryFromC', cli([src, 'CAP', '--format', 'summary'], e));
      keep(e, 'jsonlFromC', cli([src, 'CAP', '--format', 'jsonl'], e));
    }
  }
  if (best.compiled !== undefined) {
    best.compiled.summaryMarginal = marginal(`${name} summary`);
    best.compiled.jsonlMarginal = marginal(`${name} jsonl`);
  }
  const row: Record<string, unknown> = { program: name, kernel, ...best };
  if ('repeatNs' in kernel) {
    const r = (x: number, y: number) => Math.round((x / y) * 100) / 100;
    row.ratios = Object.fromEntries(ENGINES.map((e) => {
      const b = best[e]!;
      return [e, {
        summaryVsKernelJit: { wall: r(b.summary!.wallNs, kernel.repeatNs), cpu: r(b.summary!.cpuNs, kernel.repeatNs), target: 4 },
        jsonlVsKernelSyscall: { wall: r(b.jsonl!.wallNs, kernel.syscallNs), cpu: r(b.jsonl!.cpuNs, kernel.syscallNs), target: 0.5 },
        fromCVsObjectSummary: { wall: r(b.summaryFromC!.wallNs, b.summary!.wallNs), cpu: r(b.summaryFromC!.cpuNs, b.summary!.cpuNs), target: 1.5 },
        fromCVsObjectJsonl: { wall: r(b.jsonlFromC!.wallNs, b.jsonl!.wallNs), cpu: r(b.jsonlFromC!.cpuNs, b.jsonl!.cpuNs), target: 1.5 },
        ...(b.summaryMarginal && b.jsonlMarginal ? {
          marginalSummaryVsKernelJit: { cpu: r(b.summaryMarginal.cpuNs, kernel.repeatNs), target: 4 },
          marginalJsonlVsKernelSyscall: { cpu: r(b.jsonlMarginal.cpuNs, kernel.syscallNs), target: 0.5 },
        } : {}),
      }];
    }));
  }
  console.log(JSON.stringify(row));
  results.push(row);
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
const record = { date: new Date().toISOString(), machine: machine(), loadavg: { start: loadStart, end: loads() }, packets: N, distinctFrames: frames.length, trials: TRIALS, engines: ENGINES, cli: bundle, ...(LABEL ? { label: LABEL } : {}), floor, results };
const prior = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as unknown[]) : [];
writeFileSync(OUT, JSON.stringify([...prior, record], null, 2) + '\n');
