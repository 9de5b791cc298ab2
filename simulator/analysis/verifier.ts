// The third tier, where the machine allows it: load the compiled object into the running kernel with bpftool and,
// when the verifier refuses it, turn its log into a finding on the source line the log names (`; text @ file:line`),
// with the message explained in plain words. Needs root, bpftool and unshare (util-linux); otherwise it says why it
// was skipped. Programs are pinned only in a private bpffs that disappears with the check; nothing is attached.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Finding, RuleId } from './findings.ts';
import { PROGS_DIR, customBssAsData, elfPrograms, hasLegacyMaps, legacyMapDefs, legacyMapsAsBtf, objectWithOnly, privateBpffsUnavailable, runWithPrivateBpffs, type LegacyMapDef } from '../kernel-load.ts';
import { loadObject } from '../elf/index.ts';

/** Undefined when the kernel verifier can be used here, else the reason it cannot. */
export function kernelVerifierUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the kernel verifier needs Linux';
  if (process.getuid?.() !== 0) return 'the kernel verifier needs root (the bpf() syscall)';
  const probe = spawnSync('bpftool', ['version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return 'bpftool is not installed (Debian/Ubuntu: apt install bpftool)';
  // Programs are pinned only in a private bpffs (kernel-load.ts), never in the host's /sys/fs/bpf.
  return privateBpffsUnavailable();
}

export interface VerifierResult {
  findings: Finding[];
  /** Set when the kernel was not asked (and why). */
  skipped?: string;
  /** Whole verifier logs of refused programs, for an output channel. */
  logs: string[];
}

/**
 * Load each XDP program of `objectPath` into the kernel on its own, as a loader that picks it would: the other
 * programs of the file (tc, tracepoint, other XDP programs) are not loaded, the program keeps its own type (sections
 * libbpf does not know get the standard name of the same meaning; see kernel-load.ts), maps pinned by name load.
 * Findings for what the verifier refuses. `programs` limits the check to those XDP programs (default: all).
 */
export function verifyWithKernel(objectPath: string, sourceFile: string, timeoutMs = 20000, programs?: readonly string[]): VerifierResult {
  const why = kernelVerifierUnavailable();
  if (why) return { findings: [], skipped: why, logs: [] };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(objectPath);
  } catch (e) {
    return { findings: [], skipped: `cannot read ${objectPath}: ${(e as Error).message}`, logs: [] };
  }
  const all = elfPrograms(bytes);
  if (typeof all === 'string') return { findings: [], skipped: `${objectPath}: ${all}`, logs: [] };
  const chosen = all.filter((p) => p.section.startsWith('xdp') && (!programs || programs.includes(p.name)));
  if (!chosen.length) return { findings: [], logs: [] };
  const tmp = mkdtempSync(join(tmpdir(), 'xdp-lens-verify-'));
  try {
    const objName = basename(sourceFile).split('.')[0] || 'prog';
    const lines: string[] = [];
    // Legacy SEC("maps") definitions, which bpftool's libbpf refuses to open, become BTF-defined maps (kernel-load.ts).
    let legacy: LegacyMapDef[] | undefined;
    if (hasLegacyMaps(bytes)) {
      const obj = loadObject(bytes, objectPath).object;
      if (!obj) return { findings: [], skipped: `${objectPath}: legacy SEC("maps") maps that the simulator's loader could not read either`, logs: [] };
      legacy = legacyMapDefs(obj.maps);
    }
    let legacyProblem: string | undefined;
    chosen.forEach((p, i) => {
      const only = objectWithOnly(bytes, new Set([p.name]), new Set(p.section.startsWith('xdp.frags') ? [p.name] : []));
      const withMaps = typeof only !== 'string' && legacy ? legacyMapsAsBtf(only, legacy) : only;
      if (typeof withMaps === 'string') {
        if (typeof only !== 'string') legacyProblem = withMaps;
        return;
      }
      // Custom .bss.* sections as .data.* (bpftool's libbpf 1.1 does not take them as global data).
      const bss = customBssAsData(withMaps);
      const one = typeof bss === 'string' ? withMaps : bss.bytes;
      mkdirSync(join(tmp, String(i)));
      writeFileSync(join(tmp, String(i), `${objName}.o`), one);
      // Each program in its own directory of the private bpffs, maps pinned beside it (LIBBPF_PIN_BY_NAME maps are
      // pinned at the bpffs root by libbpf itself, then reused by the next program, as two loaders would share them).
      lines.push(`mkdir ${PROGS_DIR}/${i} && bpftool prog loadall "$T/${i}/${objName}.o" ${PROGS_DIR}/${i} > "$T/${i}/load.log" 2>&1; echo $? > "$T/${i}/status"`);
    });
    if (legacyProblem && !lines.length) {
      return { findings: [], skipped: `bpftool (libbpf >= 1.0) refuses legacy SEC("maps") map definitions, and they could not be rewritten as BTF-defined maps: ${legacyProblem}`, logs: [] };
    }
    const r = runWithPrivateBpffs(lines.join('\n'), tmp, timeoutMs * Math.max(1, chosen.length));
    if (r.error) return { findings: [], skipped: `bpftool did not finish: ${r.error.message}`, logs: [] };
    if (r.status !== 0) return { findings: [], skipped: `cannot use a private bpf filesystem: ${(r.stderr || '').trim().split('\n').pop()}`, logs: [] };
    const out: VerifierResult = { findings: [], logs: [] };
    chosen.forEach((p, i) => {
      const dir = join(tmp, String(i));
      if (!existsSync(join(dir, 'status')) || readFileSync(join(dir, 'status'), 'utf8').trim() === '0') return;
      const log = readFileSync(join(dir, 'load.log'), 'utf8');
      // The RX metadata kfuncs load only in a program bound to a device, which its loader binds and bpftool 7.1
      // cannot: not a refusal, a program this tier cannot load.
      if (/metadata kfuncs require device-bound program/.test(log)) {
        out.skipped = `program ${p.name} calls the RX metadata kfuncs, so it loads only bound to a device (BPF_F_XDP_DEV_BOUND_ONLY), which the kernel tier cannot do here: the kernel did not verify it`;
        return;
      }
      const unopened = libbpfCouldNotOpen(log);
      if (unopened) {
        out.skipped = `program ${p.name}: ${unopened}`;
        return;
      }
      const v = parseLoadOutput(log, sourceFile);
      out.findings.push(...v.findings);
      out.logs.push(...v.logs);
    });
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * bpftool's libbpf failing to open the object (bpf_object__open: ELF, BTF, relocations it does not know, such as
 * libbpf 1.1 with custom `.bss.<name>` sections) is no kernel refusal: nothing reached the kernel. Says so in a
 * sentence, or undefined when the object was opened (whatever failed after that, the kernel said it).
 */
export function libbpfCouldNotOpen(log: string): string | undefined {
  if (!/^Error: failed to open object file/m.test(log)) return undefined;
  const why = log.split('\n').filter((l) => l.startsWith('libbpf: ') && !/skipping (unrecognized data )?section/.test(l)).pop();
  return `bpftool's libbpf could not open the object${why ? ` (${why.replace(/^libbpf: /, '')})` : ''}, so it was never handed to the kernel`;
}

/** libbpf's output of a failed load: one `-- BEGIN PROG LOAD LOG --` block per refused program. */
export function parseLoadOutput(text: string, sourceFile: string): VerifierResult {
  const findings: Finding[] = [];
  const logs: string[] = [];
  const block = /prog '([^']+)': -- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/g;
  for (let m; (m = block.exec(text)); ) {
    logs.push(`program ${m[1]}:\n${m[2]}`);
    const f = findingFromLog(m[1]!, m[2]!, sourceFile);
    if (f) findings.push(f);
  }
  if (!findings.length) {
    // A failure before the verifier ran (BTF, maps, license): report libbpf's own words on the first line.
    const reason = text.split('\n').find((l) => /libbpf: .*(failed|error|invalid)/i.test(l)) ?? text.split('\n').find((l) => l.startsWith('Error:'));
    if (reason)
      findings.push(finding(sourceFile, 1, 'verifier', `The kernel refused to load the object: ${reason.replace(/^libbpf: /, '')}`));
  }
  return { findings, logs };
}

