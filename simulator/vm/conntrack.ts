// The modelled connection-tracking table behind the conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c), kept across
// packets like map state, seeded from and reported as JSON (`--conntrack FILE.json`).
//
// Each connection is a `struct nf_conn` image laid out as the target kernel lays it out (the running kernel's BTF when
// there is one, else the layout of the 6.18 x86-64 kernel this was measured on), so that a program reading ct->mark,
// ct->status, ct->timeout or ct->tuplehash[dir].tuple gets the bytes the kernel would give it. The image is the
// connection's state: a program's store to ct->mark is seen by the next lookup and by the report.
//
// JSON schema (one array; the report after a run has the same shape, so a report can seed the next run):
//   [{"proto": "tcp"|"udp", "src": "10.0.0.1", "sport": 1234, "dst": "10.0.0.2", "dport": 80,
//     "reply": {"src": ..., "sport": ..., "dst": ..., "dport": ...},   optional: the reply tuple (NAT); default swapped
//     "status": 14 | ["SEEN_REPLY", "ASSURED"],                        optional; CONFIRMED is always added
//     "mark": 0, "zone": 0,                                            optional
//     "timeout": 60}]                                                  seconds left (default 30); 0 = expired
import { BTF_KIND, type Btf } from '../elf/btf.ts';
import { kernelBtf } from '../elf/core.ts';

export const IPS = {
  EXPECTED: 1 << 0, SEEN_REPLY: 1 << 1, ASSURED: 1 << 2, CONFIRMED: 1 << 3, SRC_NAT: 1 << 4, DST_NAT: 1 << 5,
  SEQ_ADJUST: 1 << 6, SRC_NAT_DONE: 1 << 7, DST_NAT_DONE: 1 << 8, DYING: 1 << 9, FIXED_TIMEOUT: 1 << 10,
  TEMPLATE: 1 << 11, UNTRACKED: 1 << 12, HELPER: 1 << 13, OFFLOAD: 1 << 14, HW_OFFLOAD: 1 << 15,
} as const;
/** IPS_UNCHANGEABLE_MASK (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IPS_UNCHANGEABLE_MASK = 0xdbf9;
const IPS_NAMES = Object.keys(IPS) as (keyof typeof IPS)[];

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Where the fields a program may read live in struct nf_conn. */
export interface NfConnLayout {
  size: number;
  timeout: number;
  zone: number;
  /** struct nf_conntrack_tuple_hash tuplehash[2]: each an hlist_nulls_node (16 bytes) then the 40-byte tuple. */
  tuplehash: number;
  tuplehashSize: number;
  status: number;
  mark: number;
}

/** struct nf_conn of the 6.18 x86-64 kernel (BTF of 6.18.44, measured). */
const LAYOUT_6_18: NfConnLayout = { size: 248, timeout: 8, zone: 12, tuplehash: 16, tuplehashSize: 56, status: 128, mark: 168 };

let kernelLayout: NfConnLayout | undefined;
/** The running kernel's struct nf_conn layout from /sys/kernel/btf/vmlinux, else the 6.18 one. */
export function nfConnLayout(): NfConnLayout {
  if (kernelLayout) return kernelLayout;
  const btf = kernelBtf()?.btf;
  kernelLayout = (btf && layoutFromBtf(btf)) || LAYOUT_6_18;
  return kernelLayout;
}

export function layoutFromBtf(btf: Btf): NfConnLayout | undefined {
  const t = btf.types.find((x) => x?.kind === BTF_KIND.STRUCT && x.name === 'nf_conn');
  if (!t?.members) return undefined;
  const off = (name: string) => {
    const m = t.members!.find((x) => x.name === name);
    return m ? (t.kflag ? m.bitOffset & 0xffffff : m.bitOffset) / 8 : undefined;
  };
  const [timeout, zone, tuplehash, status, mark] = ['timeout', 'zone', 'tuplehash', 'status', 'mark'].map(off);
  if ([timeout, zone, tuplehash, status, mark].some((v) => v === undefined)) return undefined;
  return { size: t.sizeOrType, timeout: timeout!, zone: zone!, tuplehash: tuplehash!, tuplehashSize: 56, status: status!, mark: mark! };
}

/** One direction of a connection: addresses (4 or 16 bytes, network order) and ports (host order numbers). */
export interface Tuple {
  family: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  proto: number;
}

export class Conn {
  /** The struct nf_conn image a program reads (a slice of a table's slab when seeded: see ConntrackTable.image). */
  readonly bytes: Uint8Array;
  /** True once in the table (bpf_ct_insert_entry or seeded); an allocated entry is not. */
  inserted = false;

