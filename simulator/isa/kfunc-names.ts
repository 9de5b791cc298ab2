// The kernel functions (kfuncs) an XDP program may call that XDP Lens models, with what the verifier knows about them
// (kernel/bpf/verifier.c check_kfunc_call; the BTF_KFUNCS sets of net/core/xdp.c, kernel/bpf/helpers.c and
// net/netfilter/nf_conntrack_bpf.c). The loader links calls to these names, validation and the disassembler name
// them, the bytecode analysis types their results; simulator/vm/kfuncs.ts implements them.
//
// In a linked program a kfunc call is `call` with src_reg 2 (BPF_PSEUDO_KFUNC_CALL) and imm = the index of the name
// in LoadedProgram.kfuncs (where the kernel has a BTF type id).

/** What a kfunc returns, as the verifier types r0 after the call. */
export type KfuncReturn =
  | 'int'          // a scalar (0 or -errno)
  | 'u32'          // a 32-bit scalar (bpf_dynptr_size)
  | 'bool'         // 0 or 1
  | 'void'         // nothing: r0 is not readable after the call
  | 'slice'        // PTR_TO_MEM or NULL: a dynptr slice (the constant size in arg 4), an iterator's next element
  | 'nf_conn'      // PTR_TO_BTF_ID struct nf_conn (or nf_conn___init), acquired, or NULL
  | 'kptr';        // PTR_TO_BTF_ID that is never NULL, read-only (bpf_cast_to_kern_ctx, bpf_rdonly_cast)

export interface KfuncInfo {
  name: string;
  /** Number of arguments (r1..rN). */
  args: number;
  ret: KfuncReturn;
  /** Arguments that point at stack memory the kfunc writes (a dynptr to initialise, a buffer, opts). */
  writes: number[];
  /** Kernel rule: only in programs bound to a device (BPF_F_XDP_DEV_BOUND_ONLY / prog_ifindex). */
  devBound?: boolean;
  /**
   * Pointer arguments. The verifier refuses NULL or a maybe-NULL pointer in any of them ("Possibly NULL pointer
   * passed to trusted argN", N counted from 0) except the `__opt` ones in `nullable`.
   */
  ptrs: number[];
  nullable?: number[];
}

const K = (name: string, args: number, ret: KfuncReturn, writes: number[], ptrs: number[], more: { devBound?: boolean; nullable?: number[] } = {}): KfuncInfo =>
  ({ name, args, ret, writes, ptrs, ...more });

