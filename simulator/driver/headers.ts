// How many bytes of a frame are headers: what eth_get_headlen tells a driver that copies headers into a new skb
// (net/ethernet/eth.c eth_get_headlen: the basic flow dissector with FLOW_DISSECTOR_F_PARSE_1ST_FRAG, then
// __skb_get_poff for the transport header).
//
// Covered as the dissector covers them: any number of 802.1Q/802.1ad tags; IPv4 (options by IHL) and IPv6 with
// hop-by-hop, routing, destination-options and fragment headers; IP-in-IP and IPv6-in-IP; GRE version 0 without
// routing (checksum, key and sequence fields; transparent Ethernet bridging continues into the inner frame); GRE
// version 1 (PPTP), MPLS and PPPoE are not followed and stop at their header. Then the transport header
// as __skb_get_poff counts it: TCP by its data offset (at least 20), UDP and UDP-Lite 8, ICMP 8, ICMPv6 8, IGMP 8,
// DCCP 16, SCTP 12, anything else 0. A non-first fragment stops after the network headers. Where the dissector gives
// up (an unknown EtherType, a header cut short, IHL below 5) the answer is the offset it reached, at least the
// 14-byte Ethernet header; the answer never exceeds the frame.

const ETH_HLEN = 14;

/** Bytes __skb_get_poff adds for the transport header of `proto` (TCP is handled apart, by its data offset). */
const L4_FIXED: Record<number, number> = {
  1: 8, // ICMP: struct icmphdr
  2: 8, // IGMP: struct igmphdr
  17: 8, // UDP
  33: 16, // DCCP: struct dccp_hdr
  58: 8, // ICMPv6: struct icmp6hdr
  132: 12, // SCTP: struct sctphdr
  136: 8, // UDP-Lite
};

export function headerLength(f: Uint8Array): number {
  if (f.length < ETH_HLEN) return f.length;
  const u16 = (o: number) => (o + 2 <= f.length ? (f[o] << 8) | f[o + 1] : -1);
  const done = (off: number) => Math.min(Math.max(off, ETH_HLEN), f.length);
  let off = ETH_HLEN;
  let type = u16(12);
  for (let depth = 0; depth < 8; depth++) { // bounded like the dissector's own recursion limit
    while (type === 0x8100 || type === 0x88a8) {
      if (off + 4 > f.length) return done(off);
      type = u16(off + 2);
      off += 4;
    }
    let proto: number;
    let firstFrag = true;
    if (type === 0x0800) {
      if (off + 20 > f.length) return done(off);
      const ihl = (f[off] & 0x0f) * 4;
      if (ihl < 20) return done(off);
      firstFrag = (u16(off + 6) & 0x1fff) === 0;
      proto = f[off + 9];
      off += ihl;
    } else if (type === 0x86dd) {
      if (off + 40 > f.length) return done(off);
      proto = f[off + 6];
      off += 40;
      for (;;) {
        if (proto === 0 || proto === 43 || proto === 60) { // hop-by-hop, routing, destination options
          if (off + 2 > f.length) return done(off);
          const next = f[off];
          off += (f[off + 1] + 1) * 8;
          proto = next;
        } else if (proto === 44) { // fragment header: only the first fragment carries the transport header
          if (off + 8 > f.length) return done(off);
          firstFrag = (u16(off + 2) & 0xfff8) === 0;
          proto = f[off];
          off += 8;
          if (!firstFrag) return done(off);
        } else break;
      }
    } else {
      return done(off);
    }
    if (!firstFrag) return done(off);
    // Encapsulations the dissector follows (it is not told to stop at them).
    if (proto === 4) { type = 0x0800; continue; }
    if (proto === 41) { type = 0x86dd; continue; }
    if (proto === 47) {
      const flags = u16(off);
      const gproto = u16(off + 2);
      // Routing present, or version 1 (PPTP) and above: the dissector stops at the GRE header.
      if (flags < 0 || gproto < 0 || (flags & 0x4000) !== 0 || (flags & 0x0007) !== 0) return done(off);
      off += 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
      if (gproto === 0x6558) { // transparent Ethernet bridging: an inner Ethernet header follows
        if (off + ETH_HLEN > f.length) return done(off);
        type = u16(off + 12);
        off += ETH_HLEN;
      } else type = gproto;
      continue;
    }
    if (proto === 6) {
      // __skb_get_poff reads only the data-offset byte; a header cut short after it still counts whole.
      if (off + 13 > f.length) return done(off);
      return done(off + Math.max(20, (f[off + 12] >> 4) * 4));
    }
    return done(off + (L4_FIXED[proto] ?? 0));
  }
  return done(off);
}
