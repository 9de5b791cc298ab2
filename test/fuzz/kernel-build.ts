// What the fuzz generators leave out on the kernel they run against: a kernel build can take helpers away from XDP
// that the 6.18 kernel gives it (this machine's 6.18.44-fc-v1300 refuses bpf_xdp_adjust_meta, simulator/kernel-probe.ts),
// and a program calling one is refused whole, so nothing of it is compared. There the generators call another helper
// of the same shape instead (same arguments and result, same effect on packet pointers), so the program still loads and
// is compared. On a kernel that gives XDP every helper 6.18 does, nothing changes: a seed's text is the same as before.
//
//   genHelper(id)        the helper id a generator emits for `id` on this kernel (`id` itself unless it is taken away)
//   genSource(source)    C source with each call of a taken-away helper renamed to its stand-in
//   withGenForbidden()   runs a function with another forbidden set (tests: the 6.18 one, or this build's)
import { XDP_FORBIDDEN_HELPERS_618, xdpForbiddenHelpers } from '../../simulator/vm/helpers.ts';

/** Stand-ins: helper id => [its name, the stand-in's id, its name]. Same prototype (ctx, int) -> long, and both move
 * the packet's start so the verifier drops packet pointers after either. */
const STAND_INS = new Map<number, [string, number, string]>([
  [54, ['bpf_xdp_adjust_meta', 44, 'bpf_xdp_adjust_head']],
]);

let override: ReadonlySet<number> | undefined;

function forbidden(): ReadonlySet<number> {
  return override ?? xdpForbiddenHelpers();
}

/** Helpers generators emit that this kernel refuses in XDP though 6.18 does not (the ones with a stand-in). */
export function takenAway(): number[] {
  const f = forbidden();
  return [...STAND_INS.keys()].filter((id) => f.has(id) && !XDP_FORBIDDEN_HELPERS_618.has(id));
}

/** The helper id to emit for `id`: its stand-in when this kernel takes it from XDP, else `id`. */
export function genHelper(id: number): number {
  const s = STAND_INS.get(id);
  return s && takenAway().includes(id) ? s[1] : id;
}

/** `name` (bpf_...) of a helper call in a comment or C text, as genHelper would emit it. */
export function genHelperName(id: number, name: string): string {
  const s = STAND_INS.get(id);
  return s && takenAway().includes(id) ? name.replace(s[0], s[2]) : name;
}

/** C source with every call of a helper this kernel takes from XDP renamed to its stand-in (unchanged otherwise). */
export function genSource(source: string): string {
  let out = source;
  for (const id of takenAway()) {
    const [from, , to] = STAND_INS.get(id)!;
    out = out.replaceAll(`${from}(`, `${to}(`);
  }
  return out;
}

/** Runs `fn` as on a kernel refusing `set` in XDP (tests of the generators). */
export function withGenForbidden<T>(set: ReadonlySet<number>, fn: () => T): T {
  const before = override;
  override = set;
  try {
    return fn();
  } finally {
    override = before;
  }
}
