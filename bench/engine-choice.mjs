// The measurement behind the compiled engine's design (ARCHITECTURE.md): 64-bit arithmetic in generated JavaScript,
// as BigInt (BigInt.asUintN) and as two int32 halves (what the engine emits: carries by comparison, products in 16-bit
// limbs), against WebAssembly i64, each alone and with one call per iteration into a JavaScript function (what every
// load and store costs when memory stays in the provenance-checked Memory of vm/memory.ts), the call taking the value
// as a BigInt or as two int32 halves.   node bench/engine-choice.mjs [iterations]
const N = Number(process.argv[2] ?? 2_000_000);
const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const sleb64 = (v) => { const out = []; for (;;) { const b = Number(v & 0x7fn); v >>= 7n; if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) { out.push(b); return out; } out.push(b | 0x80); } };
function module(withCall, halves = false) {
  // (func (param i32 n) (result i64) (local i64 acc) loop: acc = acc * A + C [; acc = acc ^ call(acc)] ; n-- ; br_if)
  const A = sleb64(6364136223846793005n), C = sleb64(1442695040888963407n);
  const body = [1, 1, 0x7e, // one local i64
    0x03, 0x40, // loop
    0x20, 1, 0x42, ...A, 0x7e, 0x42, ...C, 0x7c, 0x21, 1, // acc = acc*A + C
    ...(withCall && !halves ? [0x20, 1, 0x20, 1, 0x10, 0, 0x85, 0x21, 1] : []), // acc = acc ^ f(acc)
    // acc = acc ^ u64(f(lo(acc), hi(acc)))
    ...(withCall && halves ? [0x20, 1, 0x20, 1, 0xa7, 0x20, 1, 0x42, 32, 0x88, 0xa7, 0x10, 0, 0xad, 0x85, 0x21, 1] : []),
    0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, // n = n - 1; br_if 0
    0x20, 1, 0x0b];
  const types = [0x60, 1, 0x7f, 1, 0x7e, 0x60, 1, 0x7e, 1, 0x7e, 0x60, 2, 0x7f, 0x7f, 1, 0x7f];
  const sec = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
  const name = (s) => [s.length, ...Buffer.from(s)];
  const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...sec(1, [3, ...types]),
    ...sec(2, [1, ...name('e'), ...name('f'), 0, halves ? 2 : 1]),
    ...sec(3, [1, 0]),
    ...sec(7, [1, ...name('run'), 0, 1]),
    ...sec(10, [1, ...leb(body.length), ...body])];
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), { e: { f: halves ? (l, _h) => l & 0xff : (x) => x & 0xffn } }).exports.run;
}
const f = (x) => x & 0xffn;
function jsPlain(n) { let acc = 0n; for (; n > 0; n--) acc = BigInt.asUintN(64, acc * 6364136223846793005n + 1442695040888963407n); return acc; }
function jsCall(n) { let acc = 0n; for (; n > 0; n--) { acc = BigInt.asUintN(64, acc * 6364136223846793005n + 1442695040888963407n); acc ^= f(acc); } return acc; }
// The same on int32 halves, as compiled/engine.ts emits it (A.mul and a carry by comparison).
const T = { h: 0 };
function mul(al, ah, bl, bh) {
  const a48 = ah >>> 16, a32 = ah & 0xffff, a16 = al >>> 16, a00 = al & 0xffff;
  const b48 = bh >>> 16, b32 = bh & 0xffff, b16 = bl >>> 16, b00 = bl & 0xffff;
  let c00 = a00 * b00; let c16 = c00 >>> 16; c00 &= 0xffff;
  c16 += a16 * b00; let c32 = c16 >>> 16; c16 &= 0xffff;
  c16 += a00 * b16; c32 += c16 >>> 16; c16 &= 0xffff;
  c32 += a32 * b00; let c48 = c32 >>> 16; c32 &= 0xffff;
  c32 += a16 * b16; c48 += c32 >>> 16; c32 &= 0xffff;
  c32 += a00 * b32; c48 += c32 >>> 16; c32 &= 0xffff;
  c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48; c48 &= 0xffff;
  T.h = (c48 << 16) | c32;
  return (c16 << 16) | c00;
}
const AL = Number(6364136223846793005n & 0xffffffffn) | 0, AH = Number(6364136223846793005n >> 32n) | 0;
const CL = Number(1442695040888963407n & 0xffffffffn) | 0, CH = Number(1442695040888963407n >> 32n) | 0;
const g = (l, _h) => l & 0xff;
function halves(n, withCall) {
  let l = 0, h = 0;
  for (; n > 0; n--) {
    l = mul(l, h, AL, AH); h = T.h;
    const t = (l >>> 0) + (CL >>> 0); h = (h + CH + (t > 4294967295 ? 1 : 0)) | 0; l = t | 0;
    if (withCall) l ^= g(l, h);
  }
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}
function time(label, fn) {
  fn(10000); fn(10000);
  const t0 = process.hrtime.bigint();
  fn(N);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${label.padEnd(34)} ${ns.toFixed(1)} ns/iteration`);
}
if (jsPlain(1000) !== halves(1000, false) || jsCall(1000) !== halves(1000, true)) throw new Error('halves disagree with BigInt');
time('JavaScript BigInt', jsPlain);
time('JavaScript int32 halves', (n) => halves(n, false));
time('WebAssembly i64', module(false));
time('JavaScript BigInt + JS call', jsCall);
time('JavaScript int32 halves + JS call', (n) => halves(n, true));
time('WebAssembly i64 + JS call (BigInt)', module(true));
time('WebAssembly i64 + JS call (halves)', module(true, true));
