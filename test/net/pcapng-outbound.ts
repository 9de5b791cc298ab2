/** One pcapng block (little-endian): type, total length, body, total length again. */
export function pcapngBlock(type: number, body: Buffer): Buffer {
  const b = Buffer.alloc(12 + body.length);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(b.length, 4);
  body.copy(b, 8);
  b.writeUInt32LE(b.length, b.length - 4);
  return b;
}

/** A little-endian section header block, version 1.0, section length unknown. */
export function pcapngSectionHeader(): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  return pcapngBlock(0x0a0d0d0a, shb);
}

// A pcapng of Ethernet frames with a direction per packet, for the tests of outgoing packets (CLI, editor, debugger,
// xdp-lens test): frames whose index is in `outbound` carry epb_flags 2 (outbound), the others 1 (inbound).
// `wireLens[i]`, when given, is frame i's length on the wire (more than its bytes: cut by the snap length).
export function pcapngWithDirections(frames: readonly Uint8Array[], outbound: ReadonlySet<number>, wireLens: readonly (number | undefined)[] = []): Buffer {
  const block = pcapngBlock;
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  const parts = [pcapngSectionHeader(), block(1, idb)];
  frames.forEach((f, i) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(1_000 + i, 8);
    fixed.writeUInt32LE(f.length, 12);
    fixed.writeUInt32LE(wireLens[i] ?? f.length, 16);
    const opt = Buffer.alloc(12);
    opt.writeUInt16LE(2, 0);
    opt.writeUInt16LE(4, 2);
    opt.writeUInt32LE(outbound.has(i) ? 2 : 1, 4);
    parts.push(block(6, Buffer.concat([fixed, Buffer.from(f), Buffer.alloc((4 - (f.length % 4)) % 4), opt])));
  });
  return Buffer.concat(parts);
}