  constructor(readonly layout: NfConnLayout, orig: Tuple, reply: Tuple, image?: Uint8Array) {
    // No DataView per connection: a seed of 150,000 connections kept one each (with the ArrayBuffer behind each image,
    // ~640 bytes of bookkeeping per 248-byte image). Fields are read byte by byte below.
    this.bytes = image ?? new Uint8Array(layout.size);
    this.setTuple(0, orig);
    this.setTuple(1, reply);
  }

  private tupleAt(dir: 0 | 1): number {
    return this.layout.tuplehash + dir * this.layout.tuplehashSize + 16;
  }

  private le(off: number, n: 2 | 4): number {
    const b = this.bytes;
    return n === 2 ? b[off] | (b[off + 1] << 8) : (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
  }

  private setLe(off: number, n: 2 | 4 | 8, v: number): void {
    const b = this.bytes;
    for (let i = 0; i < n; i++) b[off + i] = i < 4 ? (v >>> (8 * i)) & 0xff : 0;
  }

  /** struct nf_conntrack_tuple: src {u3[16], u.all be16, l3num u16}, dst {u3[16], u.all be16, protonum u8, dir u8}. */
  setTuple(dir: 0 | 1, t: Tuple): void {
    const at = this.tupleAt(dir);
    const b = this.bytes;
    b.fill(0, at, at + 40);
    b.set(t.src, at);
    b[at + 16] = t.sport >> 8;
    b[at + 17] = t.sport & 0xff;
    this.setLe(at + 18, 2, t.family === 4 ? 2 : 10);
    b.set(t.dst, at + 20);
    b[at + 36] = t.dport >> 8;
    b[at + 37] = t.dport & 0xff;
    b[at + 38] = t.proto;
    b[at + 39] = dir;
  }

  tuple(dir: 0 | 1): Tuple {
    const at = this.tupleAt(dir);
    const b = this.bytes;
    const family = this.le(at + 18, 2) === 2 ? 4 : 6;
    const n = family === 4 ? 4 : 16;
    return {
      family,
      src: b.slice(at, at + n),
      dst: b.slice(at + 20, at + 20 + n),
      sport: (b[at + 16] << 8) | b[at + 17],
      dport: (b[at + 36] << 8) | b[at + 37],
      proto: b[at + 38],
    };
  }

  /** The index key of one direction, read from the image (no Tuple built). */
  key(dir: 0 | 1): string {
    const at = this.tupleAt(dir);
    const b = this.bytes;
    const n = this.le(at + 18, 2) === 2 ? 4 : 16;
    return tupleKeyOf(this.zone, b[at + 38], (b[at + 16] << 8) | b[at + 17], (b[at + 36] << 8) | b[at + 37], b, at, at + 20, n);
  }

  /** ct->status is an unsigned long: the low 32 bits hold every IPS_ flag, the high ones stay 0. */
  get status(): number { return this.le(this.layout.status, 4); }
  set status(v: number) { this.setLe(this.layout.status, 8, v >>> 0); }
  get mark(): number { return this.le(this.layout.mark, 4); }
  set mark(v: number) { this.setLe(this.layout.mark, 4, v >>> 0); }
  /** ct->timeout: absolute jiffies (u32) once inserted, relative jiffies before (__nf_ct_set_timeout). */
  get timeout(): number { return this.le(this.layout.timeout, 4); }
  set timeout(v: number) { this.setLe(this.layout.timeout, 4, v >>> 0); }
  get zone(): number { return this.le(this.layout.zone, 2); }
  set zone(v: number) { this.setLe(this.layout.zone, 2, v & 0xffff); }
}

const sameTuple = (a: Tuple, b: Tuple) =>
  a.family === b.family && a.proto === b.proto && a.sport === b.sport && a.dport === b.dport &&
  a.src.every((x, i) => x === b.src[i]) && a.dst.every((x, i) => x === b.dst[i]);

export const swapTuple = (t: Tuple): Tuple => ({ ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport });

/** jiffies as a u32 (nfct_time_stamp) at `ns`, for HZ `hz`. */
export const jiffies32 = (ns: bigint, hz: bigint): number => Number(((ns * hz) / 1_000_000_000n) & 0xffffffffn);

/**
 * The index key of a tuple in a zone: one flat string of 16-bit units (zone, protocol, ports, then the addresses two
 * bytes a unit), 8 units for IPv4 and 20 for IPv6. A template string of the parts (as before) left a tree of ~10 string
 * pieces per key, ~400 bytes: 120 MB for a 150,000-connection seed.
 */
function tupleKeyOf(zone: number, proto: number, sport: number, dport: number, b: Uint8Array, src: number, dst: number, n: number): string {
  const u: number[] = [zone, proto, sport, dport];
  for (let i = 0; i < n; i += 2) u.push((b[src + i] << 8) | b[src + i + 1]);
  for (let i = 0; i < n; i += 2) u.push((b[dst + i] << 8) | b[dst + i + 1]);
  return String.fromCharCode.apply(null, u);
}

const tupleKey = (t: Tuple, zone: number): string => {
  const n = t.src.length;
  const b = new Uint8Array(2 * n);
  b.set(t.src, 0);
  b.set(t.dst, n);
  return tupleKeyOf(zone, t.proto, t.sport, t.dport, b, 0, n, n);
};

/** Connections' images are cut from slabs of this many (one ArrayBuffer per slab, not one per connection). */
const SLAB_CONNS = 256;

export class ConntrackTable {
  /** Live connections in insertion order (the report's order). */
  readonly conns = new Set<Conn>();
  /** Both tuples of every connection, as the kernel hashes both directions. */
  private readonly byOrig = new Map<string, Conn>();
  private readonly byReply = new Map<string, Conn>();
  private given: NfConnLayout | undefined;
  private slab: Uint8Array | undefined;
  private slabUsed = 0;

