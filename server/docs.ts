// Hover documentation: XDP actions, the helpers an XDP program uses, struct xdp_md fields and section names.
// Written for this project from the facts in ../shared/reference (kernel 6.18 behaviour), in Markdown.

export interface Doc {
  /** First line, shown as code. */
  signature: string;
  body: string;
}

const OPTION_AB =
  'Drivers build the socket buffer in one of two ways. Drivers that give the program a **writable page** (`build_skb`): the SKB points at the ' +
  'page the program saw, so rewrites are kept and frames can be forwarded at page level. Drivers that give it a **read-only page** (' +
  '`napi_alloc_skb` plus a header copy): the SKB gets fresh memory and the page stays read-only, so the program must not ' +
  'write the packet.';

export const ACTION_DOCS: Record<string, Doc> = {
  XDP_ABORTED: {
    signature: 'XDP_ABORTED = 0',
    body:
      'The program hit an error. The driver drops the frame, returns the page to its page pool and fires the ' +
      '`xdp:xdp_exception` tracepoint (visible with `xdp-monitor` or `perf`). Meant for bugs, not for filtering: use ' +
      '`XDP_DROP` to drop on purpose. Any return value above 4 is treated exactly like this, after a one-time kernel ' +
      'warning "Illegal XDP return value".\n\nCost: the cheapest path, like `XDP_DROP`, plus the tracepoint.',
  },
  XDP_DROP: {
    signature: 'XDP_DROP = 1',
    body:
      'Drop the frame silently. The page is recycled straight back into the RX ring or the page pool cache; nothing is ' +
      'allocated. This is the fastest verdict and the one DDoS filters use. It works the same whether the driver hands ' +
      'out writable or read-only pages.',
  },
  XDP_PASS: {
    signature: 'XDP_PASS = 2',
    body:
      'Hand the frame to the kernel network stack. The driver builds an SKB from `data`..`data_end` as the program left ' +
      'them (adjusted head/tail and metadata included) and continues to GRO and the protocol handlers.\n\n' +
      OPTION_AB +
      '\n\nCost: an SKB allocation, plus a header copy with a read-only page. In XDP Lens, driver mode `native` models ' +
      'drivers with writable pages and `readonly-page` those with read-only pages.',
  },
  XDP_TX: {
    signature: 'XDP_TX = 3',
    body:
      'Send the frame back out of the interface it arrived on. The buffer is converted in place into an `xdp_frame` ' +
      '(stored in the first 40 bytes of headroom) and queued on the XDP TX ring; the doorbell rings once per NAPI poll. ' +
      'A full ring drops the frame and counts it. The program is expected to have rewritten the frame (swapped MAC ' +
      'addresses at least); otherwise it goes back to the sender unchanged.\n\nRequires a driver that gives the program a writable page: ' +
      'page-level forwarding is exactly what read-only pages cannot do.',
  },
  XDP_REDIRECT: {
    signature: 'XDP_REDIRECT = 4',
    body:
      'Forward the frame to the target chosen by the last `bpf_redirect()` or `bpf_redirect_map()` call: another ' +
      'interface (DEVMAP, DEVMAP_HASH, or an ifindex), another CPU (CPUMAP, which builds the SKB there), or an AF_XDP ' +
      'socket (XSKMAP). Frames are bulked and flushed at the end of the NAPI poll. Returning `XDP_REDIRECT` without ' +
      'such a call, or with a target that does not exist, takes the error path: the frame is dropped and an exception ' +
      'is traced. Idiom: `return bpf_redirect_map(&map, key, XDP_PASS);` (the flags give the verdict when the key is ' +
      'missing).\n\nRequires a driver that gives the program a writable page, for page-level forwarding.',
  },
};

