// bpf_get_prandom_u32: the kernel draws from a per-CPU Tausworthe generator (lib/random32.c, prandom_u32_state),
// seeded at boot, so no two machines agree on its values. The simulator uses the same generator with a seed the
// user chooses (--seed), so a run is repeatable.
export class Prandom {
  private s1: number;
  private s2: number;
  private s3: number;
  private s4: number;

  constructor(seed: number) {
    // prandom_seed_state: spread the seed, and keep each state word above the minimum its LFSR needs.
    const lcg = (x: number) => (Math.imul(x >>> 0, 69069) + 1) >>> 0;
    const s = lcg(seed >>> 0 || 1);
    this.s1 = Prandom.floor(s, 2);
    this.s2 = Prandom.floor(lcg(s), 8);
    this.s3 = Prandom.floor(lcg(lcg(s)), 16);
    this.s4 = Prandom.floor(lcg(lcg(lcg(s))), 128);
    for (let i = 0; i < 10; i++) this.next(); // prandom_warmup
  }

  private static floor(x: number, min: number): number {
    return x < min ? (x + min) >>> 0 : x;
  }

  next(): number {
    const step = (z: number, a: number, b: number, c: number, d: number) => ((((z & c) << d) ^ (((z << a) ^ z) >>> b)) >>> 0);
    this.s1 = step(this.s1, 6, 13, 0xfffffffe, 18);
    this.s2 = step(this.s2, 2, 27, 0xfffffff8, 2);
    this.s3 = step(this.s3, 13, 21, 0xfffffff0, 7);
    this.s4 = step(this.s4, 3, 12, 0xffffff80, 13);
    return (this.s1 ^ this.s2 ^ this.s3 ^ this.s4) >>> 0;
  }
}