  constructor(layout?: NfConnLayout) {
    this.given = layout;
  }

  /** The nf_conn layout, from the kernel's BTF when first needed (reading it costs a run that never uses conntrack). */
  get layout(): NfConnLayout {
    return (this.given ??= nfConnLayout());
  }

  /** nf_conntrack_find_get: a live entry with this tuple in either direction (an expired one is collected). */
  find(t: Tuple, zone: number, nowJiffies: number): { conn: Conn; dir: 0 | 1 } | undefined {
    return this.findKey(tupleKey(t, zone), nowJiffies);
  }

  private findKey(key: string, nowJiffies: number): { conn: Conn; dir: 0 | 1 } | undefined {
    const orig = this.byOrig.get(key);
    const reply = orig ? undefined : this.byReply.get(key);
    const hit = orig ? { conn: orig, dir: 0 as const } : reply ? { conn: reply, dir: 1 as const } : undefined;
    if (!hit) return undefined;
    if (expired(hit.conn, nowJiffies)) {
      this.remove(hit.conn);
      return undefined;
    }
    return hit;
  }

  /** A zeroed image for a seeded connection, cut from the current slab. */
  private image(): Uint8Array {
    const size = this.layout.size;
    if (!this.slab || this.slabUsed === SLAB_CONNS) {
      this.slab = new Uint8Array(size * SLAB_CONNS);
      this.slabUsed = 0;
    }
    return this.slab.subarray(size * this.slabUsed, size * ++this.slabUsed);
  }

  private remove(c: Conn): void {
    this.conns.delete(c);
    this.byOrig.delete(c.key(0));
    this.byReply.delete(c.key(1));
  }

  /** nf_conntrack_hash_check_insert: -EEXIST when either tuple is taken; the timeout becomes absolute. */
  insert(c: Conn, nowJiffies: number): boolean {
    const k0 = c.key(0);
    const k1 = c.key(1);
    if (this.findKey(k0, nowJiffies) || this.findKey(k1, nowJiffies)) return false;
    c.timeout = (c.timeout + nowJiffies) >>> 0;
    c.inserted = true;
    this.conns.add(c);
    this.byOrig.set(k0, c);
    this.byReply.set(k1, c);
    return true;
  }

  /**
   * Seed from the JSON schema above; problems name the file and the entry. The array is left as it is: the same
   * parsed seed also seeds the return-line twin's table (and the editor's next run).
   */
  seed(json: unknown, file: string, nowJiffies: number, hz: number): string[] {
    const errors: string[] = [];
    if (!Array.isArray(json)) return [`${file}: expected an array of connections ([{"proto": "tcp", "src": ..., ...}])`];
    json.forEach((e, i) => {
      const where = `${file}: connection ${i}`;
      try {
        const c = connFromJson(e, this.layout, hz, this.image());
        c.status |= IPS.CONFIRMED;
        if (!this.insert(c, nowJiffies)) errors.push(`${where}: the same tuple is already in the table`);
      } catch (err) {
        errors.push(`${where}: ${(err as Error).message}`);
      }
    });
    return errors;
  }

