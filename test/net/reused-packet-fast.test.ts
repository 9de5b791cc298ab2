// A reused packet (OpenCaptureOptions.reuse: one object refilled for every Ethernet pcap record) and the other packets
// made by packetWithTime keep fast (not dictionary) properties in V8, however many readers and packets are made: every
// read and write of a dictionary packet's fields is a generic lookup, per packet of a run (in the editor's 1M-packet
// run about a sixth of the server thread's samples). Their keys, order and tsNs stay those of a fresh packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, packetWithTime, type CapturedPacket } from '../../simulator/net/capture.ts';

setFlagsFromString('--allow-natives-syntax');
const fast = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

/** A classic pcap (microseconds) of `n` 60-byte Ethernet frames. */
function pcap(n: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  const recs = [h];
  for (let i = 0; i < n; i++) {
    const r = Buffer.alloc(16 + 60);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(i * 1000, 4);
    r.writeUInt32LE(60, 8);
    r.writeUInt32LE(60, 12);
    r.writeUInt16BE(0x0800, 16 + 12);
    recs.push(r);
  }
  return Buffer.concat(recs);
}

test('reused packets and packetWithTime packets have fast properties, the keys of a fresh packet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-reused-'));
  try {
    const file = join(dir, 'a.pcap');
    writeFileSync(file, pcap(5));
    const fresh = openCapture(file).next()!;
    // Several readers and packets made one after the other (a run's reader, the worker's, the server's batch packet).
    const made: CapturedPacket[] = [];
    for (let k = 0; k < 3; k++) {
      made.push(packetWithTime({ index: 0, frame: new Uint8Array(0), capLen: 0, wireLen: 0, truncated: false, linkType: 1, interfaceId: 0, tsSec: 2, tsNanos: 5 }, (p) => BigInt(p.tsSec!) * 1_000_000_000n + BigInt(p.tsNanos!) + BigInt(k)));
      for (const opts of [{ views: true, reuse: true }, { views: true, reuse: true, inPlace: true }]) {
        const r = openCapture(file, opts);
        let last: CapturedPacket | undefined;
        for (let p = r.next(); p; p = r.next()) {
          assert.ok(fast(p), `packet ${p.index} of a reused reader has fast properties`);
          last = p;
        }
        r.close();
        assert.equal(last!.index, 4);
        assert.equal(last!.tsNs, (1_700_000_000n + 4n) * 1_000_000_000n + 4_000_000n);
        assert.deepEqual(Object.keys(last!), Object.keys(fresh));
      }
    }
    for (const [k, p] of made.entries()) {
      assert.ok(fast(p), `packetWithTime packet ${k} has fast properties`);
      assert.equal(p.tsNs, 2_000_000_005n + BigInt(k));
      assert.deepEqual(Object.keys(p), Object.keys(fresh));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
