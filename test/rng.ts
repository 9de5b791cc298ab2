// Fixed-seed pseudo-random numbers for tests (xorshift32): the same sequence for the same seed on every run.

/** Numbers in [0, 1) from `seed` (0 counts as 1). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