export const KFUNCS: readonly KfuncInfo[] = [
  // RX metadata (net/core/xdp.c, implemented by the driver's xdp_metadata_ops)
  K('bpf_xdp_metadata_rx_timestamp', 2, 'int', [2], [1, 2], { devBound: true }),
  K('bpf_xdp_metadata_rx_hash', 3, 'int', [2, 3], [1, 2, 3], { devBound: true }),
  K('bpf_xdp_metadata_rx_vlan_tag', 3, 'int', [2, 3], [1, 2, 3], { devBound: true }),
  // dynptr (net/core/filter.c bpf_dynptr_from_xdp; kernel/bpf/helpers.c the generic ones)
  K('bpf_dynptr_from_xdp', 3, 'int', [3], [1, 3]),
  K('bpf_dynptr_slice', 4, 'slice', [3], [1, 3], { nullable: [3] }),
  K('bpf_dynptr_slice_rdwr', 4, 'slice', [3], [1, 3], { nullable: [3] }),
  K('bpf_dynptr_adjust', 3, 'int', [1], [1]),
  K('bpf_dynptr_is_null', 1, 'bool', [], [1]),
  K('bpf_dynptr_is_rdonly', 1, 'bool', [], [1]),
  K('bpf_dynptr_size', 1, 'u32', [], [1]),
  K('bpf_dynptr_clone', 2, 'int', [2], [1, 2]),
  K('bpf_dynptr_copy', 5, 'int', [], [1, 3]),
  K('bpf_dynptr_memset', 4, 'int', [], [1]),
  // multi-buffer frames (net/core/filter.c, 6.18): pull bytes of the fragments into the linear part
  K('bpf_xdp_pull_data', 2, 'int', [], [1]),
  // open-coded numeric iterators, what libbpf's bpf_for() / bpf_repeat() expand to (kernel/bpf/bpf_iter.c)
  K('bpf_iter_num_new', 3, 'int', [1], [1]),
  K('bpf_iter_num_next', 1, 'slice', [1], [1]),
  K('bpf_iter_num_destroy', 1, 'void', [1], [1]),
  K('bpf_iter_bits_new', 3, 'int', [1], [1]),
  K('bpf_iter_bits_next', 1, 'slice', [1], [1]),
  K('bpf_iter_bits_destroy', 1, 'void', [1], [1]),
  // RCU read sections, preemption and local interrupts (kernel/bpf/helpers.c): no effect on one program's results
  // exceptions (kernel/bpf/helpers.c): ends the program, returning the cookie (no exception callback)
  K('bpf_throw', 1, 'void', [], []),
  // maps (kernel/bpf/map_iter.c)
  K('bpf_map_sum_elem_count', 1, 'u32', [], [1]), // an s64 count, at most max_entries
  K('bpf_res_spin_lock', 1, 'int', [], [1]),
  K('bpf_res_spin_unlock', 1, 'void', [], [1]),
  K('bpf_res_spin_lock_irqsave', 2, 'int', [2], [1, 2]),
  K('bpf_res_spin_unlock_irqrestore', 2, 'void', [], [1, 2]),
  K('bpf_rcu_read_lock', 0, 'void', [], []),
  K('bpf_rcu_read_unlock', 0, 'void', [], []),
  K('bpf_preempt_disable', 0, 'void', [], []),
  K('bpf_preempt_enable', 0, 'void', [], []),
  K('bpf_local_irq_save', 1, 'void', [1], [1]),
  K('bpf_local_irq_restore', 1, 'void', [], [1]),
  // conntrack (net/netfilter/nf_conntrack_bpf.c)
  K('bpf_xdp_ct_lookup', 5, 'nf_conn', [4], [1, 2, 4]),
  K('bpf_xdp_ct_alloc', 5, 'nf_conn', [4], [1, 2, 4]),
  K('bpf_ct_insert_entry', 1, 'nf_conn', [], [1]),
  K('bpf_ct_release', 1, 'void', [], [1]),
  K('bpf_ct_set_timeout', 2, 'void', [], [1]),
  K('bpf_ct_change_timeout', 2, 'int', [], [1]),
  K('bpf_ct_set_status', 2, 'int', [], [1]),
  K('bpf_ct_change_status', 2, 'int', [], [1]),
  K('bpf_ct_set_nat_info', 3, 'int', [], [1, 2]),
  // IPsec states (net/xfrm/xfrm_state_bpf.c): an acquired struct xfrm_state or NULL, released like a connection
  K('bpf_xdp_get_xfrm_state', 3, 'nf_conn', [2], [1, 2]),
  K('bpf_xdp_xfrm_state_release', 1, 'void', [], [1]),
  // program-allocated objects (kernel/bpf/helpers.c; what libbpf's bpf_obj_new() / bpf_obj_drop() call)
  K('bpf_obj_new_impl', 2, 'slice', [], [], { nullable: [2] }),
  K('bpf_obj_drop_impl', 2, 'void', [], [1], { nullable: [2] }),
  K('bpf_refcount_acquire_impl', 2, 'slice', [], [1], { nullable: [2] }),
  K('bpf_percpu_obj_new_impl', 2, 'slice', [], [], { nullable: [2] }),
  K('bpf_percpu_obj_drop_impl', 2, 'void', [], [1], { nullable: [2] }),
  // their linked lists and red-black trees (kernel/bpf/helpers.c), under the bpf_spin_lock beside the head or root;
  // the returned node pointers are NULL when the list or tree has none
  K('bpf_list_push_front_impl', 4, 'int', [], [1, 2], { nullable: [3] }),
  K('bpf_list_push_back_impl', 4, 'int', [], [1, 2], { nullable: [3] }),
  K('bpf_list_pop_front', 1, 'slice', [], [1]),
  K('bpf_list_pop_back', 1, 'slice', [], [1]),
  K('bpf_list_front', 1, 'slice', [], [1]),
  K('bpf_list_back', 1, 'slice', [], [1]),
  K('bpf_rbtree_add_impl', 5, 'int', [], [1, 2], { nullable: [4] }),
  K('bpf_rbtree_remove', 2, 'slice', [], [1, 2]),
  K('bpf_rbtree_first', 1, 'slice', [], [1]),
  K('bpf_rbtree_root', 1, 'slice', [], [1]),
  K('bpf_rbtree_left', 2, 'slice', [], [1, 2]),
  K('bpf_rbtree_right', 2, 'slice', [], [1, 2]),
  // workqueues (kernel/bpf/helpers.c) in map values; the callback setter is refused in XDP (verifier-refusals.ts)
  K('bpf_wq_init', 3, 'int', [], [1, 2]),
  K('bpf_wq_start', 2, 'int', [], [1]),
  K('bpf_wq_set_callback_impl', 4, 'int', [], [1]),
  // the kernel's own context struct and read-only casts (kernel/bpf/helpers.c): never NULL; rdonly_cast's object is `__ign`
  K('bpf_cast_to_kern_ctx', 1, 'kptr', [], [1]),
  K('bpf_rdonly_cast', 2, 'kptr', [], []),
  // read-only string kfuncs (kernel/bpf/helpers.c, 6.17): `__ign` pointers, any value passes; an index, a count or -errno
  K('bpf_strcmp', 2, 'int', [], []),
  K('bpf_strcasecmp', 2, 'int', [], []),
  K('bpf_strchr', 2, 'int', [], []),
  K('bpf_strchrnul', 2, 'int', [], []),
  K('bpf_strnchr', 3, 'int', [], []),
  K('bpf_strrchr', 2, 'int', [], []),
  K('bpf_strlen', 1, 'int', [], []),
  K('bpf_strnlen', 2, 'int', [], []),
  K('bpf_strspn', 2, 'int', [], []),
  K('bpf_strcspn', 2, 'int', [], []),
  K('bpf_strstr', 2, 'int', [], []),
  K('bpf_strnstr', 3, 'int', [], []),
];

const BY_NAME = new Map(KFUNCS.map((k) => [k.name, k]));

/** The modelled kfunc of that name, or undefined. */
export function kfuncInfo(name: string): KfuncInfo | undefined {
  return BY_NAME.get(name);
}

/** Stand-in value of `&kfunc` (bpf_ksym_exists): any non-zero value; the kernel gives a read-only PTR_TO_MEM. */
export const KFUNC_ADDRESS_BASE = 0xffff_ffff_c000_0000n;