function findingFromLog(program: string, log: string, sourceFile: string): Finding | undefined {
  const lines = log.split('\n');
  const end = lines.findIndex((l) => /^processed \d+ insns/.test(l));
  const body = lines.slice(0, end < 0 ? lines.length : end).filter((l) => l.trim() !== '');
  // The error is the last line that is neither an instruction, a register state nor a source annotation, nor one of
  // the lines the verifier adds after it: the two states of a loop it found ("cur state:", "old state:"), its time
  // and the stack depth.
  let at = body.length - 1;
  while (at >= 0 && (/^\d+: /.test(body[at]!) || body[at]!.startsWith(';') ||
    /^(from \d+ to \d+|mark_precise|last_idx|regs=|cur state:|old state:|verification time \d|stack depth \d)/.test(body[at]!))) at--;
  if (at < 0) return undefined;
  const message = body[at]!.trim();
  let where: { file: string; line: number } | undefined;
  let insn = '';
  for (let i = at; i >= 0; i--) {
    const l = body[i]!;
    if (!insn && /^\d+: \([0-9a-f]{2}\)/.test(l)) insn = l;
    const a = /^; .* @ (.+):(\d+)$/.exec(l);
    if (a) {
      where = { file: a[1]!, line: Number(a[2]) };
      break;
    }
  }
  const file = where && basename(where.file) === basename(sourceFile) ? sourceFile : (where?.file ?? sourceFile);
  const { rule, text } = explain(message, insn);
  // Words of our own, then the verifier's quoted; without words of our own, the verifier's once.
  return finding(file, where?.line ?? 1, rule, text
    ? `${text} (kernel verifier, program ${program}: "${message}")`
    : `The kernel verifier refuses program ${program}: "${message}"`);
}

