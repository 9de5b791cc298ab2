// Maps of every BTF kind a map key or value can have, for the BTF value formatter (simulator/btf-format.ts): ints of
// each size and signedness, enums (a value without a name too), char arrays, nested arrays, structs with bitfields
// and an anonymous union, pointers, typedef/const/volatile chains, a per-CPU map, global data (.data, .bss, .rodata),
// and a legacy-free BTF-defined key that is a struct. test/maps/btf-format.test.ts checks the formatter against
// `bpftool map dump` of the same bytes in the kernel.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 5, BLUE = -3 };
enum big { BIG_A = 1, BIG_B = 0x7fffffff };
typedef unsigned int u32_t;
typedef const volatile u32_t cv_u32;

struct flags {
  unsigned int a : 3;
  unsigned int b : 13;
  int c : 5;
  unsigned short d : 7;
  enum color e : 4;
};

struct inner {
  __s8 s8;
  __u8 u8;
  __s16 s16;
  __u32 arr[3];
};

struct value {
  __u64 u64;
  __s64 s64;
  __s32 s32;
  enum color color;
  char name[12];
  struct inner in[2];
  struct flags f;
  union {
    __u32 as_u32;
    __u8 bytes[4];
  };
  void *ptr;
  cv_u32 cv;
  _Bool flag;
  char c;
  unsigned char uc;
  __u16 grid[2][3];
};

struct key {
  __u32 addr;
  __u16 port;
  __u8 proto;
  __u8 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, struct key);
  __type(value, struct value);
} structs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, enum color);
} colors SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, u32_t);
  __type(value, struct flags);
} percpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, enum big);
  __type(value, char[16]);
} names SEC(".maps");

__u64 counter = 7;
struct inner bss_inner;
const volatile int limit = -42;
const volatile char greeting[6] = "hello";

SEC("xdp")
int btf_values(struct xdp_md *ctx)
{
  __u32 k = 0;
  struct flags *f = bpf_map_lookup_elem(&percpu, &k);
  if (f)
    f->b++;
  counter++;
  bss_inner.u8 = limit + greeting[1];
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
