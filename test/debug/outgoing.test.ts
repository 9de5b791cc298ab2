// The debugger on a capture holding packets the capturing host sent (pcapng epb_flags outbound; tcpdump -i any's
// cooked packet type 4): as `xdp-lens run`, it runs only the received ones. readPackets leaves the outgoing packets out
// (and counts them), packets keep their capture numbers (what the debugger shows and `packet` in a condition means),
// a launch naming an outgoing packet is refused with the reason, and the maps carried from packet to packet are those
// of the received packets alone (the fixture's counts map counts the packets run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugEngine, DebugError, readPackets } from '../../simulator/debug/engine.ts';
import { engineOptions, frame } from './fixture.ts';
import { pcapngWithDirections as pcapng } from '../net/pcapng-outbound.ts';


test('the debugger runs only received packets, numbered as in the capture; an outgoing one named at launch is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-debug-outgoing-'));
  try {
    const capture = join(dir, 'c.pcapng');
    // Plain IPv4 frames (XDP_PASS in the fixture): 0, 2, 3 and 6 sent by the host.
    const outbound = new Set([0, 2, 3, 6]);
    writeFileSync(capture, pcapng(Array.from({ length: 8 }, (_, i) => frame(0x0800, i + 1)), outbound));
    const packets = await readPackets(capture);
    assert.deepEqual(packets.map((p) => p.index), [1, 4, 5, 7]);
    assert.equal(packets.outgoing, 4);

    const e = new DebugEngine({ ...engineOptions(), packets });
    assert.throws(() => e.selectPacket(2), (err: Error) => err instanceof DebugError && /packet 2 was sent by the capturing host \(outgoing\)/.test(err.message));
    assert.throws(() => e.selectPacket('8'), /the capture has packets 0 to 7/);
    assert.equal(e.selectPacket(5), 2);
    assert.equal(e.packet(e.selectPacket('first XDP_PASS')).index, 1);

    // The counts map holds the number of packets run so far: the received ones only.
    for (let p = 0; p < packets.length; p++) {
      const end = e.goto(p, Number.MAX_SAFE_INTEGER);
      assert.ok(end.ended);
      assert.equal(end.result.action, 'XDP_PASS');
      const counts = end.regions.find((x) => x.name === 'value of map counts');
      assert.ok(counts, `packet ${packets[p]!.index}: counts value in the snapshot`);
      assert.equal(new DataView(counts.bytes.buffer, counts.bytes.byteOffset).getBigUint64(0, true), BigInt(p + 1));
    }

    // `packet` in a condition is the capture number: the breakpoint stops at packet 5 (the third run), never at an
    // outgoing one.
    const f = new DebugEngine({ ...engineOptions(), packets });
    f.setFunctionBreakpoints([{ name: 'entry', condition: 'packet == 5 || packet == 6' }]);
    const hit = f.continue(0);
    assert.ok(hit);
    assert.equal(f.packet(hit.packet).index, 5);
    assert.equal(f.continue(), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a capture whose packets were all sent by the capturing host has nothing to debug, and says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-debug-outgoing-'));
  try {
    const capture = join(dir, 'c.pcapng');
    writeFileSync(capture, pcapng([frame(0x0800, 1), frame(0x0800, 2)], new Set([0, 1])));
    const packets = await readPackets(capture);
    assert.equal(packets.length, 0);
    assert.equal(packets.outgoing, 2);
    assert.throws(() => new DebugEngine({ ...engineOptions(), packets }), /no packets to debug \(none received: packets the capturing host sent are not run\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