/** Helpers: signature, what they return, and whether they invalidate packet pointers. */
export const HELPER_DOCS: Record<string, Doc> = {
  bpf_map_lookup_elem: {
    signature: 'void *bpf_map_lookup_elem(void *map, const void *key)  // helper 1',
    body: 'Returns a pointer to the value stored under `key`, or NULL when there is none (or the index is out of range for an array). Check for NULL before using it; for a per-CPU map the pointer is this CPU\'s copy. Values of maps created with `BPF_F_RDONLY_PROG`, and of `.rodata`, must not be written.',
  },
  bpf_map_update_elem: {
    signature: 'long bpf_map_update_elem(void *map, const void *key, const void *value, __u64 flags)  // helper 2',
    body: 'Stores `value` under `key`. `flags`: `BPF_ANY` (0) create or replace, `BPF_NOEXIST` (1) only create (-EEXIST if present), `BPF_EXIST` (2) only replace (-ENOENT if absent). Returns 0 or a negative errno: -E2BIG when a hash map is full or an array index is out of range; an LRU map evicts instead of failing.',
  },
  bpf_map_delete_elem: {
    signature: 'long bpf_map_delete_elem(void *map, const void *key)  // helper 3',
    body: 'Deletes the entry; -ENOENT when absent. Arrays cannot delete (-EINVAL).',
  },
  bpf_ktime_get_ns: {
    signature: '__u64 bpf_ktime_get_ns(void)  // helper 5',
    body: 'Monotonic time in nanoseconds. In XDP Lens the clock follows the capture\'s timestamps.',
  },
  bpf_trace_printk: {
    signature: 'long bpf_trace_printk(const char *fmt, __u32 fmt_size, ...)  // helper 6',
    body: 'Writes a line to the kernel trace buffer (up to 3 arguments; `bpf_printk` uses this). GPL only. XDP Lens shows the output per packet.',
  },
  bpf_get_prandom_u32: {
    signature: '__u32 bpf_get_prandom_u32(void)  // helper 7',
    body: 'A pseudo-random number from a per-CPU generator. XDP Lens seeds it (`--seed`) so runs are repeatable.',
  },
  bpf_get_smp_processor_id: {
    signature: '__u32 bpf_get_smp_processor_id(void)  // helper 8',
    body: 'The CPU running the program: in XDP, the CPU that polls this RX queue. With `--queues N` XDP Lens runs one simulated CPU per queue.',
  },
  bpf_tail_call: {
    signature: 'long bpf_tail_call(void *ctx, void *prog_array, __u32 index)  // helper 12',
    body: 'Jumps into the program in `prog_array[index]` and never returns when it succeeds. Falls through when the slot is empty, out of range, or after 33 tail calls. **Invalidates packet pointers**: reload `data`/`data_end` after it.',
  },
  bpf_redirect: {
    signature: 'long bpf_redirect(__u32 ifindex, __u64 flags)  // helper 23',
    body: 'Chooses interface `ifindex` as the target of `XDP_REDIRECT` and returns `XDP_REDIRECT` (any non-zero flag makes it return `XDP_ABORTED`). The interface is checked only after the program returns. Return its result.',
  },
  bpf_perf_event_output: {
    signature: 'long bpf_perf_event_output(void *ctx, void *map, __u64 flags, void *data, __u64 size)  // helper 25',
    body: 'Sends a record to user space through a PERF_EVENT_ARRAY. In XDP the upper 32 bits of `flags` give how many packet bytes to append. GPL only.',
  },
  bpf_csum_diff: {
    signature: '__s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed)  // helper 28',
    body: 'Ones\'-complement checksum difference between two buffers, added to `seed`: used to update IP/L4 checksums after a rewrite. Returns the 16-bit folded sum (not complemented) on current kernels.',
  },
  bpf_xdp_adjust_head: {
    signature: 'long bpf_xdp_adjust_head(struct xdp_md *ctx, int delta)  // helper 44',
    body: 'Moves `data` by `delta` bytes: negative grows the packet into the headroom (to push a header), positive shrinks it. The new start must stay at least 40 bytes (plus metadata) after the buffer start and leave 14 bytes of packet. Returns 0 or -EINVAL. **Invalidates every packet pointer**: reload `data` and `data_end` from `ctx` and re-check bounds.',
  },
  bpf_redirect_map: {
    signature: 'long bpf_redirect_map(void *map, __u64 key, __u64 flags)  // helper 51',
    body: 'Chooses the entry `key` of a DEVMAP, DEVMAP_HASH, CPUMAP or XSKMAP as the target of `XDP_REDIRECT`. Returns `XDP_REDIRECT` when the entry exists; otherwise the low two bits of `flags` (so `XDP_PASS` as flags means "pass when missing"). `BPF_F_BROADCAST` sends to every devmap entry. Return its result: `return bpf_redirect_map(&tx_port, key, 0)`.',
  },
  bpf_xdp_adjust_meta: {
    signature: 'long bpf_xdp_adjust_meta(struct xdp_md *ctx, int delta)  // helper 54',
    body: 'Moves `data_meta` to make room for metadata in front of the packet (negative delta grows it). Metadata length must be a multiple of 4 and at most 252 bytes. Returns 0 or a negative errno. **Invalidates packet pointers.**',
  },
  bpf_xdp_adjust_tail: {
    signature: 'long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta)  // helper 65',
    body: 'Moves `data_end`: negative trims the packet (at least 14 bytes must remain), positive grows it into the tailroom (zero-filled), up to the start of `skb_shared_info` at the end of the buffer. Returns 0 or -EINVAL. **Invalidates packet pointers.**',
  },
  bpf_fib_lookup: {
    signature: 'long bpf_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen, __u32 flags)  // helper 69',
    body: 'Looks up the kernel routing table (and neighbour table) for the addresses in `params`. Returns `BPF_FIB_LKUP_RET_SUCCESS` (0) with the egress ifindex and MAC addresses filled in, another `BPF_FIB_LKUP_RET_*` code, or a negative errno. GPL only. In XDP Lens the table comes from `--routes`.',
  },
  bpf_xdp_output: {
    signature: 'long bpf_xdp_output(void *ctx, void *map, __u64 flags, void *data, __u64 size)  // helper 121',
    body: 'XDP\'s perf event output, like `bpf_perf_event_output`.',
  },
  bpf_ringbuf_output: {
    signature: 'long bpf_ringbuf_output(void *ringbuf, void *data, __u64 size, __u64 flags)  // helper 130',
    body: 'Copies a record into a BPF ring buffer for user space. Returns 0 or a negative errno.',
  },
  bpf_xdp_get_buff_len: {
    signature: '__u64 bpf_xdp_get_buff_len(struct xdp_md *ctx)  // helper 188',
    body: 'Total packet length including fragments of a multi-buffer frame (`xdp.frags` programs). `data_end - data` covers only the linear part.',
  },
  bpf_xdp_load_bytes: {
    signature: 'long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len)  // helper 189',
    body: 'Copies `len` bytes at `offset` out of the packet, across fragments. Returns 0, -EINVAL past the end, -EFAULT for offsets or lengths over 0xffff.',
  },
  bpf_xdp_store_bytes: {
    signature: 'long bpf_xdp_store_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len)  // helper 190',
    body: 'Copies `len` bytes into the packet at `offset`, across fragments. Does not invalidate packet pointers. A write into the packet: not allowed with drivers that give the program a read-only page.',
  },
  bpf_map_push_elem: {
    signature: 'long bpf_map_push_elem(void *map, const void *value, __u64 flags)  // helper 87',
    body: 'Adds `value` to a QUEUE or STACK map. With `BPF_EXIST` a full map drops its oldest element to make room; otherwise a full map returns -E2BIG.',
  },
  bpf_map_pop_elem: {
    signature: 'long bpf_map_pop_elem(void *map, void *value)  // helper 88',
    body: 'Removes the next element of a QUEUE (oldest first) or STACK (newest first) map and copies it into `value`. Returns -ENOENT when the map is empty.',
  },
  bpf_map_peek_elem: {
    signature: 'long bpf_map_peek_elem(void *map, void *value)  // helper 89',
    body: 'Copies the next element of a QUEUE or STACK map into `value` without removing it; on a BLOOM_FILTER map, returns 0 when `value` may be in the set and -ENOENT when it is not.',
  },
  bpf_perf_event_read: {
    signature: 'u64 bpf_perf_event_read(struct bpf_map *map, u64 flags)  // helper 22',
    body: 'Reads the perf counter in slot `flags` (or `BPF_F_CURRENT_CPU`) of a PERF_EVENT_ARRAY. A test run (and XDP Lens) has no perf event open there: -ENOENT; -E2BIG past max_entries, -EINVAL for other flag bits.',
  },
  bpf_perf_event_read_value: {
    signature: 'long bpf_perf_event_read_value(struct bpf_map *map, u64 flags, struct bpf_perf_event_value *buf, u32 size)  // helper 55',
    body: 'As `bpf_perf_event_read`, filling `*buf` with counter, enabled and running times; on failure (-ENOENT in a test run, -EINVAL when `size` is not 24) the buffer is zeroed.',
  },
  bpf_get_current_uid_gid: {
    signature: 'u64 bpf_get_current_uid_gid(void)  // helper 15',
    body: 'The gid (upper 32 bits) and uid (lower 32) of the current task. In XDP that is whatever task the packet interrupted, or the process running a test run; XDP Lens answers as root: 0.',
  },
  bpf_get_cgroup_classid: {
    signature: 'u32 bpf_get_cgroup_classid(void)  // helper 17 (XDP: the current task\'s)',
    body: 'The net_cls cgroup v1 class id of the current task (in XDP a program gets the task\'s, not a socket\'s); 0 outside any net_cls cgroup, which is what XDP Lens answers.',
  },
  bpf_per_cpu_ptr: {
    signature: 'void *bpf_per_cpu_ptr(const void *percpu_ptr, u32 cpu)  // helper 153',
    body: 'A pointer to `cpu`\'s copy of a kernel per-CPU variable (a typed `extern ... __ksym`), NULL past the last CPU. XDP Lens does not model kernel variables and refuses the program at load; so does the 6.18 kernel it is checked against (built without CONFIG_KALLSYMS_ALL: "ldimm64 failed to find the address for kernel symbol").',
  },
  bpf_this_cpu_ptr: {
    signature: 'void *bpf_this_cpu_ptr(const void *percpu_ptr)  // helper 154',
    body: 'A pointer to the running CPU\'s copy of a kernel per-CPU variable (a typed `extern ... __ksym`). Refused at load by XDP Lens (kernel variables are not modelled) and by the 6.18 kernel it is checked against, as for `bpf_per_cpu_ptr`.',
  },
  bpf_get_numa_node_id: {
    signature: 'long bpf_get_numa_node_id(void)  // helper 42',
    body: 'The NUMA node of the CPU running the program. XDP Lens models one node: always 0.',
  },
  bpf_ringbuf_query: {
    signature: '__u64 bpf_ringbuf_query(void *ringbuf, __u64 flags)  // helper 134',
    body: 'Reads a ring buffer\'s state: `BPF_RB_AVAIL_DATA` (bytes not yet consumed), `BPF_RB_RING_SIZE`, `BPF_RB_CONS_POS`, `BPF_RB_PROD_POS`; 0 for any other flag. In a test run nothing consumes, so the data only grows.',
  },
  bpf_check_mtu: {
    signature: 'long bpf_check_mtu(void *ctx, __u32 ifindex, __u32 *mtu_len, __s32 len_diff, __u64 flags)  // helper 163',
    body: 'Checks whether the packet, grown by `len_diff`, still fits the MTU of `ifindex` (0: the receiving device). Returns 0 or `BPF_MTU_CHK_RET_FRAG_NEEDED`, and writes the MTU into `*mtu_len`. In a test run the device is `lo` (MTU 65536).',
  },
  bpf_strncmp: {
    signature: 'long bpf_strncmp(const char *s1, __u32 s1_sz, const char *s2)  // helper 182',
    body: 'Compares at most `s1_sz` bytes of `s1` with the constant string `s2` (which must live in read-only data). Returns 0 when equal, else a negative or positive value like strcmp.',
  },
  bpf_strtol: {
    signature: 'long bpf_strtol(const char *buf, size_t buf_len, __u64 flags, long *res)  // helper 105',
    body: 'Parses an integer from the first `buf_len` bytes of `buf` in base `flags` (0: from the `0x`/`0` prefix, 8, 10 or 16), after white space and an optional `-`. Returns the number of bytes consumed and stores the value in `*res`; on failure `-EINVAL` (no digits, bad flags) or `-ERANGE` (overflow), and `*res` is 0. `buf` cannot be packet memory: copy the bytes out first.',
  },
  bpf_strtoul: {
    signature: 'long bpf_strtoul(const char *buf, size_t buf_len, __u64 flags, unsigned long *res)  // helper 106',
    body: 'As `bpf_strtol`, for an unsigned value: a leading `-` is `-EINVAL`. Returns the number of bytes consumed, `*res` is 0 on failure.',
  },
  bpf_probe_read_kernel: {
    signature: 'long bpf_probe_read_kernel(void *dst, __u32 size, const void *unsafe_ptr)  // helper 113',
    body: 'Copies `size` bytes from a kernel address into `dst` without faulting; `BPF_CORE_READ` compiles to it. On a bad address `dst` is zeroed and a negative errno returned. XDP Lens reads the program\'s own memory (packet, stack, map values) and answers like x86-64 for other addresses.',
  },
  bpf_probe_read_kernel_str: {
    signature: 'long bpf_probe_read_kernel_str(void *dst, __u32 size, const void *unsafe_ptr)  // helper 115',
    body: 'Like `bpf_probe_read_kernel`, but stops after a NUL byte (at most `size - 1` characters and the NUL). Returns the length copied including the NUL, or a negative errno.',
  },
  bpf_probe_read_user: {
    signature: 'long bpf_probe_read_user(void *dst, __u32 size, const void *unsafe_ptr)  // helper 112',
    body: 'Copies `size` bytes from user-space memory of the current process. An XDP program has no user process of its own: in a test run the read fails with -EFAULT for every address the program holds (they are kernel memory) and the buffer is zeroed; 0 for size 0 at a user address.',
  },
  bpf_probe_read_user_str: {
    signature: 'long bpf_probe_read_user_str(void *dst, __u32 size, const void *unsafe_ptr)  // helper 114',
    body: 'Like `bpf_probe_read_user`, but stops after a NUL byte. Returns the length copied including the NUL, 0 for size 0, or a negative errno (the buffer zeroed).',
  },
  bpf_kptr_xchg: {
    signature: 'void *bpf_kptr_xchg(void *map_value, void *ptr)  // helper 194',
    body: 'Stores `ptr` into a `__kptr` field of a map value and returns the pointer that was there. The field must be declared with the `kptr` BTF type tag, which clang 14 does not emit: the verifier then refuses the call ("R1 has no valid kptr"). XDP Lens reports that refusal and does not model kptr fields.',
  },
  bpf_snprintf: {
    signature: 'long bpf_snprintf(char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len)  // helper 165',
    body: 'Formats `fmt` (a constant string: the conversions of `bpf_trace_printk`) with the arguments in `data` (`data_len` bytes, 8 per argument, at most 12) into `str`, NUL-terminated, at most `str_size` bytes. Returns the length of the whole formatted text plus one, also when it was truncated; -EINVAL for a `data_len` that is not a multiple of 8 or above 96. The verifier refuses a format that needs more arguments than `data_len` gives.',
  },
  bpf_dynptr_from_mem: {
    signature: 'long bpf_dynptr_from_mem(void *data, __u32 size, __u64 flags, struct bpf_dynptr *ptr)  // helper 197',
    body: 'Makes `ptr` a dynptr over `size` bytes of a map value (the verifier takes no other memory). `flags` must be 0 (-EINVAL), `size` at most 2^24 - 1 (-E2BIG); on error `ptr` is set NULL.',
  },
  bpf_ringbuf_reserve_dynptr: {
    signature: 'long bpf_ringbuf_reserve_dynptr(void *ringbuf, __u32 size, __u64 flags, struct bpf_dynptr *ptr)  // helper 198',
    body: 'Reserves a `size`-byte record in a ring buffer behind a dynptr (written with `bpf_dynptr_write` / `bpf_dynptr_data`). Returns 0, or -EINVAL (flags, or no room) / -E2BIG with `ptr` set NULL. The dynptr must be submitted or discarded on every path, also after a failure.',
  },
  bpf_ringbuf_submit_dynptr: {
    signature: 'void bpf_ringbuf_submit_dynptr(struct bpf_dynptr *ptr, __u64 flags)  // helper 199',
    body: 'Submits the record behind a ring-buffer dynptr (nothing for a NULL dynptr) and sets the dynptr NULL.',
  },
  bpf_ringbuf_discard_dynptr: {
    signature: 'void bpf_ringbuf_discard_dynptr(struct bpf_dynptr *ptr, __u64 flags)  // helper 200',
    body: 'Discards the record behind a ring-buffer dynptr (nothing for a NULL dynptr) and sets the dynptr NULL.',
  },
  bpf_dynptr_data: {
    signature: 'void *bpf_dynptr_data(const struct bpf_dynptr *ptr, __u32 offset, __u32 len)  // helper 203',
    body: 'A pointer to `len` bytes at `offset` of a memory or ring-buffer dynptr, or NULL when the range does not fit, the dynptr is NULL or read-only, or it is an XDP dynptr (use the `bpf_dynptr_slice` kfuncs there).',
  },
  bpf_user_ringbuf_drain: {
    signature: 'long bpf_user_ringbuf_drain(struct bpf_map *map, void *callback_fn, void *ctx, __u64 flags)  // helper 209',
    body: 'Calls `callback_fn` for each sample user space wrote into a BPF_MAP_TYPE_USER_RINGBUF map; returns the number of samples. In a test run (and in XDP Lens) no producer has written any: 0, or -EINVAL for flags other than BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP.',
  },
  bpf_timer_init: {
    signature: 'long bpf_timer_init(struct bpf_timer *timer, void *map, __u64 flags)  // helper 169',
    body: 'Sets up a `struct bpf_timer` kept inside a map value; `flags` is the clock (CLOCK_MONOTONIC, CLOCK_REALTIME or CLOCK_BOOTTIME). -EBUSY when already set up.',
  },
  bpf_timer_set_callback: {
    signature: 'long bpf_timer_set_callback(struct bpf_timer *timer, void *callback_fn)  // helper 170',
    body: 'Chooses the function the timer calls when it fires. -EINVAL before `bpf_timer_init`.',
  },
  bpf_timer_start: {
    signature: 'long bpf_timer_start(struct bpf_timer *timer, __u64 nsecs, __u64 flags)  // helper 171',
    body: 'Arms the timer to fire after `nsecs` (or at `nsecs` with `BPF_F_TIMER_ABS`). -EINVAL before init or without a callback. XDP Lens keeps the timer\'s state but never runs the callback.',
  },
  bpf_timer_cancel: {
    signature: 'long bpf_timer_cancel(struct bpf_timer *timer)  // helper 172',
    body: 'Disarms the timer. Returns 1 when it was armed, 0 when it was not, -EINVAL before init.',
  },
  bpf_for_each_map_elem: {
    signature: 'long bpf_for_each_map_elem(void *map, void *callback_fn, void *callback_ctx, __u64 flags)  // helper 164',
    body: 'Calls `callback_fn(map, &key, &value, callback_ctx)` for each element of the map; a callback returning 1 stops the walk. Returns the number of calls made. XDP Lens walks arrays by index and hash maps in key order (the kernel\'s order depends on its hash seed).',
  },
};
Object.assign(HELPER_DOCS, {
  bpf_spin_lock: {
    signature: 'long bpf_spin_lock(struct bpf_spin_lock *lock)  // helper 93',
    body: 'Takes the spin lock embedded in a map value. No helper calls or packet access until `bpf_spin_unlock`; one lock held at a time.',
  },
  bpf_spin_unlock: { signature: 'long bpf_spin_unlock(struct bpf_spin_lock *lock)  // helper 94', body: 'Releases the lock taken by `bpf_spin_lock`; every path must release what it took.' },
  bpf_ktime_get_boot_ns: {
    signature: '__u64 bpf_ktime_get_boot_ns(void)  // helper 125',
    body: 'Nanoseconds since boot, including suspend. In XDP Lens it follows the capture\'s timestamps like `bpf_ktime_get_ns`.',
  },
  bpf_ktime_get_coarse_ns: {
    signature: '__u64 bpf_ktime_get_coarse_ns(void)  // helper 160',
    body: 'A cheaper, tick-granular monotonic clock. In XDP Lens it follows the capture\'s timestamps.',
  },
  bpf_ktime_get_tai_ns: {
    signature: '__u64 bpf_ktime_get_tai_ns(void)  // helper 208',
    body: 'International Atomic Time in nanoseconds (CLOCK_TAI), a clock that does not jump with leap seconds. In XDP Lens it follows the capture\'s timestamps; `compare` reports bytes derived from it as clock-dependent.',
  },
  bpf_ringbuf_reserve: {
    signature: 'void *bpf_ringbuf_reserve(void *ringbuf, __u64 size, __u64 flags)  // helper 131',
    body: 'Reserves a record in a BPF ring buffer; NULL when there is no room. Every reservation must be submitted or discarded on every path.',
  },
  bpf_ringbuf_submit: { signature: 'void bpf_ringbuf_submit(void *data, __u64 flags)  // helper 132', body: 'Publishes a reserved record to user space. XDP Lens shows it with the packet.' },
  bpf_ringbuf_discard: { signature: 'void bpf_ringbuf_discard(void *data, __u64 flags)  // helper 133', body: 'Drops a reserved record instead of publishing it; the reservation is released either way.' },
  bpf_jiffies64: {
    signature: '__u64 bpf_jiffies64(void)  // helper 118',
    body: 'The kernel tick counter (HZ ticks per second, from a boot-time offset). In XDP Lens it advances with the capture\'s timestamps.',
  },
  bpf_loop: {
    signature: 'long bpf_loop(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags)  // helper 181',
    body: 'Calls `callback_fn(i, callback_ctx)` up to `nr_loops` times (at most 8,388,608); a callback returning 1 stops early. Returns the number of iterations run, or a negative errno. The verifier checks the callback once instead of unrolling the loop.',
  },
  bpf_map_lookup_percpu_elem: {
    signature: 'void *bpf_map_lookup_percpu_elem(void *map, const void *key, __u32 cpu)  // helper 195',
    body: 'Like `bpf_map_lookup_elem` on a per-CPU map, for the copy of another CPU; NULL for a CPU that does not exist.',
  },
  bpf_trace_vprintk: {
    signature: 'long bpf_trace_vprintk(const char *fmt, __u32 fmt_size, const void *data, __u32 data_len)  // helper 177',
    body: '`bpf_trace_printk` with up to 12 arguments passed as an array of u64; `bpf_printk` uses it above three arguments. GPL only.',
  },
} satisfies Record<string, Doc>);
// Socket and SYN-cookie helpers (simulator/vm/helpers.ts, helper-impl/syncookie.ts).
Object.assign(HELPER_DOCS, {
  bpf_sk_lookup_tcp: {
    signature: 'struct bpf_sock *bpf_sk_lookup_tcp(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags)  // helper 84',
    body: 'Finds a full TCP socket for the 4-tuple (`tuple_size` picks IPv4 or IPv6) in the device\'s network namespace (`netns` < 0) or another one by id. NULL when none, and for a bad tuple size, non-zero flags or an unknown namespace. The socket must be released with `bpf_sk_release`. In XDP Lens the host has no sockets: always NULL.',
  },
  bpf_sk_lookup_udp: {
    signature: 'struct bpf_sock *bpf_sk_lookup_udp(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags)  // helper 85',
    body: 'Like `bpf_sk_lookup_tcp`, for UDP sockets. In XDP Lens the host has no sockets: always NULL.',
  },
  bpf_skc_lookup_tcp: {
    signature: 'struct bpf_sock *bpf_skc_lookup_tcp(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags)  // helper 99',
    body: 'Like `bpf_sk_lookup_tcp`, but may also return a request or time-wait socket (a `sock_common`). In XDP Lens the host has no sockets: always NULL.',
  },
  bpf_sk_release: {
    signature: 'long bpf_sk_release(void *sock)  // helper 86',
    body: 'Drops the reference a socket lookup took; the verifier makes every path release a non-NULL socket. Unreachable in XDP Lens, where lookups return NULL.',
  },
  bpf_tcp_check_syncookie: {
    signature: 'long bpf_tcp_check_syncookie(void *sk, void *iph, __u32 iph_len, struct tcphdr *th, __u32 th_len)  // helper 100',
    body: 'Checks the SYN cookie in an ACK against a listening socket. 0 when valid, else a negative errno. Needs a socket from a lookup, so it is unreachable in XDP Lens; see `bpf_tcp_raw_check_syncookie_ipv4`.',
  },
  bpf_tcp_gen_syncookie: {
    signature: '__s64 bpf_tcp_gen_syncookie(void *sk, void *iph, __u32 iph_len, struct tcphdr *th, __u32 th_len)  // helper 110',
    body: 'Generates a SYN cookie for a SYN to a listening socket (cookie in the low 32 bits, MSS in the upper 32). Needs a socket, so it is unreachable in XDP Lens; see `bpf_tcp_raw_gen_syncookie_ipv4`.',
  },
  bpf_tcp_raw_gen_syncookie_ipv4: {
    signature: '__s64 bpf_tcp_raw_gen_syncookie_ipv4(struct iphdr *iph, struct tcphdr *th, __u32 th_len)  // helper 204',
    body: 'A SYN cookie for this SYN without a socket: the cookie in the low 32 bits and the MSS it encodes in the upper 32 (the largest of 536, 1300, 1440, 1460 not above the SYN\'s MSS option; 536 without one). -EINVAL when `th_len` is below 20 or not the header\'s doff * 4. The cookie depends on a boot-time secret and the minute: `compare` reports its bytes as random-dependent.',
  },
  bpf_tcp_raw_gen_syncookie_ipv6: {
    signature: '__s64 bpf_tcp_raw_gen_syncookie_ipv6(struct ipv6hdr *iph, struct tcphdr *th, __u32 th_len)  // helper 205',
    body: 'The IPv6 form of `bpf_tcp_raw_gen_syncookie_ipv4`; MSS values 1220, 1420, 1440, 8940 (1220 without an MSS option).',
  },
  bpf_tcp_raw_check_syncookie_ipv4: {
    signature: 'long bpf_tcp_raw_check_syncookie_ipv4(struct iphdr *iph, struct tcphdr *th)  // helper 206',
    body: 'Checks the cookie of an ACK (its ack_seq - 1, for its seq - 1) made by `bpf_tcp_raw_gen_syncookie_ipv4` in this or the previous minute: 0 when valid, -EACCES otherwise.',
  },
  bpf_tcp_raw_check_syncookie_ipv6: {
    signature: 'long bpf_tcp_raw_check_syncookie_ipv6(struct ipv6hdr *iph, struct tcphdr *th)  // helper 207',
    body: 'The IPv6 form of `bpf_tcp_raw_check_syncookie_ipv4`.',
  },
} satisfies Record<string, Doc>);
// kfuncs (simulator/vm/kfuncs.ts): declared `extern ... __ksym` in the program.
Object.assign(HELPER_DOCS, {
  bpf_xdp_metadata_rx_timestamp: {
    signature: 'int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp)  // kfunc',
    body: 'The NIC\'s receive timestamp. Only in a program bound to a device (`BPF_F_XDP_DEV_BOUND_ONLY`), which cannot run in generic mode. -EOPNOTSUPP when the driver does not implement it, -ENODATA when the frame has none. In XDP Lens: the capture timestamp on the mlx5 profile, -EOPNOTSUPP on i40e.',
  },
  bpf_xdp_metadata_rx_hash: {
    signature: 'int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash, enum xdp_rss_hash_type *rss_type)  // kfunc',
    body: 'The RSS hash the NIC computed and what it covered (`XDP_RSS_TYPE_L4_IPV4_TCP`, ...). Device-bound programs only. In XDP Lens: the Toeplitz hash of the flow on the mlx5 profile, -EOPNOTSUPP on i40e.',
  },
  bpf_xdp_metadata_rx_vlan_tag: {
    signature: 'int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md *ctx, __be16 *vlan_proto, __u16 *vlan_tci)  // kfunc',
    body: 'The VLAN tag the NIC stripped from the frame (RX VLAN offload); -ENODATA when it stripped none. Device-bound programs only. In XDP Lens: with `--vlan-strip` on the mlx5 profile.',
  },
  bpf_dynptr_from_xdp: {
    signature: 'int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit)  // kfunc',
    body: 'A dynptr over the whole frame, fragments included (its size is `bpf_xdp_get_buff_len`). `flags` must be 0 (-EINVAL, and a NULL dynptr).',
  },
  bpf_dynptr_slice: {
    signature: 'void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk)  // kfunc',
    body: 'Read-only access to `buffer__szk` bytes at `offset`: a pointer into the packet when they lie in one buffer, else a copy in `buffer__opt` (NULL without one). NULL past the end. Check the result for NULL before using it.',
  },
  bpf_dynptr_slice_rdwr: {
    signature: 'void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk)  // kfunc',
    body: 'As `bpf_dynptr_slice`, writable. When the bytes cross a fragment boundary the result is the buffer: writes to it reach the packet only through `bpf_dynptr_write`.',
  },
  bpf_dynptr_read: {
    signature: 'long bpf_dynptr_read(void *dst, __u32 len, const struct bpf_dynptr *src, __u32 offset, __u64 flags)  // helper 201',
    body: 'Copies `len` bytes at `offset` out of the dynptr, across fragments. -E2BIG past its end, -EINVAL for flags or a NULL dynptr.',
  },
  bpf_dynptr_write: {
    signature: 'long bpf_dynptr_write(const struct bpf_dynptr *dst, __u32 offset, void *src, __u32 len, __u64 flags)  // helper 202',
    body: 'Copies `len` bytes into the dynptr (the packet, for an XDP dynptr) at `offset`, across fragments. -E2BIG past its end, -EINVAL for flags, a NULL or a read-only dynptr.',
  },
  bpf_dynptr_adjust: {
    signature: 'int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start, __u32 end)  // kfunc',
    body: 'Narrows the dynptr to [start, end) of its current view. -ERANGE when either is past its size, -EINVAL when start > end.',
  },
  bpf_xdp_ct_lookup: {
    signature: 'struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple, __u32 tuple__sz, struct bpf_ct_opts *opts, __u32 opts__sz)  // kfunc',
    body: 'Looks the connection of a TCP or UDP tuple up in conntrack (either direction; `opts->dir` says which). NULL with `opts->error` -ENOENT when absent, -EINVAL for a bad opts size, -EPROTO for another protocol. Release what it returns with `bpf_ct_release`. In XDP Lens: the table of `--conntrack`.',
  },
  bpf_xdp_ct_alloc: {
    signature: 'struct nf_conn___init *bpf_xdp_ct_alloc(struct xdp_md *ctx, struct bpf_sock_tuple *tuple, __u32 tuple__sz, struct bpf_ct_opts *opts, __u32 opts__sz)  // kfunc',
    body: 'A new connection for the tuple, not yet in the table (10 s timeout): set its timeout, status and NAT, then `bpf_ct_insert_entry`.',
  },
  bpf_ct_insert_entry: {
    signature: 'struct nf_conn *bpf_ct_insert_entry(struct nf_conn___init *ct)  // kfunc',
    body: 'Inserts an allocated connection; NULL (and the allocation freed) when its tuple is already tracked.',
  },
  bpf_iter_num_new: {
    signature: 'int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)  // kfunc',
    body: 'Starts an iterator over [start, end) on the stack, what libbpf\'s `bpf_for(i, start, end)` expands to. -EINVAL when start > end, -E2BIG over 8,388,608 steps; every path must call `bpf_iter_num_destroy`.',
  },
  bpf_iter_num_next: { signature: 'int *bpf_iter_num_next(struct bpf_iter_num *it)  // kfunc', body: 'A pointer to the next number of the iterator, or NULL when the range is exhausted (or never started).' },
  bpf_iter_num_destroy: { signature: 'void bpf_iter_num_destroy(struct bpf_iter_num *it)  // kfunc', body: 'Ends an iterator started by `bpf_iter_num_new`; the verifier requires it on every path.' },
  bpf_obj_new_impl: {
    signature: 'void *bpf_obj_new_impl(__u64 local_type_id__k, void *meta__ign)  // kfunc (libbpf: bpf_obj_new(type))',
    body: 'Allocates a zeroed object of a struct type of the program (its id from `bpf_core_type_id_local`). Returns NULL only when memory runs out. The verifier requires every object to be dropped with `bpf_obj_drop` (or stored in a map) on every path, and accesses at constant offsets only.',
  },
  bpf_obj_drop_impl: {
    signature: 'void bpf_obj_drop_impl(void *kptr, void *meta__ign)  // kfunc (libbpf: bpf_obj_drop(p))',
    body: 'Frees an object from `bpf_obj_new`; the pointer must not be used afterwards (the verifier refuses any use).',
  },
  bpf_refcount_acquire_impl: {
    signature: 'void *bpf_refcount_acquire_impl(void *kptr, void *meta__ign)  // kfunc (libbpf: bpf_refcount_acquire(p))',
    body: "Takes one more reference to an object whose struct has a `struct bpf_refcount` field, and returns it (the same object) as a pointer the program owns; NULL once the object's last reference is gone. Each reference is given up with `bpf_obj_drop` or by pushing the object into a list or tree; the object is freed with its last.",
  },
  bpf_percpu_obj_new_impl: {
    signature: 'void *bpf_percpu_obj_new_impl(__u64 local_type_id__k, void *meta__ign)  // kfunc (libbpf: bpf_percpu_obj_new(type))',
    body: "Allocates a per-CPU object of a struct type of the program. The pointer cannot be dereferenced directly; store it in a map's `__percpu_kptr` field or drop it with `bpf_percpu_obj_drop`.",
  },
  bpf_percpu_obj_drop_impl: {
    signature: 'void bpf_percpu_obj_drop_impl(void *kptr, void *meta__ign)  // kfunc (libbpf: bpf_percpu_obj_drop(p))',
    body: 'Frees an object from `bpf_percpu_obj_new`.',
  },
  bpf_list_push_front_impl: {
    signature: 'int bpf_list_push_front_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta__ign, __u64 off)  // kfunc (libbpf: bpf_list_push_front(head, node))',
    body: 'Puts an object (by its `bpf_list_node` field) at the front of a list; the list owns it afterwards. Call with the `bpf_spin_lock` next to the head held. Returns 0, or -EINVAL when the node is already in a list (possible only with `bpf_refcount`): that reference is then dropped.',
  },
  bpf_list_push_back_impl: {
    signature: 'int bpf_list_push_back_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta__ign, __u64 off)  // kfunc (libbpf: bpf_list_push_back(head, node))',
    body: 'Puts an object (by its `bpf_list_node` field) at the back of a list; the list owns it afterwards. Call with the `bpf_spin_lock` next to the head held. Returns 0, or -EINVAL when the node is already in a list (possible only with `bpf_refcount`): that reference is then dropped.',
  },
  bpf_list_pop_front: {
    signature: 'struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head)  // kfunc',
    body: "Takes the first node off a list and gives it to the program (drop it or push it somewhere), or NULL when the list is empty. Use `container_of` to get the object. Call with the list's `bpf_spin_lock` held.",
  },
  bpf_list_pop_back: {
    signature: 'struct bpf_list_node *bpf_list_pop_back(struct bpf_list_head *head)  // kfunc',
    body: "Takes the last node off a list and gives it to the program (drop it or push it somewhere), or NULL when the list is empty. Call with the list's `bpf_spin_lock` held.",
  },
  bpf_list_front: {
    signature: 'struct bpf_list_node *bpf_list_front(struct bpf_list_head *head)  // kfunc',
    body: 'The first node of a list, left in the list (valid until the lock is released), or NULL when the list is empty.',
  },
  bpf_list_back: {
    signature: 'struct bpf_list_node *bpf_list_back(struct bpf_list_head *head)  // kfunc',
    body: 'The last node of a list, left in the list (valid until the lock is released), or NULL when the list is empty.',
  },
  bpf_rbtree_add_impl: {
    signature: 'int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node, bool (less)(struct bpf_rb_node *a, const struct bpf_rb_node *b), void *meta__ign, __u64 off)  // kfunc (libbpf: bpf_rbtree_add(root, node, less))',
    body: 'Inserts an object (by its `bpf_rb_node` field) into a red-black tree, calling `less(node, other)` down from the root: left when true, right otherwise, so equal keys go after the ones already there. The tree owns the object afterwards. Returns 0, or -EINVAL when the node is already in a tree (possible only with `bpf_refcount`): that reference is then dropped.',
  },
  bpf_rbtree_remove: {
    signature: 'struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root, struct bpf_rb_node *node)  // kfunc',
    body: "Takes a node out of the tree and gives it to the program, or NULL when the node is not in this tree. Call with the tree's `bpf_spin_lock` held.",
  },
  bpf_rbtree_first: {
    signature: 'struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root)  // kfunc',
    body: 'The leftmost (smallest) node of the tree, left in it, or NULL when the tree is empty.',
  },
  bpf_rbtree_root: {
    signature: 'struct bpf_rb_node *bpf_rbtree_root(struct bpf_rb_root *root)  // kfunc',
    body: "The tree's root node, left in it, or NULL when the tree is empty.",
  },
  bpf_rbtree_left: {
    signature: 'struct bpf_rb_node *bpf_rbtree_left(struct bpf_rb_root *root, struct bpf_rb_node *node)  // kfunc',
    body: "The node's left child, or NULL (also when the node is not in this tree).",
  },
  bpf_rbtree_right: {
    signature: 'struct bpf_rb_node *bpf_rbtree_right(struct bpf_rb_root *root, struct bpf_rb_node *node)  // kfunc',
    body: "The node's right child, or NULL (also when the node is not in this tree).",
  },
  bpf_wq_init: {
    signature: 'int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags)  // kfunc',
    body: 'Initialises the `struct bpf_wq` of a map value (`p__map` is that map). Returns 0, -EBUSY when it is already initialised (until the element is replaced), -EINVAL for flags other than 0.',
  },
  bpf_wq_start: {
    signature: 'int bpf_wq_start(struct bpf_wq *wq, unsigned int flags)  // kfunc',
    body: "Schedules the workqueue's callback. In XDP no callback can be set (`bpf_wq_set_callback_impl` is refused), so this returns -EINVAL.",
  },
  bpf_wq_set_callback_impl: {
    signature: 'int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (callback_fn)(void *map, int *key, void *value), unsigned int flags, void *aux__ign)  // kfunc',
    body: 'Sets the workqueue\'s callback, which runs where it may sleep. The kernel refuses it in XDP programs: "sleepable callback in a program that is not sleepable".',
  },
  bpf_cast_to_kern_ctx: {
    signature: 'void *bpf_cast_to_kern_ctx(void *obj)  // kfunc',
    body: 'The kernel\'s `struct xdp_buff` behind the program\'s `struct xdp_md` (read-only; CO-RE finds its fields): `data`, `data_end`, `data_meta`, `data_hard_start`, `frame_sz`, `flags` (1: the frame has fragments), `rxq->queue_index`, `rxq->dev->ifindex`, `->name`, `->mtu`. It follows the packet when a helper moves it. Never NULL.',
  },
  bpf_rdonly_cast: {
    signature: 'void *bpf_rdonly_cast(const void *obj__ign, u32 btf_id__k)  // kfunc',
    body: 'Treats `obj` as a read-only pointer to the kernel type `btf_id` (`bpf_core_type_id_kernel(struct T)`), e.g. `kctx->data` as a `struct ethhdr *`. Loads only; a bad address reads as zero in the kernel.',
  },
  bpf_xdp_get_xfrm_state: {
    signature: 'struct xfrm_state *bpf_xdp_get_xfrm_state(struct xdp_md *ctx, struct bpf_xfrm_state_opts *opts, u32 opts__sz)  // kfunc',
    body: 'Looks up an IPsec state (mark, daddr, spi, proto, family in `opts`); release a result with `bpf_xdp_xfrm_state_release`. NULL with `opts->error`: -ENOENT when none matches, -EINVAL for an `opts__sz` other than 36 or a `netns_id` below -1, -ENONET for an unknown namespace. XDP Lens holds no IPsec states: every lookup misses.',
  },
  bpf_xdp_xfrm_state_release: { signature: 'void bpf_xdp_xfrm_state_release(struct xfrm_state *x)  // kfunc', body: 'Drops the reference `bpf_xdp_get_xfrm_state` returned; the verifier requires it on every path.' },
  bpf_ct_release: { signature: 'void bpf_ct_release(struct nf_conn *ct)  // kfunc', body: 'Drops the reference a lookup or insert returned; the verifier requires it on every path.' },
  bpf_strcmp: { signature: 'int bpf_strcmp(const char *s1, const char *s2)  // kfunc (6.17+)', body: 'Compares two NUL-terminated strings (bytes as unsigned): -1, 0 or 1. Errors: -ERANGE for a user or NULL pointer, -EFAULT for unmapped memory, -E2BIG past 65536 bytes.' },
  bpf_strcasecmp: { signature: 'int bpf_strcasecmp(const char *s1, const char *s2)  // kfunc (6.17+)', body: 'As `bpf_strcmp`, ignoring case (the kernel also folds Latin-1 capitals): -1, 0 or 1, or a negative errno.' },
  bpf_strchr: { signature: 'int bpf_strchr(const char *s, char c)  // kfunc (6.17+)', body: 'Index of the first `c` in `s` (`c` 0 finds the terminating NUL), or -ENOENT; -ERANGE/-EFAULT/-E2BIG as `bpf_strcmp`.' },
  bpf_strchrnul: { signature: 'int bpf_strchrnul(const char *s, char c)  // kfunc (6.17+)', body: 'Index of the first `c` in `s`, or of its terminating NUL when there is none.' },
  bpf_strnchr: { signature: 'int bpf_strnchr(const char *s, size_t count, char c)  // kfunc (6.17+)', body: 'Index of the first `c` within the first `count` bytes of `s`, or -ENOENT.' },
  bpf_strrchr: { signature: 'int bpf_strrchr(const char *s, int c)  // kfunc (6.17+)', body: 'Index of the last `c` in `s`, or -ENOENT. `c` is compared with unsigned bytes: pass `(unsigned char)c`.' },
  bpf_strlen: { signature: 'int bpf_strlen(const char *s)  // kfunc (6.17+)', body: 'Length of the NUL-terminated string `s`; -ERANGE/-EFAULT/-E2BIG as `bpf_strcmp`.' },
  bpf_strnlen: { signature: 'int bpf_strnlen(const char *s, size_t count)  // kfunc (6.17+)', body: 'Length of the NUL-terminated string `s`, but at most `count`; -ERANGE/-EFAULT as `bpf_strlen`.' },
  bpf_strspn: { signature: 'int bpf_strspn(const char *s, const char *accept)  // kfunc (6.17+)', body: 'Length of the initial part of `s` made only of bytes in `accept`.' },
  bpf_strcspn: { signature: 'int bpf_strcspn(const char *s, const char *reject)  // kfunc (6.17+)', body: 'Length of the initial part of `s` made of bytes not in `reject`.' },
  bpf_strstr: { signature: 'int bpf_strstr(const char *s1, const char *s2)  // kfunc (6.17+)', body: 'Index of the first occurrence of `s2` in `s1` (0 for an empty `s2`), or -ENOENT.' },
  bpf_strnstr: { signature: 'int bpf_strnstr(const char *s1, const char *s2, size_t len)  // kfunc (6.17+)', body: 'As `bpf_strstr`, for an occurrence that ends within the first `len` bytes of `s1`.' },
  bpf_dynptr_is_null: { signature: 'bool bpf_dynptr_is_null(const struct bpf_dynptr *p)  // kfunc', body: 'True for a dynptr that failed to initialise (e.g. `bpf_dynptr_from_xdp` with flags). Only the low byte of r0 is defined after it.' },
  bpf_dynptr_is_rdonly: { signature: 'bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p)  // kfunc', body: 'True for a read-only dynptr (never for one from `bpf_dynptr_from_xdp`). Only the low byte of r0 is defined after it.' },
  bpf_dynptr_size: { signature: '__u32 bpf_dynptr_size(const struct bpf_dynptr *p)  // kfunc', body: 'The bytes the dynptr covers now (after `bpf_dynptr_adjust`); (u32)-EINVAL for a NULL dynptr.' },
  bpf_dynptr_clone: { signature: 'int bpf_dynptr_clone(const struct bpf_dynptr *p, struct bpf_dynptr *clone__uninit)  // kfunc', body: 'A second dynptr over the same data and view, to be adjusted on its own. -EINVAL (and a NULL clone) for a NULL dynptr.' },
  bpf_dynptr_copy: { signature: 'int bpf_dynptr_copy(struct bpf_dynptr *dst, __u32 dst_off, struct bpf_dynptr *src, __u32 src_off, __u32 size)  // kfunc (6.15+)', body: 'Copies `size` bytes between two dynptrs (overlap allowed), across packet fragments too. -E2BIG when a range does not fit, -EINVAL for a NULL or read-only destination.' },
  bpf_dynptr_memset: { signature: 'int bpf_dynptr_memset(struct bpf_dynptr *p, __u32 offset, __u32 size, __u8 val)  // kfunc (6.17+)', body: 'Fills `size` bytes at `offset` with `val`, across packet fragments too. -E2BIG when the range does not fit, -EINVAL for a read-only dynptr.' },
  bpf_xdp_pull_data: { signature: 'int bpf_xdp_pull_data(struct xdp_md *x, __u32 len)  // kfunc (6.18+)', body: 'Makes the first `len` bytes of a multi-buffer frame linear, copying them out of the fragments (data and metadata move into the headroom when the tailroom is short). 0 when they already are; -EINVAL past the frame\'s length or when head- and tailroom are too small. Packet pointers are invalid afterwards: reload ctx->data and ctx->data_end.' },
  bpf_iter_bits_new: { signature: 'int bpf_iter_bits_new(struct bpf_iter_bits *it, const __u64 *unsafe_ptr, __u32 nr_words)  // kfunc (libbpf: bpf_for_each(bits, ...))', body: 'Starts an iterator over the set bits of a copy of `nr_words` 64-bit words. -EINVAL for NULL or 0 words, -E2BIG over 511, -EFAULT/-ERANGE when the memory cannot be read; `bpf_iter_bits_destroy` on every path.' },
  bpf_iter_bits_next: { signature: 'int *bpf_iter_bits_next(struct bpf_iter_bits *it)  // kfunc', body: 'A pointer to the index of the next set bit, or NULL when there is none.' },
  bpf_iter_bits_destroy: { signature: 'void bpf_iter_bits_destroy(struct bpf_iter_bits *it)  // kfunc', body: 'Ends a bits iterator; the verifier requires it on every path.' },
  bpf_throw: { signature: 'void bpf_throw(__u64 cookie)  // kfunc (bpf_experimental.h: bpf_assert)', body: 'Ends the program at once, from any frame; without an exception callback of the program\'s own (`__exception_cb`, not modelled by XDP Lens) it returns `cookie` (its low 32 bits are the XDP action). The verifier refuses it while references are held.' },
  bpf_map_sum_elem_count: { signature: 's64 bpf_map_sum_elem_count(const struct bpf_map *map)  // kfunc', body: 'The number of elements of a hash map (LRU and per-CPU ones included), summed over the CPUs\' counters; 0 for maps that keep no count (arrays, tries).' },
  bpf_res_spin_lock: { signature: 'int bpf_res_spin_lock(struct bpf_res_spin_lock *lock)  // kfunc (6.15+)', body: 'Takes a resilient spin lock in a map value: 0, or -EDEADLK/-ETIMEDOUT instead of waiting forever (a lone program, as in XDP Lens, always gets it). No helper calls while it is held; unlock with `bpf_res_spin_unlock` before exit.' },
  bpf_res_spin_unlock: { signature: 'void bpf_res_spin_unlock(struct bpf_res_spin_lock *lock)  // kfunc (6.15+)', body: 'Releases a lock taken by `bpf_res_spin_lock`.' },
  bpf_res_spin_lock_irqsave: { signature: 'int bpf_res_spin_lock_irqsave(struct bpf_res_spin_lock *lock, unsigned long *flags)  // kfunc (6.15+)', body: 'As `bpf_res_spin_lock`, with local interrupts disabled and their state saved in `*flags` (a stack slot the program cannot read).' },
  bpf_res_spin_unlock_irqrestore: { signature: 'void bpf_res_spin_unlock_irqrestore(struct bpf_res_spin_lock *lock, unsigned long *flags)  // kfunc (6.15+)', body: 'Releases a lock taken by `bpf_res_spin_lock_irqsave` and restores the interrupt state.' },
  bpf_rcu_read_lock: { signature: 'void bpf_rcu_read_lock(void)  // kfunc', body: 'Starts an RCU read section (XDP programs already run in one); pair it with `bpf_rcu_read_unlock` before exit. No effect on results.' },
  bpf_rcu_read_unlock: { signature: 'void bpf_rcu_read_unlock(void)  // kfunc', body: 'Ends an RCU read section started by `bpf_rcu_read_lock`.' },
  bpf_preempt_disable: { signature: 'void bpf_preempt_disable(void)  // kfunc', body: 'Disables preemption until `bpf_preempt_enable`, which must come before exit. No effect on results.' },
  bpf_preempt_enable: { signature: 'void bpf_preempt_enable(void)  // kfunc', body: 'Re-enables preemption disabled by `bpf_preempt_disable`.' },
  bpf_local_irq_save: { signature: 'void bpf_local_irq_save(unsigned long *flags)  // kfunc', body: 'Disables local interrupts, saving their state in `*flags` (a stack slot the program cannot read); restore it before exit. No effect on results.' },
  bpf_local_irq_restore: { signature: 'void bpf_local_irq_restore(unsigned long *flags)  // kfunc', body: 'Restores the interrupt state `bpf_local_irq_save` saved.' },
  bpf_ct_set_timeout: { signature: 'void bpf_ct_set_timeout(struct nf_conn___init *ct, __u32 timeout)  // kfunc', body: 'Sets the timeout (in milliseconds) of a connection not yet inserted.' },
  bpf_ct_change_timeout: { signature: 'int bpf_ct_change_timeout(struct nf_conn *ct, __u32 timeout)  // kfunc', body: 'Restarts the timeout (in milliseconds) of a tracked connection: -EPERM with IPS_FIXED_TIMEOUT, -ETIME when it is dying.' },
  bpf_ct_set_status: { signature: 'int bpf_ct_set_status(const struct nf_conn___init *ct, __u32 status)  // kfunc', body: 'Sets IPS_* status bits of an allocated connection. -EBUSY when the new status would change EXPECTED, CONFIRMED or DYING, or clear SEEN_REPLY or ASSURED.' },
  bpf_ct_change_status: { signature: 'int bpf_ct_change_status(struct nf_conn *ct, __u32 status)  // kfunc', body: 'As `bpf_ct_set_status`, on a tracked connection: pass its status with the bits to add (it has CONFIRMED).' },
  bpf_ct_set_nat_info: {
    signature: 'int bpf_ct_set_nat_info(struct nf_conn___init *ct, union nf_inet_addr *addr, int port, enum nf_nat_manip_type manip)  // kfunc',
    body: 'Source (NF_NAT_MANIP_SRC) or destination NAT for an allocated connection: its reply tuple takes the address (and the port when > 0).',
  },
} satisfies Record<string, Doc>);
HELPER_DOCS.bpf_printk = {
  signature: '#define bpf_printk(fmt, ...)  // libbpf',
  body: 'libbpf\'s wrapper around `bpf_trace_printk` (`bpf_trace_vprintk` above three arguments). XDP Lens captures the output per packet.',
};

