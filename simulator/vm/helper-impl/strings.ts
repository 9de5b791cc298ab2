// The read-only string kfuncs of kernel/bpf/helpers.c (6.17 and later; every program type may call them): bpf_strcmp,
// bpf_strcasecmp, bpf_strchr, bpf_strchrnul, bpf_strnchr, bpf_strrchr, bpf_strlen, bpf_strnlen, bpf_strspn,
// bpf_strcspn, bpf_strstr, bpf_strnstr. Their pointer arguments are `__ign` (any value passes the verifier); each one
// is first checked as copy_from_kernel_nofault_allowed checks it (x86-64: a user or non-canonical address is -ERANGE),
// then read a byte at a time without faulting (-EFAULT where nothing is mapped). They return an index or a count, not a
// pointer; -ENOENT when not found; -E2BIG when XATTR_SIZE_MAX (65536) bytes went by without an end. Bytes are compared
// as the kernel's `char`, which is unsigned (the kernel builds with -funsigned-char since 6.2: 0x80 sorts after 'a', and
// bpf_strrchr's int argument -23 matches no byte while 233 matches 0xe9).

const ENOENT = 2;
const E2BIG = 7;
const EFAULT = 14;
const ERANGE = 34;
/** XATTR_SIZE_MAX: the longest string the kfuncs walk. */
export const STRING_MAX = 65536;

/**
 * Byte `i` of the string at `s`, or an errno: `range(s)` says whether the start address may be read at all (else
 * -ERANGE), `at(s, i)` gives the byte or undefined where nothing is mapped (-EFAULT).
 */
export interface StringMemory {
  allowed(s: bigint): boolean;
  at(s: bigint, i: number): number | undefined;
}

class Fault {
  constructor(readonly errno: number) {}
}

const sc = (b: number) => b; // the kernel's char: unsigned
/** The kernel's tolower: its ctype table has the Latin-1 capitals (0xc0-0xde but 0xd7) upper case too. */
const lower = (b: number) => ((b >= 0x41 && b <= 0x5a) || (b >= 0xc0 && b <= 0xde && b !== 0xd7) ? b + 0x20 : b);

function reader(m: StringMemory, s: bigint): (i: number) => number {
  return (i) => {
    const b = m.at(s, i);
    if (b === undefined) throw new Fault(EFAULT);
    return b;
  };
}

function run(m: StringMemory, ptrs: bigint[], body: (...r: ((i: number) => number)[]) => number): number {
  for (const p of ptrs) if (!m.allowed(p)) return -ERANGE;
  try {
    return body(...ptrs.map((p) => reader(m, p)));
  } catch (e) {
    if (e instanceof Fault) return -e.errno;
    throw e;
  }
}

/** The kfunc `name` with its register arguments; undefined when it is not one of these. */
export function stringKfunc(name: string, m: StringMemory, a: bigint[]): number | undefined {
  const n = (v: bigint) => (v > BigInt(STRING_MAX) ? STRING_MAX : Number(v));
  const ch = (v: bigint) => Number(v & 0xffn); // a `char` argument
  const int = (v: bigint) => Number(BigInt.asIntN(32, v)); // an `int` argument
  switch (name) {
    case 'bpf_strcmp':
    case 'bpf_strcasecmp': {
      const fold = name === 'bpf_strcasecmp';
      return run(m, [a[0]!, a[1]!], (s1, s2) => {
        for (let i = 0; i < STRING_MAX; i++) {
          let c1 = s1!(i), c2 = s2!(i);
          if (fold) { c1 = lower(c1); c2 = lower(c2); }
          if (c1 !== c2) return sc(c1) < sc(c2) ? -1 : 1;
          if (c1 === 0) return 0;
        }
        return -E2BIG;
      });
    }
    case 'bpf_strnchr':
    case 'bpf_strchr': {
      const count = name === 'bpf_strnchr' ? n(a[1]!) : STRING_MAX;
      const c = ch(name === 'bpf_strnchr' ? a[2]! : a[1]!);
      return run(m, [a[0]!], (s) => {
        let i = 0;
        for (; i < count && i < STRING_MAX; i++) {
          const b = sc(s!(i));
          if (b === c) return i;
          if (b === 0) return -ENOENT;
        }
        return i === STRING_MAX ? -E2BIG : -ENOENT;
      });
    }
    case 'bpf_strchrnul': {
      const c = ch(a[1]!);
      return run(m, [a[0]!], (s) => {
        for (let i = 0; i < STRING_MAX; i++) {
          const b = sc(s!(i));
          if (b === 0 || b === c) return i;
        }
        return -E2BIG;
      });
    }
    case 'bpf_strrchr': {
      const c = int(a[1]!);
      return run(m, [a[0]!], (s) => {
        let last = -ENOENT;
        for (let i = 0; i < STRING_MAX; i++) {
          const b = sc(s!(i));
          if (b === c) last = i;
          if (b === 0) return last;
        }
        return -E2BIG;
      });
    }
    case 'bpf_strlen':
    case 'bpf_strnlen': {
      const count = name === 'bpf_strnlen' ? n(a[1]!) : STRING_MAX;
      return run(m, [a[0]!], (s) => {
        let i = 0;
        for (; i < count && i < STRING_MAX; i++) if (s!(i) === 0) return i;
        return i === STRING_MAX ? -E2BIG : i;
      });
    }
    case 'bpf_strspn':
    case 'bpf_strcspn': {
      const accept = name === 'bpf_strspn';
      return run(m, [a[0]!, a[1]!], (s, set) => {
        for (let i = 0; i < STRING_MAX; i++) {
          const cs = s!(i);
          if (cs === 0) return i;
          let j = 0, cr = 0;
          for (; j < STRING_MAX; j++) {
            cr = set!(j);
            if (cs === cr || cr === 0) break;
          }
          if (j === STRING_MAX) return -E2BIG;
          if (accept ? cr === 0 : cr !== 0) return i;
        }
        return -E2BIG;
      });
    }
    case 'bpf_strstr':
    case 'bpf_strnstr': {
      const len = name === 'bpf_strnstr' ? a[2]! : BigInt(STRING_MAX);
      return run(m, [a[0]!, a[1]!], (s1, s2) => {
        for (let i = 0; i < STRING_MAX; i++) {
          let j = 0;
          // The needle may end exactly at len: its NUL is looked at before the length is.
          for (; BigInt(i + j) <= len && j < STRING_MAX; j++) {
            const c2 = s2!(j);
            if (c2 === 0) return i;
            if (BigInt(i + j) === len) break;
            const c1 = s1!(i + j);
            if (c1 === 0) return -ENOENT;
            if (c1 !== c2) break;
          }
          if (j === STRING_MAX) return -E2BIG;
          if (BigInt(i + j) === len) return -ENOENT;
        }
        return -E2BIG;
      });
    }
    default:
      return undefined;
  }
}

/** The names stringKfunc answers. */
export const STRING_KFUNCS = ['bpf_strcmp', 'bpf_strcasecmp', 'bpf_strchr', 'bpf_strchrnul', 'bpf_strnchr', 'bpf_strrchr',
  'bpf_strlen', 'bpf_strnlen', 'bpf_strspn', 'bpf_strcspn', 'bpf_strstr', 'bpf_strnstr'] as const;
