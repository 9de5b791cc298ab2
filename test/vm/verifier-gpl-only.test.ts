// A licence the kernel does not count as GPL-compatible (another string, or no license section) and a GPL-only helper
// (bpf_trace_printk, bpf_perf_event_output, bpf_probe_read_kernel: check_helper_call, where the verifier's walk reaches
// the call) or any kfunc (add_kfunc_call, wherever it is): refused at load, reported by `run` before the first packet
// on the call's line (simulator/verifier-bounds.ts, verifier-refusals.ts). Near misses: the same calls under "Dual
// BSD/GPL", helpers that are not GPL-only (bpf_ringbuf_output, bpf_ktime_get_ns), and a GPL-only call under a
// const volatile setting that is off (the verifier skips the branch: the kernel loads it). Every variant is loaded into
// the running kernel too; the setting on is refused (the walk reads .rodata as the verifier does).
import { test } from 'node:test';
import { checkRefusalVariants, type RefusalCase } from './refusal-variants.ts';

// V < 10: "Dual BSD/GPL"; 10..19: "MIT"; 20..: no license section. V % 10 chooses the call.
const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#if V < 10
char LICENSE[] SEC("license") = "Dual BSD/GPL";
#elif V < 20
char LICENSE[] SEC("license") = "MIT";
#endif
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } ev SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
const volatile int dbg = V % 10 == 9;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
SEC("xdp")
int prog(struct xdp_md *ctx) {
#if V % 10 == 1
  bpf_printk("hi %d", ctx->rx_queue_index); /* E */
#elif V % 10 == 2
  __u64 x = 1; bpf_perf_event_output(ctx, &ev, BPF_F_CURRENT_CPU, &x, 8); /* E */
#elif V % 10 == 3
  __u64 x = 1; bpf_ringbuf_output(&rb, &x, 8, 0);
#elif V % 10 == 4
  return bpf_cast_to_kern_ctx(ctx) ? 2 : 1; /* E */
#elif V % 10 == 5
  return bpf_ktime_get_ns() & 1;
#elif V % 10 == 6
  return bpf_get_smp_processor_id() & 1;
#elif V % 10 == 7
  __u64 x; bpf_probe_read_kernel(&x, 8, (void *)(long)ctx); /* E */
  return x & 1;
#elif V % 10 == 8 || V % 10 == 9
  if (dbg) bpf_printk("q %d", ctx->rx_queue_index); /* E */
#endif
  return XDP_PASS;
}
`;

const HELPER = 'cannot call GPL-restricted function from non-GPL compatible program';
const KFUNC = 'cannot call kernel function from non-GPL compatible program';
const CASES: RefusalCase[] = [
  { v: 1 }, { v: 2 }, { v: 4 }, { v: 7 },
  { v: 11, kernel: HELPER }, { v: 21, kernel: HELPER },
  { v: 12, kernel: HELPER },
  { v: 13 }, { v: 15 }, { v: 16 },
  { v: 14, kernel: KFUNC }, { v: 24, kernel: KFUNC },
  { v: 17, kernel: HELPER },
  { v: 18 }, { v: 28 }, { v: 9 },
  { v: 19, kernel: HELPER }, { v: 29, kernel: HELPER },
];


test('GPL-only helpers and kfuncs under a licence that is not GPL: refused as by the kernel, near misses not', (t) => {
  checkRefusalVariants(t, 'gplonly', SOURCE, CASES, { rule: 'gpl-only', opens: (v) => new RegExp(`^#(el)?if .*V % 10 == ${v % 10}( |$)`) });
});