const CTX_FIELDS = ['data', 'data_end', 'data_meta', 'ingress_ifindex', 'rx_queue_index', 'egress_ifindex'];

/** Plain words for the verifier messages an XDP developer meets (empty for the others), and the rule they correspond to. */
export function explain(message: string, insn = ''): { rule: RuleId; text: string } {
  const isStore = /\) \*\(u\d+ \*\)\(r\d+ [+-]\d+\) = /.test(insn) || /lock \*\(/.test(insn);
  let m: RegExpExecArray | null;
  if ((m = /invalid bpf_context access off=(\d+) size=(\d+)/.exec(message))) {
    const off = Number(m[1]);
    const field = off % 4 === 0 ? CTX_FIELDS[off / 4] : undefined;
    const name = field ? `xdp_md.${field}` : `offset ${off} of struct xdp_md`;
    if (isStore) return { rule: 'ctx-write', text: `The program stores into ${name}; every field of struct xdp_md is read-only.` };
    if (field === 'egress_ifindex') return { rule: 'verifier', text: 'xdp_md.egress_ifindex can be read only by programs attached to a DEVMAP entry (SEC("xdp/devmap")).' };
    return { rule: 'verifier', text: `The program reads ${name} with a ${m[2]}-byte access; xdp_md fields must be read whole (4 bytes) and aligned.` };
  }
  if (/write into map forbidden/.test(message))
    return { rule: 'readonly-write', text: 'The program writes into read-only map memory: a .rodata/const global, a map created with BPF_F_RDONLY_PROG, or a DEVMAP value.' };
  if ((m = /invalid access to packet, off=(-?\d+) size=(\d+), R\d+\(id=\d+,off=(-?\d+),r=(\d+)\)/.exec(message)))
    return {
      rule: 'unchecked-packet-access',
      text: `The program reads or writes ${m[2]} bytes at packet offset ${m[1]}, but only the first ${m[4]} bytes were proven to lie before data_end on this path. Compare the pointer against data_end first.`,
    };
  if (/pointer arithmetic on pkt_end prohibited/.test(message))
    return { rule: 'verifier', text: 'The program adds to or subtracts from data_end; the verifier only lets a program compare packet pointers with it. Move the packet pointer instead and compare it with data_end unchanged.' };
  if (/offset is outside of the packet/.test(message))
    return { rule: 'unchecked-packet-access', text: 'The access is not proven inside data..data_end. Compare the pointer against data_end first.' };
  if (/invalid mem access 'scalar'/.test(message))
    return {
      rule: 'verifier',
      text: 'A register that is not a pointer is dereferenced. After bpf_xdp_adjust_head/tail/meta (or bpf_tail_call) every packet pointer becomes such a number: reload data and data_end from ctx and check the bounds again.',
    };
  if (/invalid mem access '(map_value_or_null|ptr_or_null_|.*or_null)'/.test(message))
    return { rule: /map_value_or_null/.test(message) ? 'map-value-null' : 'verifier', text: 'A pointer that may be NULL (the result of bpf_map_lookup_elem) is dereferenced. Check it for NULL first.' };
  if (/R0 !read_ok/.test(message)) return { rule: 'verifier', text: 'The function can return without setting a return value.' };
  if (/cannot call GPL-restricted function/.test(message))
    return { rule: 'verifier', text: 'A helper used here is GPL-only, and the program\'s license is not GPL-compatible: declare char LICENSE[] SEC("license") = "GPL";' };
  if ((m = /program of this type cannot use helper (\S+)/.exec(message))) return { rule: 'verifier', text: `XDP programs may not call ${m[1]}.` };
  if (/infinite loop detected|back-edge/.test(message)) return { rule: 'verifier', text: 'The verifier cannot prove that a loop ends; bound it with a constant trip count or use bpf_loop.' };
  if (/BPF program is too large|too many states|complexity|jumps is too complex/.test(message))
    return { rule: 'verifier', text: 'The program is too complex for the verifier (too many paths or instructions); split it or simplify loops.' };
  if ((m = /^R(\d+) min value is negative, either use unsigned or 'var &= const'/.exec(message)))
    return {
      rule: 'verifier',
      text: `The size given to a helper (R${m[1]}) may be negative as the verifier tracks it: bound the very value the call is given (a bound on a 32-bit copy of it does not count).`,
    };
  if ((m = /^R(\d+) min value is negative, either use unsigned index/.exec(message)))
    return { rule: 'verifier', text: `A variable offset (R${m[1]}) may be negative as the verifier tracks it: make it unsigned or check it is >= 0 first.` };
  if (/combined stack size|stack/.test(message)) return { rule: 'verifier', text: 'The stack limit is 512 bytes for the whole call chain.' };
  // No words of our own: the finding quotes the verifier once (findingFromLog).
  return { rule: 'verifier', text: '' };
}

function finding(file: string, line: number, rule: RuleId, message: string): Finding {
  return { file, line, column: 1, endLine: line, endColumn: 2, severity: 'error', rule, message, tier: 'verifier' };
}
