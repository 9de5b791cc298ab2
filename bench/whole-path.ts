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
const TIME = '/usr/bin/time';
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
writePcap(pcap, packets);
writePcap(one, packets.slice(0, 1));
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

/** Wall and CPU seconds of one command (CPU from /usr/bin/time when present). */
function timed(args: string[]): { wall: number; cpu: number } {
  const withTime = existsSync(TIME);
  const out = join(dir, 'time.txt');
  const cmd = withTime ? [TIME, '-f', '%U %S', '-o', out, process.execPath, ...args] : [process.execPath, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, XDP_LENS_ENGINE: '' } });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
  const cpu = withTime ? readFileSync(out, 'utf8').trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0) : NaN;
  return { wall, cpu };
}

/** ns per packet of `run ARGS` on the capture, less the same on one packet. */
function cli(args: string[], engine: Engine): { wallNs: number; cpuNs: number } {
  const run = (cap: string) => timed([bundle, 'run', ...args.map((a) => (a === 'CAP' ? cap : a)), '--engine', engine]);
  const a = run(one);
  const b = run(pcap);
  return { wallNs: ((b.wall - a.wall) * 1e9) / (N - 1), cpuNs: ((b.cpu - a.cpu) * 1e9) / (N - 1) };
}

const results: Record<string, unknown>[] = [];
for (const name of PROGRAMS) {
  const src = join(REPO, 'test', 'parity', 'programs', `${name}.c`);
  const c = compileC(src);
  if (!c.objectPath) throw new Error(`cannot compile ${src}: ${c.stderr}`);
  const obj = join(dir, `${name}.o`); // named after the source, as `run X.c` names it
  copyFileSync(c.objectPath, obj);
  const program = loadProgramFile(obj).programs.find((p) => p.isXdp)!.name;
  const kernel = kernelTiming(obj, program);
  const best: Record<string, Record<string, { wallNs: number; cpuNs: number }>> = {};
  const keep = (e: Engine, k: string, v: { wallNs: number; cpuNs: number }) => {
    const row = (best[e] ??= {});
    const prev = row[k];
    row[k] = { wallNs: Math.min(prev?.wallNs ?? Infinity, Math.round(v.wallNs)), cpuNs: Math.min(prev?.cpuNs ?? Infinity, Math.round(v.cpuNs)) };
  };
  for (let t = 0; t < TRIALS; t++) {
    for (const e of ENGINES) {
      keep(e, 'summary', cli([obj, 'CAP', '--format', 'summary'], e));
      keep(e, 'jsonl', cli([obj, 'CAP', '--format', 'jsonl'], e));
      keep(e, 'summaryFromC', cli([src, 'CAP', '--format', 'summary'], e));
      keep(e, 'jsonlFromC', cli([src, 'CAP', '--format', 'jsonl'], e));
    }
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
      }];
    }));
  }
  console.log(JSON.stringify(row));
  results.push(row);
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
const record = { date: new Date().toISOString(), machine: machine(), loadavg: { start: loadStart, end: loads() }, packets: N, distinctFrames: frames.length, trials: TRIALS, engines: ENGINES, cli: bundle, ...(LABEL ? { label: LABEL } : {}), results };
const prior = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as unknown[]) : [];
writeFileSync(OUT, JSON.stringify([...prior, record], null, 2) + '\n');
