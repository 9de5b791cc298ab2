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
