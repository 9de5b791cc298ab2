#!/usr/bin/env node
// Benchmark: stream a multi-gigabyte capture through `xdp-lens run` and record peak resident memory and throughput.
// Issue 3 asks for "a capture of several GB in well under 300 MB of resident memory"; this measures it.
//
//   node bench/capture-memory.mjs [--gb 3] [--frame 9000] [--format jsonl|table] [--keep]
//
// The capture is generated into a temp dir (never committed): classic pcap, nanosecond timestamps, UDP frames of
// --frame bytes with varying addresses and ports. The run's stdout goes to /dev/null; peak RSS comes from
// /proc/<pid>/status (VmHWM) sampled at exit through `/usr/bin/time -v` when present, else from polling VmRSS.
// Results are appended to bench/results/capture-memory.json.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, writeSync, closeSync, mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const gb = Number(opt('gb', '3'));
const frameLen = Number(opt('frame', '9000'));
const format = opt('format', 'jsonl');
const keep = args.includes('--keep');

function makeFrame(i) {
  const f = Buffer.alloc(frameLen);
  f.writeUIntBE(0x020000000001, 0, 6);
  f.writeUIntBE(0x020000000002 + (i & 0xff), 6, 6);
  f.writeUInt16BE(0x0800, 12);
  const ipLen = Math.min(frameLen - 14, 0xffff);
  f[14] = 0x45;
  f.writeUInt16BE(ipLen, 16);
  f[22] = 64;
  f[23] = 17;
  f.writeUInt32BE(((10 << 24) | (i & 0xffffff)) >>> 0, 26);
  f.writeUInt32BE(((192 << 24) | (168 << 16) | 1) >>> 0, 30);
  f.writeUInt16BE(1024 + (i % 50000), 34);
  f.writeUInt16BE(i % 7 === 0 ? 22 : 53, 36);
  f.writeUInt16BE(ipLen - 20, 38);
  return f;
}

function generate(path) {
  const fd = openSync(path, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b23c4d, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const target = gb * 1024 ** 3;
  let written = 24;
  let n = 0;
  const templates = Array.from({ length: 64 }, (_, i) => makeFrame(i));
  const rec = Buffer.alloc(16);
  while (written < target) {
    const f = templates[n % templates.length];
    f.writeUInt32BE(((10 << 24) | (n & 0xffffff)) >>> 0, 26);
    const t = BigInt(n) * 10_000n;
    rec.writeUInt32LE(1_700_000_000 + Number(t / 1_000_000_000n), 0);
    rec.writeUInt32LE(Number(t % 1_000_000_000n), 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    writeSync(fd, rec);
    writeSync(fd, f);
    written += 16 + f.length;
    n++;
  }
  closeSync(fd);
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-bench-'));
const capture = join(dir, 'big.pcap');
const t0 = Date.now();
const packets = generate(capture);
const genMs = Date.now() - t0;
const bytes = statSync(capture).size;
console.error(`generated ${packets} packets, ${(bytes / 1024 ** 3).toFixed(2)} GiB in ${genMs} ms`);

const cli = join(repo, 'dist', 'cli.js');
if (!existsSync(cli)) {
  console.error('dist/cli.js missing: run `npm run build` first');
  process.exit(2);
}
const program = join(repo, 'examples', 'xdp_filter.c');
const haveTime = existsSync('/usr/bin/time');
const cmd = haveTime ? '/usr/bin/time' : process.execPath;
const cmdArgs = [...(haveTime ? ['-v', process.execPath] : []), cli, 'run', program, capture, '--format', format];
const start = Date.now();
let peakPolledKb = 0;
const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
const poll = setInterval(() => {
  // Poll the node process (the child of /usr/bin/time, or the child itself).
  const pids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  for (const pid of [String(child.pid), ...pids]) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m && !/time$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) peakPolledKb = Math.max(peakPolledKb, Number(m[1]));
    } catch {}
  }
}, 200);
const code = await new Promise((res) => child.on('close', res));
clearInterval(poll);
const seconds = (Date.now() - start) / 1000;
const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
const peakKb = m ? Number(m[1]) : peakPolledKb;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version },
  capture: { gib: Number((bytes / 1024 ** 3).toFixed(2)), packets, frameLen },
  format,
  exitCode: code,
  seconds: Number(seconds.toFixed(1)),
  packetsPerSecond: Math.round(packets / seconds),
  mbPerSecond: Number((bytes / 1024 ** 2 / seconds).toFixed(1)),
  peakRssMiB: Number((peakKb / 1024).toFixed(1)),
};
console.log(JSON.stringify(result, null, 2));
if (code !== 0) console.error(stderr.slice(-2000));
const resultsFile = join(repo, 'bench', 'results', 'capture-memory.json');
mkdirSync(dirname(resultsFile), { recursive: true });
const prior = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
prior.push(result);
writeFileSync(resultsFile, JSON.stringify(prior, null, 2) + '\n');
if (!keep) rmSync(dir, { recursive: true, force: true });
else console.error(`kept ${capture}`);
process.exit(code === 0 && peakKb / 1024 < 300 ? 0 : 1);
