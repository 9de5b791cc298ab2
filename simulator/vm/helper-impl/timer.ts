// bpf_timer_init / set_callback / start / cancel (kernel/bpf/helpers.c) on the struct bpf_timer of a map value. The
// timer's state is the kernel's own object, not bytes of the value (a dump shows the field as zeros), so it is kept
// here, by the value's bytes and the field's offset: a new hash element, or an array slot bpf_map_update_elem
// rewrites, starts with no timer, as the kernel frees the timer with the old value. A started timer never fires
// within a run (the kernel would run the callback later, outside the packet): bpf_timer_cancel finds it active.

const EINVAL = 22;
const EBUSY = 16;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const BPF_F_TIMER_ABS = 1n;
const BPF_F_TIMER_CPU_PIN = 2n;

interface TimerState {
  callback?: number;
  active: boolean;
}

const TIMERS = new WeakMap<Uint8Array, Map<number, TimerState>>();

const timerAt = (value: Uint8Array, off: number): TimerState | undefined => TIMERS.get(value)?.get(off);

/** Forget the timers of a value (its element was replaced). */
export function dropTimers(value: Uint8Array | undefined): void {
  if (value) TIMERS.delete(value);
}

export function timerInit(value: Uint8Array, off: number, flags: bigint): number {
  const clock = Number(flags);
  if (flags > 31n || (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME)) return -EINVAL;
  if (timerAt(value, off)) return -EBUSY;
  let m = TIMERS.get(value);
  if (!m) TIMERS.set(value, (m = new Map()));
  m.set(off, { active: false });
  return 0;
}

export function timerSetCallback(value: Uint8Array, off: number, fnPc: number): number {
  const t = timerAt(value, off);
  if (!t) return -EINVAL;
  t.callback = fnPc;
  return 0;
}

export function timerStart(value: Uint8Array, off: number, flags: bigint): number {
  if (flags & ~(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)) return -EINVAL;
  const t = timerAt(value, off);
  if (!t || t.callback === undefined) return -EINVAL;
  t.active = true;
  return 0;
}

/** 1 when the timer was active (hrtimer_cancel), 0 when not, -EINVAL when never initialised. */
export function timerCancel(value: Uint8Array, off: number): number {
  const t = timerAt(value, off);
  if (!t) return -EINVAL;
  const was = t.active;
  t.active = false;
  return was ? 1 : 0;
}