export const XDP_MD_FIELDS: Record<string, Doc> = {
  data: { signature: '__u32 data;  // struct xdp_md, offset 0', body: 'Start of the packet. Read it as `(void *)(long)ctx->data`; the verifier turns it into a packet pointer. Every access through it must be proven below `data_end`. Read-only: to move it use `bpf_xdp_adjust_head`.' },
  data_end: { signature: '__u32 data_end;  // struct xdp_md, offset 4', body: 'One past the last byte of the linear packet. Compare every packet pointer against it before dereferencing. Read-only: use `bpf_xdp_adjust_tail`.' },
  data_meta: { signature: '__u32 data_meta;  // struct xdp_md, offset 8', body: 'Start of the metadata area in front of the packet (equal to `data` when there is none). Read-only: use `bpf_xdp_adjust_meta`.' },
  ingress_ifindex: { signature: '__u32 ingress_ifindex;  // struct xdp_md, offset 12', body: 'Interface index the frame arrived on. Read-only.' },
  rx_queue_index: { signature: '__u32 rx_queue_index;  // struct xdp_md, offset 16', body: 'RX queue the frame arrived on (with `--queues N`, the RSS queue). Read-only.' },
  egress_ifindex: { signature: '__u32 egress_ifindex;  // struct xdp_md, offset 20', body: 'Interface the frame is sent out of: readable only by programs attached to a DEVMAP entry (`SEC("xdp/devmap")`). Read-only.' },
};

