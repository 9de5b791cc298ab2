// Checkpoints of a run's state between packets, for the debugger (engine.ts): a copy of a Session and its Driver (every
// map with its LRU lists and per-CPU copies, the clock, the PRNG, the connection table, the driver's page pool, rings
// and counters) that runs on exactly as the original would. The copy is structural: every object reachable from the
// state is copied with its prototype and own properties (Maps, Sets, typed arrays with their shared buffers, cycles),
// except what is immutable after loading (the LoadedObject and everything in it, compiled program code), which is
// shared. Functions are shared as they are: a closure over mutable state would keep acting on the original, so the
// caller is told of each (`onFunction`) and rebinds the ones it knows (a session's clock and random source) or gives
// up copying.

export interface CloneOptions {
  /** Objects shared by reference (immutable load output). */
  shared: WeakSet<object>;
  /** Told of every function held in an own property of a copied object (the copy holds the same function). */
  onFunction?(copy: object, key: PropertyKey): void;
}

/** Every object reachable from `root` (for the shared set). */
export function reachable(root: unknown, into = new WeakSet<object>()): WeakSet<object> {
  const stack: unknown[] = [root];
  while (stack.length) {
    const x = stack.pop();
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) continue;
    const o = x as object;
    if (into.has(o)) continue;
    into.add(o);
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) continue;
    if (o instanceof Map) for (const [k, v] of o) stack.push(k, v);
    else if (o instanceof Set) for (const v of o) stack.push(v);
    if (typeof o === 'function') continue;
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (d && 'value' in d) stack.push(d.value);
    }
  }
  return into;
}

/** A deep copy of `root` (see the file comment); `memo` maps originals to their copies. */
export function deepClone<T>(root: T, opts: CloneOptions, memo = new Map<object, unknown>()): T {
  const copy = (x: unknown): unknown => {
    if (x === null || typeof x !== 'object') return x; // primitives (bigint included) and functions
    const o = x as object;
    if (opts.shared.has(o)) return o;
    const seen = memo.get(o);
    if (seen !== undefined) return seen;
    if (o instanceof ArrayBuffer) {
      const b = o.slice(0);
      memo.set(o, b);
      return b;
    }
    if (ArrayBuffer.isView(o)) {
      const buf = copy(o.buffer) as ArrayBuffer;
      const C = o.constructor as new (b: ArrayBuffer, off: number, len: number) => ArrayBufferView;
      const len = o instanceof DataView ? o.byteLength : (o as unknown as { length: number }).length;
      const v = new C(buf, o.byteOffset, len);
      memo.set(o, v);
      return v;
    }
    if (o instanceof Map) {
      const m = new Map();
      memo.set(o, m);
      for (const [k, v] of o) m.set(copy(k), copy(v));
      return m;
    }
    if (o instanceof Set) {
      const s = new Set();
      memo.set(o, s);
      for (const v of o) s.add(copy(v));
      return s;
    }
    if (o instanceof WeakMap || o instanceof WeakSet || o instanceof Promise) return o;
    const out: object = Array.isArray(o) ? new Array(o.length) : Object.create(Object.getPrototypeOf(o));
    memo.set(o, out);
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if ('value' in d) d.value = copy(d.value);
      Object.defineProperty(out, k, d);
      if (typeof d.value === 'function') opts.onFunction?.(out, k);
    }
    return out;
  };
  return copy(root) as T;
}
