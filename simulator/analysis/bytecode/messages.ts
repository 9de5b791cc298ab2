// The words of the bytecode findings: what happens at run time (or at load time) and what was likely meant.
// Facts follow /work/shared/reference/xdp-semantics.md (C.1 xdp_md, C.3 adjust helpers, C.5 actions, E.2/E.3 verifier).
import type { MapDef } from '../../elf/types.ts';
import { MapType } from '../../elf/types.ts';

export const ACTION_NAMES = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];

const XDP_MD_FIELDS: Record<number, string> = {
  0: 'data', 4: 'data_end', 8: 'data_meta', 12: 'ingress_ifindex', 16: 'rx_queue_index', 20: 'egress_ifindex',
};

/** What a non-action number usually is in XDP code, to say what was likely meant. */
function likelyMeant(v: number): string | undefined {
  const s = v | 0;
  if (s === -1) return 'XDP_DROP (or XDP_ABORTED for an error) was likely meant';
  if (s < 0 && s >= -4095) return 'it looks like a negative errno passed through; decide on XDP_DROP, XDP_ABORTED or XDP_PASS for the error case';
  switch (v) {
    case 5: return 'none of the XDP actions is 5 (it is TC_ACT_QUEUED in tc programs)';
    case 6: return 'none of the XDP actions is 6 (it is TC_ACT_REPEAT in tc programs)';
    case 7: return 'it is TC_ACT_REDIRECT in tc programs; in XDP, XDP_REDIRECT is 4 and needs bpf_redirect/bpf_redirect_map first';
    case 8: return 'it is TC_ACT_TRAP in tc programs';
    default: return undefined;
  }
}

export const showValue = (v: number): string => ((v | 0) < 0 && v > 0x7fffffff ? `${v | 0}` : String(v));
export const showRange = (lo: number, hi: number): string => `${showValue(lo)}..${showValue(hi)}`;

/** What happens to a packet whose verdict is not an action (the details are in the hover of the rule). */
const DROPPED_AS_ABORTED = 'the driver drops the packet as if XDP_ABORTED, after a one-time "Illegal XDP return value" warning.';

export function invalidActionConst(v: number): string {
  const hint = likelyMeant(v);
  return `This returns ${showValue(v)}, which is not an XDP action: ${DROPPED_AS_ABORTED}` + (hint ? ` ${hint[0].toUpperCase()}${hint.slice(1)}.` : ' Return one of the XDP_* actions.');
}

/** Several returns that clang's line info puts on one line (only without the marked twin). */
export function invalidActionMany(values: string[]): string {
  const consts = values.filter((v) => !v.includes('..'));
  const what = consts.length ? `${consts.join(', ')}${consts.length < values.length ? ' and a computed value' : ''}` : 'computed values';
  return `This line returns ${what}, not XDP actions: ${DROPPED_AS_ABORTED} Return one of the XDP_* actions in each case.`;
}

/** A returned value that is not one constant: where it comes from, never its range. */
export function invalidActionRange(_lo: number, _hi: number, source: string): string {
  const errno = /errno/.test(source);
  return errno
    ? `This returns a helper's error code (a negative errno), not an XDP action: ${DROPPED_AS_ABORTED} Decide on XDP_DROP or XDP_ABORTED for the error case.`
    : `This returns a value computed from data the program read, which is not limited to the XDP actions 0..4: ${DROPPED_AS_ABORTED} Map it onto XDP_* actions explicitly (e.g. a switch with a default of XDP_DROP or XDP_PASS).`;
}

export function invalidActionPointer(): string {
  return `This returns a pointer, whose low 32 bits become the verdict: ${DROPPED_AS_ABORTED} Return one of the XDP_* actions.`;
}

export function redirectWithoutTarget(): string {
  return 'This returns XDP_REDIRECT, but no bpf_redirect() or bpf_redirect_map() call on this path set a target: the ' +
    'redirect fails and the driver drops the packet. Return the result of bpf_redirect_map(&map, key, fallback) instead.';
}