export const SECTION_DOCS: Record<string, Doc> = {
  xdp: { signature: 'SEC("xdp")', body: 'An XDP program. It sees single-buffer frames only; a driver refuses to attach it where frames can span several buffers (large MTU).' },
  'xdp.frags': { signature: 'SEC("xdp.frags")', body: 'An XDP program that accepts multi-buffer frames (`BPF_F_XDP_HAS_FRAGS`): read beyond the linear part with `bpf_xdp_load_bytes` and get the full length with `bpf_xdp_get_buff_len`.' },
  'xdp/devmap': { signature: 'SEC("xdp/devmap")', body: 'A program run on frames redirected into a DEVMAP entry, just before transmission; it may read `egress_ifindex`.' },
  'xdp/cpumap': { signature: 'SEC("xdp/cpumap")', body: 'A program run on the remote CPU for frames redirected into a CPUMAP entry, before the SKB is built.' },
  'xdp.frags/devmap': { signature: 'SEC("xdp.frags/devmap")', body: 'Like `xdp/devmap`, accepting multi-buffer frames.' },
  'xdp.frags/cpumap': { signature: 'SEC("xdp.frags/cpumap")', body: 'Like `xdp/cpumap`, accepting multi-buffer frames.' },
};

export function docMarkdown(d: Doc): string {
  return '```c\n' + d.signature + '\n```\n\n' + d.body;
}

