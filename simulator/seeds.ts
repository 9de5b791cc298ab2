// Validation of the user's seeds before a run: the `--routes` table against its schema (every error names the file,
// the route and the field), and the programs a `--maps` PROG_ARRAY seed names. The map contents themselves are
// checked where they are seeded (vm/map-json.ts).
import { parseAddress } from './vm/helper-impl/fib.ts';
import type { FibRoute } from './vm/types.ts';

const ROUTE_FIELDS = ['family', 'prefix', 'ifindex', 'gateway', 'smac', 'dmac', 'mtu', 'type'] as const;
const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit'];
/** Interface indexes are a positive `int` in the kernel. */
const MAX_IFINDEX = 0x7fffffff;
/** The largest MTU a route can carry (a 16-bit IP total length). */
const MAX_MTU = 65535;
const MAC = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

/** A value for an error message: primitives as JSON (long strings cut), containers by kind (never walked: a seed may
 * nest a million deep). */
const show = (v: unknown): string => {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
};

/** The routes in `json` (the parsed `--routes` file), or the list of what is wrong with them. */
export function parseRoutes(json: unknown, file: string): { routes: FibRoute[] } | { errors: string[] } {
  if (!Array.isArray(json))
    return { errors: [`${file}: a routing table is a JSON list of routes, like [{"family":"inet","prefix":"10.0.0.0/8","ifindex":2}]; this file holds ${json === null ? 'null' : typeof json === 'object' ? 'an object' : `a ${typeof json}`}`] };
  const errors: string[] = [];
  for (let i = 0; i < json.length; i++) {
    const r = json[i] as Record<string, unknown>;
    const where = `${file}: route ${i}`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      errors.push(`${where}: a route is an object with "family", "prefix" and "ifindex", not ${show(r)}`);
      continue;
    }
    for (const k of Object.keys(r))
      if (!(ROUTE_FIELDS as readonly string[]).includes(k)) errors.push(`${where}: unknown field "${k}" (fields: ${ROUTE_FIELDS.join(', ')})`);
    const v6 = r.family === 'inet6';
    if (r.family !== 'inet' && r.family !== 'inet6') errors.push(`${where}: "family" must be "inet" or "inet6", not ${show(r.family)}`);
    else if (typeof r.prefix !== 'string') errors.push(`${where}: "prefix" must be a string such as "10.0.0.0/8", not ${show(r.prefix)}`);
    else {
      const why = prefixProblem(r.prefix, v6);
      if (why) errors.push(`${where}: "prefix" ${show(r.prefix)} ${why}`);
    }
    if (typeof r.ifindex !== 'number' || !Number.isInteger(r.ifindex) || r.ifindex < 1 || r.ifindex > MAX_IFINDEX)
      errors.push(`${where}: "ifindex" must be a whole number from 1 to ${MAX_IFINDEX}, not ${show(r.ifindex)}`);
    if (r.gateway !== undefined && (typeof r.gateway !== 'string' || !parseAddress(r.gateway, v6)))
      errors.push(`${where}: "gateway" must be an ${v6 ? 'IPv6' : 'IPv4'} address, not ${show(r.gateway)}`);
    for (const k of ['smac', 'dmac'] as const)
      if (r[k] !== undefined && (typeof r[k] !== 'string' || !MAC.test(r[k] as string)))
        errors.push(`${where}: "${k}" must be a MAC address like "aa:bb:cc:dd:ee:ff", not ${show(r[k])}`);
    if (r.mtu !== undefined && (typeof r.mtu !== 'number' || !Number.isInteger(r.mtu) || r.mtu < 68 || r.mtu > MAX_MTU))
      errors.push(`${where}: "mtu" must be a whole number from 68 to ${MAX_MTU}, not ${show(r.mtu)}`);
    if (r.type !== undefined && (typeof r.type !== 'string' || !ROUTE_TYPES.includes(r.type)))
      errors.push(`${where}: "type" must be one of ${ROUTE_TYPES.join(', ')}, not ${show(r.type)}`);
  }
  return errors.length ? { errors } : { routes: json as FibRoute[] };
}

/** Why `prefix` is not an address/length prefix (undefined when it is one). Host bits must be zero, as `ip route` wants. */
function prefixProblem(prefix: string, v6: boolean): string | undefined {
  const slash = prefix.indexOf('/');
  const addrText = slash < 0 ? prefix : prefix.slice(0, slash);
  const max = v6 ? 128 : 32;
  const addr = parseAddress(addrText, v6);
  if (!addr) return `is not an ${v6 ? 'IPv6' : 'IPv4'} address/length such as ${v6 ? '"2001:db8::/32"' : '"10.0.0.0/8"'}`;
  let len = max;
  if (slash >= 0) {
    const l = prefix.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) return `has a length that is not a whole number from 0 to ${max}`;
    len = Number(l);
  }
  for (let bit = len; bit < max; bit++)
    if (addr[bit >> 3]! & (0x80 >> (bit & 7))) return `is not a prefix: bits are set after the first ${len} (as ip route, write the network address)`;
  return undefined;
}

/**
 * Every PROG_ARRAY entry in a `--maps` seed names a program of the object: the errors for those that do not (file,
 * map, entry and field named). Other problems of the seed are left to the map seeding.
 */
export function checkProgramSeeds(json: unknown, programs: readonly string[], file: string): string[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return [];
  const errors: string[] = [];
  for (const [name, list] of Object.entries(json as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as Record<string, unknown> | null;
      if (e === null || typeof e !== 'object' || !('program' in e)) continue;
      const where = `${file}: map '${name}' entry ${i}: "program"`;
      if (typeof e.program !== 'string') errors.push(`${where} must be the name of a program (a string), not ${show(e.program)}`);
      else if (!programs.includes(e.program))
        errors.push(`${where} names '${e.program}', which is not a program of the object (programs: ${programs.join(', ') || 'none'})`);
    }
  }
  return errors;
}