export function txUnmodified(): string {
  return 'This returns XDP_TX for a frame the program did not change on this path: it goes back to the sender exactly as ' +
    'received. Rewrite the addresses first (e.g. swap h_source and h_dest), or return XDP_PASS or XDP_DROP.';
}

export function ctxWrite(off: number, size: number): string {
  const field = XDP_MD_FIELDS[off];
  const what = field ? `ctx->${field}` : `struct xdp_md at offset ${off}`;
  return `This stores into ${what}: every field of struct xdp_md is read-only to an XDP program, and the verifier ` +
    `rejects the program ("invalid bpf_context access off=${off} size=${size}"). To change the packet, write through ` +
    'the data pointer; to move its start or end, call bpf_xdp_adjust_head or bpf_xdp_adjust_tail.';
}

export function readonlyWrite(map: MapDef | undefined, via: 'store' | 'helper'): string {
  const how = via === 'store' ? 'This store writes into' : 'This helper call writes into';
  if (!map) return `${how} read-only map memory; the verifier rejects it at load time ("write into map forbidden").`;
  if (map.kind === 'global') {
    return `${how} ${map.section} data (map ${map.name}), which the program may only read: loading fails with "write ` +
      'into map forbidden". Const globals are set by the loader; keep state the program changes in a non-const global or a map.';
  }
  if (map.type === MapType.DEVMAP || map.type === MapType.DEVMAP_HASH) {
    return `${how} a value of the device map ${map.name}; device map values are read-only for programs, and loading fails ` +
      'with "write into map forbidden". Change entries from user space (bpf_map_update_elem on the map fd).';
  }
  return `${how} a value of map ${map.name}, which is created with BPF_F_RDONLY_PROG: programs may only read it, and ` +
    'loading fails with "write into map forbidden". Drop the flag if the program is meant to update it.';
}

export function readonlyPageWrite(via: 'store' | 'helper', helper = 'bpf_xdp_store_bytes'): string {
  return `${via === 'store' ? 'This store changes' : `This ${helper}() call changes`} the packet, but a driver that hands out ` +
    'read-only pages (`--driver readonly-page`) makes the write fault, and the packet is dropped as aborted. Leave the ' +
    'packet unchanged for such drivers.';
}

export function uncheckedPacketAccess(kind: 'load' | 'store', start: number, size: number, range: number, variable: boolean, meta: boolean, reg?: number): string {
  const area = meta ? 'metadata' : 'packet';
  const limit = meta ? 'data' : 'data_end';
  const where = !variable
    ? `at offset ${start} of the ${area}`
    : start < 0
      ? `starting ${-start} byte${start === -1 ? '' : 's'} before a variable offset into the ${area}`
      : start === 0
        ? `at a variable offset into the ${area}`
        : `starting ${start} byte${start === 1 ? '' : 's'} past a variable offset into the ${area}`;
  const proven = range > 0
    ? `on this path only ${range} byte${range === 1 ? ' is' : 's are'} checked against ${limit}`
    : `on this path no check against ${limit} covers it`;
  const fix = start < 0
    ? `The access starts before the ${area} start; check the arithmetic that computed the pointer.`
    : `Check the bounds first, e.g. \`if ((void *)(hdr + 1) > ${limit}) return XDP_DROP;\`.`;
  // The kernel's words (check_packet_access, measured on 6.18): "invalid access to packet, off=12 size=4,
  // R1(id=0,off=12,r=10)" then "R1 offset is outside of the packet"; a pointer with a variable part has an id of the
  // verifier's own numbering, left out.
  const words = reg === undefined ? 'invalid access to packet'
    : `invalid access to packet, off=${start} size=${size}${variable ? '' : `, R${reg}(id=0,off=${start},r=${range})`}`;
  const then = reg === undefined ? '' : ` and says "R${reg} offset is outside of the packet"`;
  return `This ${size}-byte ${kind} ${where} is not proven inside the ${area} (${proven}), ` +
    `so the verifier rejects the program ("${words}")${then}. ${fix}`;
}