/**
 * The longer explanation of each rule, shown on hover over a finding (the Problems panel keeps one or two sentences).
 * Facts from ../shared/reference (kernel 6.18).
 */
export const RULE_DOCS: Record<string, string> = {
  'invalid-action':
    'An XDP program must return one of XDP_ABORTED (0), XDP_DROP (1), XDP_PASS (2), XDP_TX (3) or XDP_REDIRECT (4). ' +
    'The verifier does not check the value at load time. At run time the driver calls `bpf_warn_invalid_xdp_action()`, ' +
    'which prints "Illegal XDP return value" once in the kernel log, and then handles the packet as XDP_ABORTED: dropped, ' +
    'with an `xdp:xdp_exception` trace. Constants of other program types (tc `TC_ACT_*`, socket `SK_*`, lwt `BPF_*`) are ' +
    'read by their number, so `TC_ACT_SHOT` (2) passes the packet. Negative values usually are error codes passed through.',
  'redirect-without-target':
    'XDP_REDIRECT sends the frame where the last `bpf_redirect()` or `bpf_redirect_map()` call of this run pointed. ' +
    'Without one, `xdp_do_redirect()` finds no target, the redirect fails and the driver drops the frame (an ' +
    '`xdp:xdp_redirect_err` trace). `bpf_redirect_map()` sets no target when the key is not in the map and returns the ' +
    'fallback action from its flags instead: returning its result covers both cases.',
  'tx-unmodified':
    'XDP_TX transmits the frame out of the interface it arrived on, exactly as the program left it. Unless the program ' +
    'rewrote it (swapped MAC addresses, rewritten IP/ports, an encapsulation via `bpf_xdp_adjust_head()`), the sender ' +
    'receives its own frame back. Changes made in a function the program calls count, also through pointers passed to it. ' +
    'A frame whose IP header was changed (addresses swapped for a reply, a TTL) but whose Ethernet addresses were not ' +
    'still goes out addressed to this host\'s own MAC, so no peer accepts it: swap `h_source` and `h_dest` (or set them ' +
    'from a FIB lookup) before returning XDP_TX.',
  'readonly-page-write':
    'Some drivers give the XDP program a page they cannot let it change: they build the skb by copying the headers out ' +
    'of the page (`napi_alloc_skb`) and keep the page shared. A store into the packet (or `bpf_xdp_store_bytes()`) then ' +
    'corrupts memory the driver still uses; XDP Lens models such drivers with the `readonly-page` driver mode, where the ' +
    'write faults. Drivers that give a writable page build the skb around it (`build_skb`), so rewrites reach the stack. ' +
    'XDP_TX and XDP_REDIRECT need a writable page too (the frame becomes an `xdp_frame` written into its own headroom): ' +
    'with read-only pages the driver drops such frames, so every return that can give them is reported.',
  'ctx-write':
    'Every field of `struct xdp_md` is read-only for an XDP program; the verifier refuses a store into it ("invalid ' +
    'bpf_context access"). Move the packet start or end with `bpf_xdp_adjust_head()` / `bpf_xdp_adjust_tail()`. The one ' +
    'exception is `rx_queue_index` in a program offloaded to the NIC (loaded for hardware offload, e.g. on a Netronome ' +
    'card), which may set it to pick the receive queue; XDP Lens models programs that run on the host.',
  'readonly-write':
    '`const` globals live in `.rodata`, which the loader freezes (BPF_F_RDONLY_PROG), as do maps created with that flag ' +
    'and device-map values: the verifier refuses stores into them ("write into map forbidden").',
  'unchecked-packet-access':
    'The verifier accepts a packet access only when a comparison with `data_end` on every path to it proves the bytes ' +
    'inside the packet; otherwise it refuses the program ("invalid access to packet"). That includes the bytes a helper ' +
    'reads through a packet pointer: a map key or value taken straight from a header (`&ip->daddr`) must lie inside ' +
    'the checked range, all of the map\'s key (value) size.',
  'pointer-misuse':
    'The verifier tracks which registers hold pointers and refuses what it cannot follow: arithmetic on a pointer other ' +
    'than adding or subtracting a number (a 32-bit operation, a multiplication, a bitwise operator, two pointers added), ' +
    'arithmetic on a map lookup result before its NULL check, a load through a moved ctx pointer (put the offset in the ' +
    'load), a ctx load that is not one whole 4-byte field of `struct xdp_md` (`egress_ifindex` only in devmap programs), ' +
    'reading back part of a spilled pointer ("invalid size of register fill") and a stack access that is not aligned to ' +
    'its size or not inside the 512-byte frame.',
  'stale-packet-pointer':
    '`bpf_xdp_adjust_head/tail/meta()` can move the packet, so the verifier forgets every packet pointer taken before the ' +
    'call. Reload `data`/`data_end` from `ctx` after it and check the bounds again.',
  'stale-checksum':
    'The IPv4 header carries a checksum over its own bytes. A program that changes a field (TTL, addresses, TOS, ' +
    'length) must update `check` too, incrementally (RFC 1624: `~(~old_check + ~old + new)`) or by setting it to 0 and ' +
    'summing the header again. Otherwise `ip_rcv` drops the packet after XDP_PASS, and the next hop drops it after ' +
    'XDP_TX or XDP_REDIRECT. Exchanging two fields (source and destination address) leaves the sum unchanged. ' +
    'The TCP and UDP checksums cover the ports and, through the pseudo-header, the IP addresses: a changed port (with ' +
    'or without the addresses) needs `tcp->check`/`udp->check` updated too (bpf_csum_diff, an incremental update), ' +
    'or, for UDP over IPv4, `udp->check = 0` (no checksum). Exchanging the ports keeps the sum. A changed address ' +
    'alone (NAT) is judged where the program has checked the protocol (`ip->protocol == IPPROTO_TCP`, a `case` of a ' +
    'switch on it): without that check XDP Lens does not know which checksum follows, and says nothing. ' +
    'The ICMP checksum covers the whole ICMP message and is never optional: changing the type (an echo request turned ' +
    'into a reply), the code or the identifier needs `checksum` updated, and `checksum = 0` must be followed by the sum.',
  verifier:
    'The kernel verifier refuses to load the program, for a reason none of the other rules names: the quoted words are ' +
    'the verifier\'s. Without the kernel tier the refusal is predicted by XDP Lens\'s model of the verifier, the same ' +
    'that `xdp-lens run` prints before its first packet: the 512-byte stack of a call chain, a loop past the ' +
    '1,000,000-instruction limit, a number the verifier cannot bound used as a pointer offset or a helper size (a ' +
    'length bounded in a 32-bit copy while the call is given the 64-bit value it came from is "min value is negative"), ' +
    'a helper argument it refuses wherever the call is (a map of the wrong type, a size past the stack frame), a kfunc ' +
    'it refuses, a helper this kernel does not have. A program it refuses never runs: fix this first, as later ' +
    'findings may depend on it. With the kernel tier (`check --kernel`, the `xdpLens.kernelVerifier` setting) the ' +
    'running kernel is asked too.',
  'map-arg-size':
    'A map helper reads the map\'s whole key size (and, for `bpf_map_update_elem()`, value size) from the address it is ' +
    'given. A smaller variable (`__u16 port` for a map with `struct` keys) makes the bytes after it part of the key: ' +
    'other variables, or stack never written. When they lie past the stack frame the verifier refuses the call; ' +
    'otherwise a privileged loader\'s verifier accepts it and the lookup or update uses a key the program did not build. ' +
    'Pass a variable of the map\'s key (value) type.',
  'map-value-null':
    '`bpf_map_lookup_elem()` returns NULL when the key has no entry. The verifier refuses a dereference before a NULL ' +
    "check (\"invalid mem access 'map_value_or_null'\"), except for an ARRAY lookup with a key it knows to be 0.",
};

