// bpf_timer_init / set_callback / start / cancel (kernel/bpf/helpers.c) on the struct bpf_timer of a map value. The
// timer's state is the kernel's own object, not bytes of the value (a dump shows the field as zeros), so it is kept
// here, by the value's bytes and the field's offset: a new hash element, or an array slot bpf_map_update_elem
// rewrites, starts with no timer, as the kernel frees the timer with the old value. A started timer never fires
// within a run (the kernel runs the callback later, outside the packet): bpf_timer_cancel finds it active. One that
// expires within DUE_NS of its start (0 ns, a few ns, an absolute expiry already past: BPF_F_TIMER_ABS compares with
// the clock bpf_ktime_get_ns reads) is due at once: the kernel's soft hrtimer runs its callback as soon as the test run
// returns, before the next packet (measured on 6.18: a callback counting its calls had run once per packet when the
// next packet and the final map dump looked, for 0 ns to 10 us relative or 1 ms in the past absolute; 100 us never);
// helpers.ts fireDueTimers runs it then, again while its callback starts it again at once (measured: a callback re-arming
// at 0 ns had run 3 times, as it counted, when the next packet looked). Later expiries depend on wall-clock time between packets (a test-run loop
// leaves about 10-15 us between two packets here, `bpftool prog run` per packet milliseconds) and are not modelled.

const EINVAL = 22;
const EBUSY = 16;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const BPF_F_TIMER_ABS = 1n;
const BPF_F_TIMER_CPU_PIN = 2n;
/**
 * A timer expiring within this many ns of bpf_timer_start fires before the next packet whatever runs the packets (no
 * loop of test runs comes back for the next packet within 1 us); later ones depend on the loop's speed.
 */
export const DUE_NS = 1000n;

export interface TimerState {
  callback?: number;
  /** The program image the callback's slot belongs to, and the map given to bpf_timer_init (helpers.ts). */
  image?: unknown;
  map?: unknown;
  active: boolean;
  /** Started to expire within DUE_NS: fires when the run ends. */
  due?: boolean;
}

const TIMERS = new WeakMap<Uint8Array, Map<number, TimerState>>();

const timerAt = (value: Uint8Array, off: number): TimerState | undefined => TIMERS.get(value)?.get(off);

/** The state of the timer at `off` in the value `value`, if one was initialised there. */
export const timerStateAt = timerAt;

/** Forget the timers of a value (its element was replaced). */
export function dropTimers(value: Uint8Array | undefined): void {
  if (value) TIMERS.delete(value);
}

export function timerInit(value: Uint8Array, off: number, flags: bigint, map?: unknown): number {
  const clock = Number(flags);
  if (flags > 31n || (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME)) return -EINVAL;
  if (timerAt(value, off)) return -EBUSY;
  let m = TIMERS.get(value);
  if (!m) TIMERS.set(value, (m = new Map()));
  m.set(off, { active: false, map });
  return 0;
}

export function timerSetCallback(value: Uint8Array, off: number, fnPc: number, image?: unknown): number {
  const t = timerAt(value, off);
  if (!t) return -EINVAL;
  t.callback = fnPc;
  t.image = image;
  return 0;
}

/**
 * Starts the timer; returns the state when it is due at once (expiring within DUE_NS: relative `nsecs`, or with
 * BPF_F_TIMER_ABS an absolute time on the monotonic clock `nowNs` reads), to be fired after the run.
 */
export function timerStart(value: Uint8Array, off: number, flags: bigint, nsecs = DUE_NS + 1n, nowNs = 0n): number | TimerState {
  if (flags & ~(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)) return -EINVAL;
  const t = timerAt(value, off);
  if (!t || t.callback === undefined) return -EINVAL;
  t.active = true;
  // nsecs is the helper's u64: an absolute time compares as such, a relative one is at most its value.
  t.due = flags & BPF_F_TIMER_ABS ? nsecs <= nowNs + DUE_NS : nsecs <= DUE_NS;
  return t.due ? t : 0;
}

/** The timer expires: whether its callback runs (it is still active and due); it is inactive afterwards. */
export function timerExpire(t: TimerState): boolean {
  const fire = t.active && t.due === true;
  if (fire) t.active = false;
  t.due = false;
  return fire;
}

/** 1 when the timer was active (hrtimer_cancel), 0 when not, -EINVAL when never initialised. */
export function timerCancel(value: Uint8Array, off: number): number {
  const t = timerAt(value, off);
  if (!t) return -EINVAL;
  const was = t.active;
  t.active = false;
  t.due = false;
  return was ? 1 : 0;
}
