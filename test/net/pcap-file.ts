// A classic little-endian microsecond pcap (Ethernet unless told) of whole frames, for tests that need a capture file.

export interface PcapRecord {
  data: Uint8Array;
  sec: number;
  usec?: number;
}

export function classicPcap(records: readonly PcapRecord[], linkType = 1, snapLength = 0xffff): Buffer {
  const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000000000000', 'hex');
  header.writeUInt32LE(snapLength, 16);
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  for (const r of records) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(r.sec, 0);
    rec.writeUInt32LE(r.usec ?? 0, 4);
    rec.writeUInt32LE(r.data.length, 8);
    rec.writeUInt32LE(r.data.length, 12);
    parts.push(rec, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}