/** What `bpf_fib_lookup()` returns (enum in linux/bpf.h), each with what an XDP program usually does about it. */
export const FIB_RESULT_DOCS: Record<string, Doc> = Object.fromEntries(
  ([
    ['SUCCESS', 'The route and the next hop were found: the params struct now holds the egress interface (`ifindex`) and the MAC addresses to write (`dmac`, `smac`). Rewrite the Ethernet header, lower the TTL, and forward with `bpf_redirect(params.ifindex, 0)`.'],
    ['BLACKHOLE', 'The route to the destination is a blackhole: the stack would drop the packet, so the program may (`XDP_DROP`).'],
    ['UNREACHABLE', 'The route says the destination is unreachable: the stack would drop the packet and answer with an ICMP error. `XDP_DROP`, or `XDP_PASS` to let the stack send that error.'],
    ['PROHIBIT', 'The route forbids forwarding there (a `prohibit` route): drop the packet, or pass it to the stack for the ICMP error.'],
    ['NOT_FWDED', 'The packet is not to be forwarded: it is for this host, or the route is not a plain unicast one. Pass it to the stack (`XDP_PASS`).'],
    ['FWD_DISABLED', 'Forwarding is turned off on the interface the packet came in on (`net.ipv4.ip_forward`, `net.ipv6.conf.*.forwarding`): pass it to the stack. Without `--routes` XDP Lens answers this (or -ENODEV), as a fresh network namespace does.'],
    ['UNSUPP_LWT', 'The route needs an encapsulation (a lightweight tunnel) that the helper does not add: pass the packet to the stack.'],
    ['NO_NEIGH', 'The route is known, but the next hop\'s MAC address is not in the neighbour table yet: pass the packet to the stack (`XDP_PASS`), which resolves it (ARP or neighbour discovery) and forwards it; later packets then succeed.'],
    ['FRAG_NEEDED', 'The packet is larger than the egress MTU, which the `mtu_result` field of the params now holds: pass it to the stack, which fragments it or answers with ICMP "packet too big".'],
    ['NO_SRC_ADDR', 'With `BPF_FIB_LOOKUP_SRC`: no source address could be chosen for the route.'],
  ] as const).map(([name, body], i) => [`BPF_FIB_LKUP_RET_${name}`, { signature: `BPF_FIB_LKUP_RET_${name} = ${i}  // a result of bpf_fib_lookup()`, body }]),
);

