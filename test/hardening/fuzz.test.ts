// Light fuzzers kept in the suite: mutated captures, mutated BPF objects, mutated C text (the source tier) and mutated
// LSP messages. The suite (and CI) uses a fixed base seed so a run is reproducible; XDP_LENS_FUZZ_SEED=random takes a
// fresh one (printed when a case fails, with the line that replays it). A few thousand cases per fuzzer, capped at about
// 20 s each. `npm run fuzz` runs a million cases per fuzzer with no time cap.
// Env: XDP_LENS_FUZZ_SEED (base seed, or 'random'), XDP_LENS_FUZZ_CASES (cases per fuzzer; setting it removes the time cap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, sharedPath } from '../repo.ts';
import { openCapture, CaptureError } from '../../simulator/net/capture.ts';
import { summarize } from '../../simulator/net/dissect.ts';
import { dissectTree } from '../../simulator/net/dissect-tree.ts';
import { loadObject, objectErrors } from '../../simulator/elf/index.ts';
import { compileC } from '../../simulator/compile.ts';
import { Session, XdpLensError } from '../../simulator/session.ts';
import { initSourceAnalysis, analyzeSource } from '../../simulator/analysis/index.ts';
import { ResyncingMessageReader } from '../../server/framing.ts';
import { paramsProblem, SHAPES } from '../../server/guard.ts';

const FIXED = process.env.XDP_LENS_FUZZ_CASES !== undefined;
const CASES = FIXED ? Number(process.env.XDP_LENS_FUZZ_CASES) : 3000;
const TIME_CAP_MS = FIXED ? Infinity : 20_000;
const SEED_ENV = process.env.XDP_LENS_FUZZ_SEED;
const BASE_SEED = SEED_ENV === 'random' ? randomInt(2 ** 31) : SEED_ENV !== undefined ? Number(SEED_ENV) : 0x7a11ed;
const haveClang = spawnSync('clang', ['--version']).status === 0;

/** xorshift32: small, fast, reproducible from one number. */
function rng(seed: number) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { int: (n: number) => next() % Math.max(1, n), next };
}
type Rng = ReturnType<typeof rng>;

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65535, 65536, 262144, 262145];

/** One to eight mutations of a byte string: flips, interesting values, length fields, cuts, repeats, deletions. */
function mutateBytes(input: Uint8Array, r: Rng): Uint8Array {
  let b = Buffer.from(input);
  const n = 1 + r.int(8);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = r.int(b.length);
    switch (r.int(7)) {
      case 0:
        b[at] = b[at]! ^ (1 << r.int(8));
        break;
      case 1:
        b[at] = INTERESTING_U8[r.int(INTERESTING_U8.length)]!;
        break;
      case 2:
        if (at + 4 <= b.length) b.writeUInt32LE(INTERESTING_U32[r.int(INTERESTING_U32.length)]!, at);
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4: {
        const len = Math.min(b.length - at, 1 + r.int(64));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 5: {
        const len = Math.min(b.length - at, 1 + r.int(64));
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        break;
      }
      default:
        b[at] = r.int(256);
    }
  }
  return b;
}

/** Run `one(seed)` for each case; a failure names the seed that replays it. */
function fuzz(name: string, one: (seed: number) => void): void {
  const t0 = performance.now();
  let ran = 0;
  for (let i = 0; i < CASES; i++) {
    if (performance.now() - t0 > TIME_CAP_MS) break;
    const seed = (BASE_SEED + i) >>> 0;
    try {
      one(seed);
    } catch (e) {
      throw new Error(
        `${name}: case ${i} failed (base seed ${BASE_SEED}); replay with XDP_LENS_FUZZ_SEED=${seed} XDP_LENS_FUZZ_CASES=1:\n${(e as Error)?.stack ?? e}`,
      );
    }
    ran++;
  }
  // The floor keeps the test from passing vacuously; it is low because a loaded 2-core machine runs few cases.
  assert.ok(ran >= Math.min(CASES, 50), `${name}: only ${ran} cases ran in the time cap (base seed ${BASE_SEED})`);
  console.log(`# ${name}: ${ran} cases, base seed ${BASE_SEED}`);
}

/** A case must finish in this time: no input may make a parser loop (generous: a loaded machine pauses). */
const CASE_MS = 15_000;
function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  const v = f();
  const ms = performance.now() - t0;
  if (ms > CASE_MS) throw new Error(`${what} took ${Math.round(ms)} ms`);
  return v;
}

function smallFiles(dir: string, ext: RegExp, max: number): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => ext.test(f))
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile() && statSync(p).size <= max);
}

