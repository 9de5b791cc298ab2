// An ARRAY of 100 million counters (legal in the kernel: 800 MB preallocated there) and a per-CPU array of 65,536
// slots of 32 KiB (the per-CPU value cap): each packet touches two slots. The simulator must run this in the memory of
// the slots touched.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 100000000);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct big { __u8 bytes[32768]; };

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct big);
} scratch SEC(".maps");

SEC("xdp")
int huge(struct xdp_md *ctx)
{
  __u32 len = ctx->data_end - ctx->data;
  __u32 idx = len * 99991 % 100000000;
  __u64 *c = bpf_map_lookup_elem(&counters, &idx);
  if (c)
    *c += 1;
  __u32 far = 99999999;
  __u64 *last = bpf_map_lookup_elem(&counters, &far);
  if (last && *last != 0)
    return XDP_DROP;
  __u32 s = len & 0xffff;
  struct big *b = bpf_map_lookup_elem(&scratch, &s);
  if (b)
    b->bytes[len & 0x7fff] = 1;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