/**
 * Verdicts of other program types, which an XDP program may return by mistake: the driver reads them by their
 * number (values from linux/pkt_cls.h and linux/bpf.h).
 */
export const FOREIGN_VERDICT_DOCS: Record<string, Doc> = Object.fromEntries(
  ([
    ['TC_ACT_UNSPEC', -1, 'tc', 'XDP_DROP'], ['TC_ACT_OK', 0, 'tc', 'XDP_PASS'], ['TC_ACT_RECLASSIFY', 1, 'tc', undefined],
    ['TC_ACT_SHOT', 2, 'tc', 'XDP_DROP'], ['TC_ACT_PIPE', 3, 'tc', undefined], ['TC_ACT_STOLEN', 4, 'tc', 'XDP_DROP'],
    ['TC_ACT_QUEUED', 5, 'tc', undefined], ['TC_ACT_REPEAT', 6, 'tc', undefined], ['TC_ACT_REDIRECT', 7, 'tc', 'XDP_REDIRECT'],
    ['TC_ACT_TRAP', 8, 'tc', undefined], ['SK_DROP', 0, 'socket (sk_skb, sk_msg)', 'XDP_DROP'], ['SK_PASS', 1, 'socket (sk_skb, sk_msg)', 'XDP_PASS'],
  ] as const).map(([name, value, kind, meant]) => {
    const xdp = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'][value];
    const read = xdp
      ? `The XDP driver reads it by its number: ${value} is \`${xdp}\`${xdp === 'XDP_ABORTED' ? ' (the packet is dropped as an error)' : ''}.`
      : `${value} is not an XDP action: the driver drops the packet as if \`XDP_ABORTED\`, after a one-time "Illegal XDP return value" warning.`;
    return [name, { signature: `${name} = ${value}  // a ${kind} verdict, not an XDP one`, body: `A verdict of ${kind} programs. ${read}${meant ? ` In XDP, \`${meant}\` is likely meant.` : ''}` }];
  }),
);

/** The doc for a word in context: `field` is true after `->`/`.`, `section` inside SEC("..."). */
export function lookupDoc(word: string, where: { field?: boolean; section?: boolean }): Doc | undefined {
  if (where.section) return SECTION_DOCS[word] ?? (word.startsWith('xdp') ? SECTION_DOCS[word.startsWith('xdp.frags') ? 'xdp.frags' : 'xdp'] : undefined);
  if (where.field) return XDP_MD_FIELDS[word];
  return ACTION_DOCS[word] ?? HELPER_DOCS[word] ?? FIB_RESULT_DOCS[word] ?? FOREIGN_VERDICT_DOCS[word];
}