test('fuzz: mutated captures give packets or a CaptureError, never another exception', () => {
  const seeds = [join(REPO, 'examples', 'demo.pcap'), ...smallFiles(sharedPath('captures'), /\.(pcap|pcapng)$/, 64 * 1024).slice(0, 12)].map((p) =>
    readFileSync(p),
  );
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-fuzz-cap-'));
  const file = join(dir, 'case.pcap');
  fuzz('captures', (seed) => {
    const r = rng(seed);
    writeFileSync(file, mutateBytes(seeds[r.int(seeds.length)]!, r));
    timed('reading the capture', () => {
      let reader;
      try {
        reader = openCapture(file);
        for (let i = 0; i < 100_000; i++) {
          const p = reader.next();
          if (!p) break;
          summarize(p.frame);
          dissectTree(p.frame);
        }
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
      } finally {
        reader?.close();
      }
    });
  });
});

test('fuzz: mutated BPF objects load or are refused with diagnostics, and what loads runs', { skip: !haveClang && 'clang is not installed' }, () => {
  const fixtures = ['tailcall.c', 'multi.c', 'globals.c', 'subprogs.c', 'maps_kinds.c'];
  const seeds: Uint8Array[] = [];
  for (const f of fixtures) {
    const r = compileC(join(REPO, 'test', 'elf', 'fixtures', f));
    if (r.objectPath) seeds.push(readFileSync(r.objectPath));
  }
  assert.ok(seeds.length > 0, 'the fixtures compile');
  const packet = new Uint8Array(64);
  packet[12] = 0x08;
  fuzz('objects', (seed) => {
    const r = rng(seed);
    const bytes = mutateBytes(seeds[r.int(seeds.length)]!, r);
    timed('loading and running the object', () => {
      const { object, diagnostics } = loadObject(bytes, 'fuzz.o');
      const internal = diagnostics.find((d) => /internal error/.test(d.message));
      if (internal) throw new Error(internal.message);
      // As the CLI: errors that refuse the whole object stop here; a program's own errors refuse that program.
      if (!object || objectErrors(diagnostics).length > 0) return;
      for (const p of object.programs.slice(0, 2)) {
        let session: Session;
        try {
          session = new Session(object, { program: p.name, budget: 100_000 });
        } catch (e) {
          if (e instanceof XdpLensError) continue;
          throw e;
        }
        session.runPacket(packet);
      }
    });
  });
});

test('fuzz: mutated C text never makes the source tier throw or stall', async () => {
  await initSourceAnalysis();
  const texts = [
    join(REPO, 'examples', 'xdp_filter.c'),
    ...smallFiles(join(REPO, 'test', 'server', 'fixtures'), /\.c$/, 64 * 1024),
    ...smallFiles(join(REPO, 'test', 'analysis', 'fixtures'), /\.c$/, 64 * 1024),
  ].map((p) => readFileSync(p, 'utf8'));
  const tokens = ['{', '}', '(', ')', ';', 'if (', 'return ', 'XDP_PASS', 'XDP_TX', 'ctx->data', '#define X(a) a', '#include "x.h"', '*', '&', 'void *', '/*', '"', "'", '\\', '\0', 'goto out;', 'for (;;)', '[', ']', '0x', '->', 'SEC("xdp")', 'bpf_redirect_map(&m, 0, 0)'];
  fuzz('C text', (seed) => {
    const r = rng(seed);
    let lines = texts[r.int(texts.length)]!.split('\n');
    const n = 1 + r.int(6);
    for (let k = 0; k < n; k++) {
      const at = r.int(lines.length);
      switch (r.int(5)) {
        case 0:
          lines.splice(at, 1 + r.int(3));
          break;
        case 1:
          lines.splice(at, 0, ...lines.slice(r.int(lines.length)).slice(0, 1 + r.int(5)));
          break;
        case 2: {
          const line = lines[at] ?? '';
          const col = r.int(line.length + 1);
          lines[at] = line.slice(0, col) + tokens[r.int(tokens.length)]! + line.slice(col);
          break;
        }
        case 3:
          lines = lines.slice(0, at);
          break;
        default: {
          const line = lines[at] ?? '';
          const col = r.int(line.length + 1);
          lines[at] = line.slice(0, col) + line.slice(col + 1 + r.int(8));
        }
      }
    }
    const text = lines.join('\n');
    timed('the source tier', () => analyzeSource('/tmp/fuzz.c', text, { driverMode: r.int(2) ? 'native' : 'readonly-page' }));
  });
});