export function packetOffsetNegative(kind: 'load' | 'store', size: number, meta: boolean, reg: number): string {
  const area = meta ? 'metadata' : 'packet';
  return `This ${size}-byte ${kind} goes through a ${area} pointer moved by an amount that may be negative (a signed ` +
    `offset, or one subtracted), so the verifier rejects the program ("R${reg} min value is negative, either use unsigned ` +
    'index or do a if (index >=0) check."). Make the offset unsigned (e.g. `__u8`/`__u32`), or check `if (off < 0)` first.';
}

export function pastPacketEnd(kind: 'load' | 'store', start: number, size: number, beyond: boolean, reg?: number): string {
  return `This ${size}-byte ${kind} at offset ${start} goes through a pointer that, on this path, a comparison found ` +
    `${beyond ? 'past' : 'at or past'} data_end (the branch taken when \`p > data_end\`${beyond ? '' : ' or \`p >= data_end\`'}), ` +
    `so the verifier rejects the program ("${reg === undefined ? '' : `R${reg} `}offset is outside of the packet"), even if ` +
    'an earlier check covered these ' +
    'bytes. Access through a pointer that was not compared, or re-check before the access.';
}

export function pktEndArithmetic(): string {
  return 'This adds to or subtracts from data_end, which the verifier refuses ("pointer arithmetic on pkt_end ' +
    'prohibited"). Move the packet pointer instead and compare it with data_end unchanged, e.g. `if (p + 2 > data_end)`.';
}

export function stalePacketPointer(helper: string, line: number | undefined): string {
  const at = line ? ` (line ${line})` : '';
  return `This access uses a packet pointer from before the ${helper} call${at}, which can move the packet: the verifier ` +
    'rejects it ("invalid mem access \'scalar\'"). Reload ctx->data and ctx->data_end after the call and check the bounds again.';
}

export function mapValueNull(map: MapDef | undefined, reg?: number): string {
  const what = map ? `The value from map \`${map.name}\`` : 'The pointer a helper returned';
  return (
    `${what} is used without a NULL check (bpf_map_lookup_elem returns NULL when the key has no entry), and the verifier ` +
    `rejects the program ("${reg === undefined ? '' : `R${reg} `}invalid mem access 'map_value_or_null'"). Check it first: \`if (!v) return XDP_PASS;\`.`
  );
}

export function innerMapNull(outer: MapDef | undefined): string {
  const what = outer ? `The inner map looked up in \`${outer.name}\`` : 'The inner map a lookup returned';
  return (
    `${what} is passed to a map helper without a NULL check (a map of maps returns NULL for an empty slot), and the ` +
    `verifier rejects the program ("R1 type=map_ptr_or_null expected=map_ptr"). Check it first: \`if (!inner) return XDP_PASS;\`.`
  );
}

export function kfuncNull(kfunc: string, type = '...or_null'): string {
  return (
    `The pointer \`${kfunc}\` returned is used without a NULL check (it returns NULL when it has nothing to give), and the ` +
    `verifier rejects the program ("invalid mem access '${type}'"). Check it first: \`if (!p) return XDP_PASS;\`.`
  );
}

export function kfuncNullArg(kfunc: string, arg: number, maybe: boolean): string {
  return (
    `${maybe ? 'A pointer that may be NULL (not checked yet)' : 'NULL'} is passed as argument ${arg} of \`${kfunc}\`, which ` +
    `must not be NULL. The verifier rejects the program ("Possibly NULL pointer passed to trusted arg${arg - 1}").` +
    (maybe ? ' Check it first: `if (!p) return XDP_PASS;`.' : '')
  );
}
