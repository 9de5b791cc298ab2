// Packet bytes in and out of an xdp_buff across its linear part and fragments (the kernel's bpf_xdp_copy_buf), for
// the load/store helpers and the dynptr kfuncs alike.
import type { XdpBuff } from '../types.ts';

/** Copy `len` packet bytes starting at `off` (linear part then frags) into or out of `buf` (bpf_xdp_copy_buf). */
export function copyPacket(b: XdpBuff, off: number, buf: Uint8Array, toPacket: boolean): void {
  const chunks: Uint8Array[] = [b.frame.subarray(b.data, b.dataEnd), ...b.frags];
  let pos = 0; // packet offset where the current chunk starts
  let done = 0;
  for (const chunk of chunks) {
    const want = off + done;
    if (done < buf.length && want >= pos && want < pos + chunk.length) {
      const start = want - pos;
      const n = Math.min(chunk.length - start, buf.length - done);
      if (toPacket) chunk.set(buf.subarray(done, done + n), start);
      else buf.set(chunk.subarray(start, start + n), done);
      done += n;
    }
    pos += chunk.length;
  }
}

/**
 * x86-64's copy_from_kernel_nofault_allowed for an address the simulator has no memory at: user addresses (below
 * TASK_SIZE_MAX + one page), non-canonical ones (4-level paging) and the vsyscall page are refused (the callers'
 * -ERANGE); any other kernel address is tried and faults (-EFAULT).
 */
export function kernelNofaultAllowed(addr: bigint): boolean {
  const a = BigInt.asUintN(64, addr);
  if (a < 0xffff800000000000n) return false;
  return (a & ~0xfffn) !== 0xffffffffff600000n;
}