test('fuzz: byte streams and parameters of LSP messages never make the reader or the checks throw', () => {
  const methods = Object.keys(SHAPES);
  const good = (r: Rng) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: r.int(1000), method: methods[r.int(methods.length)], params: randomJson(r, 3) });
    return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
  fuzz('LSP', (seed) => {
    const r = rng(seed);
    const parts: Buffer[] = [];
    for (let k = 0; k < 1 + r.int(6); k++) parts.push(r.int(3) ? good(r) : Buffer.from(mutateBytes(good(r), r)));
    const stream = Buffer.concat(parts);
    const reader = new ResyncingMessageReader(process.stdin, () => {});
    let delivered = 0;
    (reader as unknown as { callback: (m: unknown) => void }).callback = (m) => {
      delivered++;
      const msg = m as { method?: unknown; params?: unknown };
      if (typeof msg.method === 'string') paramsProblem(msg.method, msg.params);
    };
    timed('reading the stream', () => {
      for (let at = 0; at < stream.length; ) {
        const len = 1 + r.int(64);
        reader.onData(stream.subarray(at, at + len));
        at += len;
      }
    });
    assert.ok(delivered <= parts.length);
    for (const m of methods) paramsProblem(m, randomJson(r, 4));
  });
});

function randomJson(r: Rng, depth: number): unknown {
  switch (r.int(depth > 0 ? 9 : 6)) {
    case 0:
      return null;
    case 1:
      return r.int(2) === 1;
    case 2:
      return [0, -1, 1e9, 2 ** 53, -0.5, 1e300][r.int(6)];
    case 3:
      return ['', 'file:///tmp/x.c', 'x'.repeat(r.int(100)), '\u0000', 'XDP_PASS'][r.int(5)];
    case 4:
      return r.int(100);
    case 5:
      return 'file:///nonexistent.c';
    case 6:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1));
    default: {
      const keys = ['uri', 'textDocument', 'position', 'line', 'character', 'capture', 'runId', 'offset', 'limit', 'index', 'range', 'start', 'end', 'context', 'diagnostics', 'contentChanges', 'text', 'version'];
      const o: Record<string, unknown> = {};
      for (let k = 0; k < 1 + r.int(5); k++) o[keys[r.int(keys.length)]!] = randomJson(r, depth - 1);
      return o;
    }
  }
}

test('fuzz: the language server keeps answering after a burst of mutated messages', { skip: !existsSync(join(REPO, 'dist', 'server.js')) && 'run npm run build' }, async () => {
  const child = spawn(process.execPath, [join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  const answers = new Map<number, unknown>();
  const reader = new ResyncingMessageReader(child.stdout!, () => {});
  reader.listen((m) => {
    const msg = m as { id?: number; method?: string; result?: unknown; error?: unknown };
    if (typeof msg.id === 'number' && msg.method === undefined) answers.set(msg.id, msg);
    else if (msg.id !== undefined && msg.method) child.stdin!.write(frame({ jsonrpc: '2.0', id: msg.id, result: msg.method === 'workspace/configuration' ? [{}] : null }));
  });
  const frame = (o: unknown) => {
    const body = JSON.stringify(o);
    return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  const waitAnswer = async (id: number, what: string) => {
    const t0 = Date.now();
    while (!answers.has(id)) {
      if (Date.now() - t0 > 60_000) throw new Error(`${what}: no answer (base seed ${BASE_SEED}); server stderr:\n${stderr}`);
      if (child.exitCode !== null) throw new Error(`${what}: the server exited with ${child.exitCode} (base seed ${BASE_SEED}); stderr:\n${stderr}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  try {
    child.stdin!.write(frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } }));
    await waitAnswer(1, 'initialize');
    child.stdin!.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
    const methods = [...Object.keys(SHAPES).filter((m) => !m.startsWith('xdpLens/run') && !m.startsWith('xdpLens/compare') && m !== 'xdpLens/bytecode'), 'workspace/didChangeConfiguration', '$/cancelRequest'];
    const r = rng(BASE_SEED);
    const burst = FIXED ? Math.min(CASES, 20_000) : 500;
    for (let i = 0; i < burst; i++) {
      const m = methods[r.int(methods.length)]!;
      const notification = !m.startsWith('textDocument/hover') && !m.startsWith('textDocument/codeAction') && !m.startsWith('xdpLens/');
      child.stdin!.write(frame({ jsonrpc: '2.0', ...(notification ? {} : { id: 1000 + i }), method: m, params: randomJson(r, 4) }));
    }
    const uri = pathToFileURL(join(REPO, 'examples', 'xdp_filter.c')).href;
    child.stdin!.write(frame({ jsonrpc: '2.0', id: 2, method: 'textDocument/hover', params: { textDocument: { uri }, position: { line: 0, character: 0 } } }));
    await waitAnswer(2, 'a hover after the burst');
    assert.equal(child.exitCode, null);
    assert.doesNotMatch(stderr, /internal error/, 'no handler threw');
    console.log(`# LSP server: ${burst} mutated messages, base seed ${BASE_SEED}`);
  } finally {
    child.kill('SIGKILL');
  }
});