  /** The live entries, in the seed schema. */
  toJson(nowJiffies: number, hz: number): ConnJson[] {
    return [...this.conns].filter((c) => !expired(c, nowJiffies)).map((c) => connToJson(c, nowJiffies, hz));
  }
}

/** nf_ct_is_expired: (s32)(ct->timeout - nfct_time_stamp) <= 0. */
const expired = (c: Conn, now: number) => ((c.timeout - now) | 0) <= 0;

export interface ConnJson {
  proto: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  reply?: { src: string; sport: number; dst: string; dport: number };
  status: number;
  statusFlags?: string[];
  mark?: number;
  zone?: number;
  timeout: number;
}

function connFromJson(e: unknown, layout: NfConnLayout, hz: number, image: Uint8Array): Conn {
  if (typeof e !== 'object' || e === null) throw new Error('expected an object');
  const o = e as Record<string, unknown>;
  const proto = o.proto === 'tcp' || o.proto === 6 ? IPPROTO_TCP : o.proto === 'udp' || o.proto === 17 ? IPPROTO_UDP : undefined;
  if (proto === undefined) throw new Error(`"proto" is "tcp" or "udp" (the protocols the conntrack kfuncs take), not ${JSON.stringify(o.proto)}`);
  const side = (x: Record<string, unknown>, what: string): Tuple => {
    const src = parseAddr(x.src, `${what}"src"`);
    const dst = parseAddr(x.dst, `${what}"dst"`);
    if (src.length !== dst.length) throw new Error(`${what}"src" and "dst" are not the same address family`);
    return { family: src.length === 4 ? 4 : 6, src, dst, sport: port(x.sport, `${what}"sport"`), dport: port(x.dport, `${what}"dport"`), proto };
  };
  const orig = side(o, '');
  let reply = swapTuple(orig);
  if (o.reply !== undefined) {
    if (typeof o.reply !== 'object' || o.reply === null) throw new Error('"reply" is an object {src, sport, dst, dport}');
    reply = side(o.reply as Record<string, unknown>, 'reply ');
    if (reply.family !== orig.family) throw new Error('"reply" is not the same address family as the connection');
  }
  const c = new Conn(layout, orig, reply, image);
  c.status = parseStatus(o.status);
  if (o.mark !== undefined) c.mark = uint(o.mark, '"mark"', 0xffffffff);
  if (o.zone !== undefined) c.zone = uint(o.zone, '"zone"', 0xffff);
  const timeout = o.timeout === undefined ? 30 : o.timeout;
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw new Error(`"timeout" is the seconds left, a number >= 0, not ${JSON.stringify(o.timeout)}`);
  c.timeout = Math.round(timeout * hz);
  return c;
}

function connToJson(c: Conn, now: number, hz: number): ConnJson {
  const o = c.tuple(0);
  const r = c.tuple(1);
  const out: ConnJson = {
    proto: o.proto === IPPROTO_TCP ? 'tcp' : o.proto === IPPROTO_UDP ? 'udp' : String(o.proto),
    src: formatAddr(o.src), sport: o.sport, dst: formatAddr(o.dst), dport: o.dport,
    status: c.status, statusFlags: IPS_NAMES.filter((n) => c.status & IPS[n]),
    mark: c.mark,
    timeout: ((c.timeout - now) | 0) / hz,
  };
  if (!sameTuple(r, swapTuple(o))) out.reply = { src: formatAddr(r.src), sport: r.sport, dst: formatAddr(r.dst), dport: r.dport };
  if (c.zone) out.zone = c.zone;
  return out;
}

function parseStatus(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
  if (Array.isArray(v)) {
    let s = 0;
    for (const n of v) {
      const bit = typeof n === 'string' ? IPS[n.replace(/^IPS_/, '') as keyof typeof IPS] : undefined;
      if (bit === undefined) throw new Error(`"status": unknown flag ${JSON.stringify(n)} (one of ${IPS_NAMES.join(', ')})`);
      s |= bit;
    }
    return s;
  }
  throw new Error(`"status" is a number or a list of flag names, not ${JSON.stringify(v)}`);
}

function uint(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${what} is a whole number 0..${max}, not ${JSON.stringify(v)}`);
  return v;
}
const port = (v: unknown, what: string) => uint(v, what, 0xffff);

export function parseAddr(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new Error(`${what} is an IPv4 or IPv6 address string, not ${JSON.stringify(v)}`);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.every((x) => x <= 255)) return Uint8Array.from(b);
  }
  if (v.includes(':')) {
    const halves = v.split('::');
    if (halves.length <= 2) {
      const parts = (h: string) => (h === '' ? [] : h.split(':'));
      const head = parts(halves[0]);
      const tail = halves.length === 2 ? parts(halves[1]) : [];
      const fill = 8 - head.length - tail.length;
      if ((halves.length === 2 ? fill >= 1 : fill === 0) && [...head, ...tail].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) {
        const groups = [...head, ...new Array(halves.length === 2 ? fill : 0).fill('0'), ...tail].map((g) => parseInt(g, 16));
        const out = new Uint8Array(16);
        groups.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
        return out;
      }
    }
  }
  throw new Error(`${what}: '${v}' is not an IPv4 or IPv6 address`);
}

export function formatAddr(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:::+/, '::');
}
