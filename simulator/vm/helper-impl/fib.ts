// bpf_fib_lookup for XDP (net/core/filter.c bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup) against a routing table the
// user gives (--routes), since the simulator has no kernel FIB. struct bpf_fib_lookup (64 bytes) is read and written
// in place:
//   0 family, 1 l4_protocol, 2 sport, 4 dport, 6 tot_len / mtu_result, 8 ifindex, 12 tos / flowinfo / rt_metric,
//   16 ipv4_src / ipv6_src[16], 32 ipv4_dst / ipv6_dst[16], 48 h_vlan_proto, 50 h_vlan_TCI (or tbid),
//   52 smac[6] (or mark), 58 dmac[6]
// Every interface named by a route exists and forwards; the longest matching prefix wins.
import type { FibRoute } from '../types.ts';

const AF_INET = 2;
const AF_INET6 = 10;
const EINVAL = 22;
const EAFNOSUPPORT = 97;

export const BPF_FIB_LOOKUP_DIRECT = 1;
export const BPF_FIB_LOOKUP_OUTPUT = 2;
export const BPF_FIB_LOOKUP_SKIP_NEIGH = 4;
export const BPF_FIB_LOOKUP_TBID = 8;
export const BPF_FIB_LOOKUP_SRC = 16;
export const BPF_FIB_LOOKUP_MARK = 32;
const KNOWN_FLAGS = 63;

export const FIB_RET = {
  SUCCESS: 0,
  BLACKHOLE: 1,
  UNREACHABLE: 2,
  PROHIBIT: 3,
  NOT_FWDED: 4,
  FWD_DISABLED: 5,
  UNSUPP_LWT: 6,
  NO_NEIGH: 7,
  FRAG_NEEDED: 8,
  NO_SRC_ADDR: 9,
} as const;

const DEFAULT_MTU = 1500;

/** Parse "a.b.c.d" or an IPv6 text address into bytes; undefined when malformed. */
export function parseAddress(text: string, v6: boolean): Uint8Array | undefined {
  if (!v6) {
    const parts = text.split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return Uint8Array.from(parts.map(Number));
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

function parseMac(text: string | undefined): Uint8Array | undefined {
  if (!text) return undefined;
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

interface Prefix {
  route: FibRoute;
  addr: Uint8Array;
  len: number;
}

function prefixOf(route: FibRoute): Prefix | undefined {
  const v6 = route.family === 'inet6';
  const [a, l] = route.prefix.split('/');
  const addr = parseAddress(a, v6);
  const max = v6 ? 128 : 32;
  const len = l === undefined ? max : Number(l);
  if (!addr || !Number.isInteger(len) || len < 0 || len > max) return undefined;
  return { route, addr, len };
}

function matches(addr: Uint8Array, p: Prefix): boolean {
  for (let bit = 0; bit < p.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((addr[bit >> 3] & m) !== (p.addr[bit >> 3] & m)) return false;
  }
  return true;
}

/** Check a routing table; returns one message per bad route. */
export function validateRoutes(routes: FibRoute[], file: string): string[] {
  const errors: string[] = [];
  routes.forEach((r, i) => {
    const where = `${file}: route ${i}`;
    if (r.family !== 'inet' && r.family !== 'inet6') errors.push(`${where}: "family" must be "inet" or "inet6"`);
    else if (typeof r.prefix !== 'string' || !prefixOf(r)) errors.push(`${where}: "prefix" must be an address/length such as 10.0.0.0/8`);
    if (!Number.isInteger(r.ifindex) || r.ifindex <= 0) errors.push(`${where}: "ifindex" must be a positive whole number`);
    if (r.gateway !== undefined && !parseAddress(r.gateway, r.family === 'inet6')) errors.push(`${where}: "gateway" is not an address`);
    for (const k of ['smac', 'dmac'] as const) if (r[k] !== undefined && !parseMac(r[k])) errors.push(`${where}: "${k}" must be a MAC like aa:bb:cc:dd:ee:ff`);
  });
  return errors;
}

const ENODEV = 19;

/** Multicast, link-local or loopback (rt6_need_strict): the kernel answers NOT_FWDED before anything else. */
function needStrict(a: Uint8Array): boolean {
  if (a[0] === 0xff) return true;
  if (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80) return true;
  return a.subarray(0, 15).every((b) => b === 0) && a[15] === 1;
}

/**
 * Without a routing table (no --routes): the answers of the kernel side of a test run, a network namespace of its
 * own holding only lo (ifindex 1) with forwarding off: -ENODEV for any other ifindex (0 included), else
 * FWD_DISABLED; for IPv6, NOT_FWDED first when either address is multicast, link-local or loopback. Nothing is written.
 */
function withoutRoutes(params: Uint8Array, v6: boolean): number {
  if (v6 && (needStrict(params.subarray(32, 48)) || needStrict(params.subarray(16, 32)))) return FIB_RET.NOT_FWDED;
  const ifindex = new DataView(params.buffer, params.byteOffset, params.byteLength).getUint32(8, true);
  return ifindex === 1 ? FIB_RET.FWD_DISABLED : -ENODEV;
}

/** Look up params (in place); returns a BPF_FIB_LKUP_RET_* value or a negative errno. */
export function fibLookup(params: Uint8Array, flags: number, routes: FibRoute[]): number {
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  if (flags & ~KNOWN_FLAGS) return -EINVAL;
  // BPF_FIB_LOOKUP_TBID without BPF_FIB_LOOKUP_DIRECT is ignored (the table id is read only for a direct lookup).
  const family = params[0];
  if (family !== AF_INET && family !== AF_INET6) return -EAFNOSUPPORT;
  const v6 = family === AF_INET6;
  if (routes.length === 0) return withoutRoutes(params, v6);
  const dst = params.slice(32, v6 ? 48 : 36);
  let best: Prefix | undefined;
  for (const r of routes) {
    if ((r.family === 'inet6') !== v6) continue;
    const p = prefixOf(r);
    if (p && matches(dst, p) && (!best || p.len > best.len)) best = p;
  }
  if (!best) return FIB_RET.NOT_FWDED;
  const route = best.route;
  switch (route.type ?? 'unicast') {
    case 'blackhole':
      return FIB_RET.BLACKHOLE;
    case 'unreachable':
      return FIB_RET.UNREACHABLE;
    case 'prohibit':
      return FIB_RET.PROHIBIT;
  }
  const mtu = route.mtu ?? DEFAULT_MTU;
  const totLen = view.getUint16(6, true);
  if (totLen > mtu) {
    view.setUint16(6, mtu, true);
    return FIB_RET.FRAG_NEEDED;
  }
  view.setUint32(12, 0, true); // rt_metric: routes carry no priority here
  view.setUint32(8, route.ifindex, true);
  if (route.gateway) params.set(parseAddress(route.gateway, v6)!, 32);
  if (!(flags & BPF_FIB_LOOKUP_SKIP_NEIGH)) {
    const dmac = parseMac(route.dmac);
    if (!dmac) return FIB_RET.NO_NEIGH;
    params.set(dmac, 58);
    params.set(parseMac(route.smac) ?? new Uint8Array(6), 52);
  }
  view.setUint16(48, 0, true);
  view.setUint16(50, 0, true);
  view.setUint16(6, mtu, true);
  return FIB_RET.SUCCESS;
}
