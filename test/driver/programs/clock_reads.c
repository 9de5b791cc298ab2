// The clock read every way a program can read it: each time helper, from a subprogram, from a bpf_loop callback,
// from a tail call's target and from a timer's callback. What each packet read shows in its verdict (a bit of the
// clock), in `sums` (every reading added up) and, for frames whose last byte is odd, in the frame's first 8 bytes.
// The frames whose last byte is even are left as they were: in a batch, those are the plain runs. Frames whose last
// byte has bit 1 clear do not read the clock at all (XDP_PASS), so that the clock of a frame that reads it follows
// frames that did not.
#include "common.h"

#define SKIP_UNLESS_READ(ctx)            \
  if (!(last_byte(ctx) & 2)) return XDP_PASS

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} sums SEC(".maps");

static __always_inline int show(struct xdp_md *ctx, __u64 now) {
  __u32 k = 0;
  __u64 *s = bpf_map_lookup_elem(&sums, &k);
  if (s) *s = *s * 31 + now;
  int last = last_byte(ctx);
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u64 *p = data;
  if ((last & 1) && (void *)(p + 1) <= end) p[0] = now;
  return (now >> 8) & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int ktime(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_ktime_get_ns());
}

SEC("xdp")
int boot(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_ktime_get_boot_ns());
}

SEC("xdp")
int coarse(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_ktime_get_coarse_ns());
}

SEC("xdp")
int tai(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_ktime_get_tai_ns());
}

SEC("xdp")
int jiffies(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_jiffies64() << 8);
}

static __attribute__((noinline)) __u64 read_clock(__u32 x) { return bpf_ktime_get_ns() + x; }

SEC("xdp")
int subprog(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, read_clock(ctx->ingress_ifindex & 1));
}

static long loop_read(__u32 i, void *c) {
  *(__u64 *)c = bpf_ktime_get_ns();
  return 1;
}

SEC("xdp")
int callback(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  __u64 now = 0;
  bpf_loop(1, loop_read, &now, 0);
  return show(ctx, now);
}

SEC("xdp")
int tail_target(struct xdp_md *ctx) {
  SKIP_UNLESS_READ(ctx);
  return show(ctx, bpf_ktime_get_ns());
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __array(values, int(struct xdp_md *));
} jmp SEC(".maps") = {
  .values = { [0] = (void *)&tail_target },
};

SEC("xdp")
int tail(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jmp, 0);
  return XDP_ABORTED;
}

// A timer started with 0 ns fires after the run (before the next packet): its callback reads the clock into `fired`,
// which the next packet shows.
struct tv {
  struct bpf_timer t;
  __u64 fired;
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tv);
} timers SEC(".maps");

static int timer_read(void *map, __u32 *key, struct tv *v) {
  v->fired = bpf_ktime_get_ns();
  return 0;
}

SEC("xdp")
int timer(struct xdp_md *ctx) {
  __u32 k = 0;
  struct tv *v = bpf_map_lookup_elem(&timers, &k);
  if (!v) return XDP_ABORTED;
  __u64 seen = v->fired;
  if (!(last_byte(ctx) & 2)) return show(ctx, seen);
  bpf_timer_init(&v->t, &timers, 1);
  bpf_timer_set_callback(&v->t, timer_read);
  bpf_timer_start(&v->t, 0, 0);
  return show(ctx, seen);
}
