// The measurement behind the compiled engine's target (ARCHITECTURE.md): 64-bit arithmetic in generated JavaScript
// (BigInt with BigInt.asUintN, as the engine emits it) against WebAssembly i64, each alone and with one call per
// iteration into a JavaScript function (what every load and store costs when memory stays in the provenance-checked
// Memory of vm/memory.ts).   node bench/engine-choice.mjs [iterations]
const N = Number(process.argv[2] ?? 2_000_000);
const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const sleb64 = (v) => { const out = []; for (;;) { const b = Number(v & 0x7fn); v >>= 7n; if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) { out.push(b); return out; } out.push(b | 0x80); } };
function module(withCall) {
  // (func (param i32 n) (result i64) (local i64 acc) loop: acc = acc * A + C [; acc = acc ^ call(acc)] ; n-- ; br_if)
  const A = sleb64(6364136223846793005n), C = sleb64(1442695040888963407n);
  const body = [1, 1, 0x7e, // one local i64
    0x03, 0x40, // loop
    0x20, 1, 0x42, ...A, 0x7e, 0x42, ...C, 0x7c, 0x21, 1, // acc = acc*A + C
    ...(withCall ? [0x20, 1, 0x20, 1, 0x10, 0, 0x85, 0x21, 1] : []), // acc = acc ^ f(acc)
    0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, // n = n - 1; br_if 0
    0x20, 1, 0x0b];
  const types = [0x60, 1, 0x7f, 1, 0x7e, 0x60, 1, 0x7e, 1, 0x7e];
  const sec = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
  const name = (s) => [s.length, ...Buffer.from(s)];
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...sec(1, [2, ...types]),
    ...sec(2, [1, ...name('e'), ...name('f'), 0, 1]),
    ...sec(3, [1, 0]),
    ...sec(7, [1, ...name('run'), 0, 1]),
    ...sec(10, [1, ...leb(body.length), ...body])];
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), { e: { f: (x) => x & 0xffn } }).exports.run;
}
const f = (x) => x & 0xffn;
function jsPlain(n) { let acc = 0n; for (; n > 0; n--) acc = BigInt.asUintN(64, acc * 6364136223846793005n + 1442695040888963407n); return acc; }
function jsCall(n) { let acc = 0n; for (; n > 0; n--) { acc = BigInt.asUintN(64, acc * 6364136223846793005n + 1442695040888963407n); acc ^= f(acc); } return acc; }
function time(label, fn) {
  fn(10000); fn(10000);
  const t0 = process.hrtime.bigint();
  fn(N);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${label.padEnd(34)} ${ns.toFixed(1)} ns/iteration`);
}
time('JavaScript BigInt', jsPlain);
time('WebAssembly i64', module(false));
time('JavaScript BigInt + JS call', jsCall);
time('WebAssembly i64 + call into JS', module(true));
