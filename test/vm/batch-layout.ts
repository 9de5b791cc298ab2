// The runBatch tests' packet layout: packets end to end in one buffer, with the offsets and lengths a PacketBatch takes.

/** Copies `packets` end to end into `bytes` (large enough for them all); where each starts and how long it is. */
export function layOut(bytes: Uint8Array, packets: readonly Uint8Array[]): { offset: Int32Array; length: Int32Array } {
  const offset = new Int32Array(packets.length);
  const length = new Int32Array(packets.length);
  let at = 0;
  packets.forEach((p, i) => {
    bytes.set(p, at);
    offset[i] = at;
    length[i] = p.length;
    at += p.length;
  });
  return { offset, length };
}
