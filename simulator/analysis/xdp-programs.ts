// Which programs of a file `check` analyses as XDP programs, the same in both tiers.
//
// libbpf gives a program its type from its section name (`xdp`, `xdp.frags`, `xdp/...`; the legacy `xdp_*` names are
// taken as XDP here too). A loader that names the section itself (iproute2's `ip link set dev X xdp obj x.o sec
// start`, xdp-loader's `--prog-name`) loads any section as XDP, and older samples are written that way (SEC("start"),
// SEC("prog")): such a program is known by its context, a first parameter of type `struct xdp_md *`. Sections that
// libbpf gives another type whose programs may still see a `struct xdp_md *` argument (tracing programs attached to
// an XDP function) are not taken.
import { BTF_KIND, btfParams, skipModsAndTypedefs, type Btf } from '../elf/btf.ts';
import type { LoadedObject, LoadedProgram } from '../elf/types.ts';

/** `?xdp...`: libbpf's mark for a program not loaded by default (selftests enable them one at a time). */
const XDP_SECTION = /^\??xdp/;

/** Section names libbpf gives a type that is not XDP although the function may take a `struct xdp_md *`. */
const OTHER_TYPE_SECTION =
  /^\??(?:fentry|fexit|fmod_ret|freplace|kprobe|kretprobe|kprobe\.multi|kretprobe\.multi|ksyscall|kretsyscall|uprobe|uretprobe|uprobe\.multi|uretprobe\.multi|usdt|tracepoint|tp|raw_tracepoint|raw_tp|tp_btf|lsm|lsm_cgroup|iter|iter\.s|struct_ops|syscall|perf_event)(?:[/.+]|$)/;

/** A section of an XDP program by its name alone. */
export function isXdpSectionName(name: string): boolean {
  return XDP_SECTION.test(name);
}

/**
 * The map entry a program is attached to by its section (`xdp/devmap`, `xdp.frags/cpumap`, legacy `xdp_devmap/...`):
 * such a program runs on a frame already redirected, where the kernel acts only on some actions (kernel/bpf/devmap.c
 * dev_map_bpf_prog_run: PASS, DROP, ABORTED; cpumap.c cpu_map_bpf_prog_run_xdp: PASS, REDIRECT, DROP).
 */
export function attachedMap(section: string | undefined): 'devmap' | 'cpumap' | undefined {
  const m = section ? /^\??xdp(?:\.frags)?\/(devmap|cpumap)(?:\/|$)|^\??xdp_(devmap|cpumap)\//.exec(section) : null;
  return m ? ((m[1] ?? m[2]) as 'devmap' | 'cpumap') : undefined;
}

/** Actions the kernel refuses from a program attached to `map` (warned about as invalid, the frame dropped). */
export function refusedByAttach(map: 'devmap' | 'cpumap', action: number): boolean {
  return action === 3 || (action === 4 && map === 'devmap');
}

/** The sentence both tiers give for such a return. */
export function attachActionMessage(map: 'devmap' | 'cpumap', names: string): string {
  const allowed = map === 'devmap' ? 'XDP_PASS, XDP_DROP and XDP_ABORTED' : 'XDP_PASS, XDP_REDIRECT and XDP_DROP';
  return (
    `${names} is not an action for a program run from a ${map === 'devmap' ? 'device map (SEC("xdp/devmap"))' : 'CPU map (SEC("xdp/cpumap"))'}: ` +
    `the kernel takes only ${allowed} there, and drops the frame after an "invalid XDP action" warning. ` +
    `Return XDP_PASS to let the frame go on${map === 'devmap' ? ' out of the device' : ''}.`
  );
}

/** A program in section `section` whose first parameter is (`xdpMdFirst`) a `struct xdp_md *`: an XDP program? */
export function isXdpProgram(section: string, xdpMdFirst: boolean): boolean {
  if (isXdpSectionName(section)) return true;
  return xdpMdFirst && !OTHER_TYPE_SECTION.test(section);
}

/** The entry function's first parameter, from the object's BTF: a pointer to `struct xdp_md`? */
function firstParamIsXdpMd(btf: Btf | undefined, name: string): boolean {
  if (!btf) return false;
  for (const t of btf.types) {
    if (!t || t.kind !== BTF_KIND.FUNC || t.name !== name) continue;
    const proto = btf.types[t.sizeOrType];
    if (!proto || proto.kind !== BTF_KIND.FUNC_PROTO) return false;
    const first = btfParams(btf, proto)[0];
    if (!first) return false;
    const ptr = skipModsAndTypedefs(btf, first.type);
    if (!ptr || ptr.kind !== BTF_KIND.PTR) return false;
    const target = skipModsAndTypedefs(btf, ptr.sizeOrType);
    return !!target && (target.kind === BTF_KIND.STRUCT || target.kind === BTF_KIND.FWD) && target.name === 'xdp_md';
  }
  return false;
}

/** The bytecode tier's choice: the loader's `isXdp`, or a program of another section that takes a `struct xdp_md *`. */
export function analysedAsXdp(obj: LoadedObject, prog: LoadedProgram): boolean {
  return prog.isXdp || isXdpProgram(prog.section, firstParamIsXdpMd(obj.btf, prog.name));
}
