// cpu v4 instructions (sdiv/smod 64 and 32, movsx, ldsx, bswap) fed with packet bytes, divisors including 0 and -1.
// clang 14 cannot emit them (-mcpu=v4 arrived in LLVM 18), so each one is a raw `.quad` in inline asm working on
// r1 (dst) and r2 (src); the results overwrite the first 96 bytes of the frame.
#include "common.h"

// Encoding: opcode | dst 1 | src 2 << 4 | off << 16 | imm << 32, written as a little-endian 64-bit word.
#define V4_OP(name, word)                                                                            \
  static __always_inline __s64 name(__s64 a, __s64 b) {                                             \
    __s64 r;                                                                                         \
    asm volatile("r1 = %[a]\n\tr2 = %[b]\n\t.quad " #word "\n\t%[r] = r1"                            \
                 : [r] "=r"(r) : [a] "r"(a), [b] "r"(b) : "r1", "r2");                              \
    return r;                                                                                        \
  }
V4_OP(sdiv64, 0x000000000001213f)
V4_OP(smod64, 0x000000000001219f)
V4_OP(sdiv32, 0x000000000001213c)
V4_OP(smod32, 0x000000000001219c)
V4_OP(movsx64_8, 0x00000000000821bf)
V4_OP(movsx64_16, 0x00000000001021bf)
V4_OP(movsx64_32, 0x00000000002021bf)
V4_OP(movsx32_8, 0x00000000000821bc)
V4_OP(movsx32_16, 0x00000000001021bc)
V4_OP(bswap16, 0x00000010000001d7)
V4_OP(bswap32, 0x00000020000001d7)
V4_OP(bswap64, 0x00000040000001d7)

SEC("xdp")
int v4_alu(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 96 > end) return XDP_PASS;
  __s64 x = *(__u64 *)(data + 26);
  __s64 y = *(__u8 *)(data + 23) % 5 == 0 ? 0 : *(__u8 *)(data + 23) % 5 == 1 ? -1 : (__s64)*(__u32 *)(data + 30) - 0x7fffffff;
  __s64 ldsx8, ldsx16, ldsx32;
  asm volatile("r2 = %[p]\n\t.quad 0x0000000000142191\n\t%[r] = r1" : [r] "=r"(ldsx8) : [p] "r"(data) : "r1", "r2");
  asm volatile("r2 = %[p]\n\t.quad 0x0000000000162189\n\t%[r] = r1" : [r] "=r"(ldsx16) : [p] "r"(data) : "r1", "r2");
  asm volatile("r2 = %[p]\n\t.quad 0x00000000001a2181\n\t%[r] = r1" : [r] "=r"(ldsx32) : [p] "r"(data) : "r1", "r2");
  __s64 o[12] = {
    sdiv64(x, y), smod64(x, y), sdiv32(x, y), smod32(x, y),
    movsx64_8(0, x) ^ movsx64_16(0, y), movsx64_32(0, x), movsx32_8(0, x) + movsx32_16(0, y),
    bswap16(x, 0) ^ bswap32(y, 0), bswap64(x, 0),
    sdiv64((__s64)0x8000000000000000ull, -1) ^ smod64((__s64)0x8000000000000000ull, -1),
    sdiv32(0x80000000, -1) ^ (smod32(-7, 2) << 32),
    ldsx8 ^ ldsx16 ^ ldsx32,
  };
  __builtin_memcpy(data, o, sizeof(o));
  return XDP_PASS;
}
