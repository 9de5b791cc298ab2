// Captures made to cost memory: a pcapng section describing interface after interface. Each interface is kept while
// its section is read, so a section may describe at most MAX_INTERFACES; one more is a CaptureError naming the file
// and the block's offset, after the packets before it were handed out. (3,000,000 interface blocks, 60 MB, made the
// CLI hold 476 MB.) Keeping a packet's context (the packets view keeps every 64th) shares the section's list instead
// of copying it, and seeking back with one still reads the interfaces described after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, CaptureError, MAX_INTERFACES } from '../../simulator/net/capture.ts';
import { pcapngBlock, pcapngSectionHeader } from './pcapng-outbound.ts';

function idb(linkType: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(linkType, 0);
  return pcapngBlock(1, b);
}
function epb(iface: number, frame: Buffer): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(iface, 0);
  fixed.writeUInt32LE(frame.length, 12);
  fixed.writeUInt32LE(frame.length, 16);
  return pcapngBlock(6, Buffer.concat([fixed, frame, Buffer.alloc((4 - (frame.length % 4)) % 4)]));
}
const frame = (n: number) => Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]), Buffer.alloc(46, n & 0xff)]);

test('a section describing more interfaces than the limit is refused at the block that passes it, after its packets', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'interfaces.pcapng');
  const one = idb(1);
  const head = Buffer.concat([pcapngSectionHeader(), one, epb(0, frame(1))]);
  writeFileSync(path, Buffer.concat([head, Buffer.alloc(one.length * MAX_INTERFACES, one), epb(5, frame(2))]));
  const r = openCapture(path);
  assert.equal(r.next()?.frame[20], 1);
  assert.throws(() => r.next(), (e: unknown) => {
    assert.ok(e instanceof CaptureError);
    assert.equal(e.message, `${path}: byte offset ${head.length + one.length * (MAX_INTERFACES - 1)}: section 0 describes more than ${MAX_INTERFACES} interfaces (the limit; a corrupt or hostile capture?)`);
    return true;
  });
  // Exactly the limit is read.
  writeFileSync(path, Buffer.concat([head, Buffer.alloc(one.length * (MAX_INTERFACES - 1), one), epb(MAX_INTERFACES - 1, frame(2))]));
  const r2 = openCapture(path);
  assert.equal(r2.next()?.frame[20], 1);
  assert.equal(r2.next()?.interfaceId, MAX_INTERFACES - 1);
  assert.equal(r2.next(), undefined);
});

test('a kept context still seeks back right when interfaces are described after it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'interleaved.pcapng');
  // Interface k (link type Ethernet or raw IP alternately) is described just before packet k, which is on it.
  const parts = [pcapngSectionHeader()];
  const raw = Buffer.from([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  for (let k = 0; k < 200; k++) parts.push(idb(k % 2 ? 101 : 1), epb(k, k % 2 ? raw : frame(k)));
  writeFileSync(path, Buffer.concat(parts));
  const r = openCapture(path);
  const seen: { offset: number; context: object; iface: number; len: number }[] = [];
  // Read to the last packet only: a reader that reached the end is closed and cannot seek.
  for (let k = 0; k < 200; k++) {
    const p = r.next()!;
    seen.push({ offset: r.recordOffset, context: r.context, iface: p.interfaceId, len: p.frame.length });
  }
  for (const at of [150, 3, 199, 0, 77]) {
    assert.ok(r.seek(seen[at]!.offset, at, seen[at]!.context));
    for (let k = at; k < 200; k++) {
      const p = r.next();
      assert.equal(p?.interfaceId, k, `from ${at}`);
      assert.equal(p?.frame.length, seen[k]!.len);
    }
  }
  assert.equal(r.next(), undefined);
  r.close();
});
