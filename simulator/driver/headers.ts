// How many bytes of a frame are headers: what eth_get_headlen tells a driver that copies headers into a new skb.
// Ethernet, any number of 802.1Q/802.1ad tags, IPv4 (with options) or IPv6 (with extension headers), TCP or UDP.

export function headerLength(f: Uint8Array): number {
  const u16 = (o: number) => (o + 2 <= f.length ? (f[o] << 8) | f[o + 1] : -1);
  let off = 12;
  let type = u16(off);
  off += 2;
  while (type === 0x8100 || type === 0x88a8) {
    type = u16(off + 2);
    off += 4;
  }
  let proto = -1;
  if (type === 0x0800 && off + 20 <= f.length) {
    const ihl = (f[off] & 0x0f) * 4;
    const fragOff = u16(off + 6) & 0x1fff;
    proto = fragOff === 0 ? f[off + 9] : -1;
    off += Math.max(ihl, 20);
  } else if (type === 0x86dd && off + 40 <= f.length) {
    let next = f[off + 6];
    off += 40;
    // Hop-by-hop, routing, destination options: length in 8-byte units after the first 8 bytes.
    while ((next === 0 || next === 43 || next === 60) && off + 8 <= f.length) {
      const n = f[off];
      off += (f[off + 1] + 1) * 8;
      next = n;
    }
    if (next === 44 && off + 8 <= f.length) { // fragment header: only the first fragment carries L4
      const n = f[off];
      const first = (u16(off + 2) & 0xfff8) === 0;
      off += 8;
      next = first ? n : -1;
    }
    proto = next;
  } else {
    return Math.min(off, f.length);
  }
  if (proto === 6 && off + 20 <= f.length) off += Math.max(20, (f[off + 12] >> 4) * 4);
  else if (proto === 17 && off + 8 <= f.length) off += 8;
  return Math.min(off, f.length);
}
