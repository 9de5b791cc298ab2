// Driver.receiveBatch (what `xdp-lens run` uses for the frames of a regular capture file: Machine.runBatch over many
// frames) gives packet for packet what receiveAt gives: verdict, path, outcome, note, the bytes after the program and
// the metadata length, then the same driver counters and maps; across batch boundaries, frames that end a batch
// early (faults, redirects, changed packets), programs that move the packet's bounds or write it, and read-only pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { noClang, PROGRAMS, udpFrame } from './helpers.ts';
import { Driver, NO_FRAME, type DriverPacket } from '../../simulator/driver/rx.ts';
import { PROFILES, type DriverMode } from '../../simulator/driver/profiles.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';

function seen(r: DriverPacket) {
  return {
    retval: r.retval, action: r.action, invalid: r.invalidAction, path: r.path, outcome: r.outcome, note: r.note, target: r.target, copied: r.copied,
    out: Buffer.from(r.out).toString('hex'), metaLen: r.metaLen, fault: r.fault?.kind, exit: r.run.exitInsn, line: r.run.exitLoc?.line, steps: r.run.steps,
  };
}

/** Frames whose last byte (and for adjust.c the bytes after the Ethernet header) pick what the fixture does. */
function frames(file: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const f = udpFrame([60, 64, 300, 1514, 42, 3000][i % 6], i % 8);
    if (file === 'adjust.c') {
      f[14] = i % 3;
      new DataView(f.buffer).setInt32(15, [-14, 8, -4, 20, -8, 0, 4][i % 7], true);
    }
    out.push(f);
  }
  return out;
}

for (const file of ['verdict.c', 'write.c', 'adjust.c', 'rewrite.c', 'redirect.c', 'parse_count.c']) {
  test(`receiveBatch: ${file} packet for packet as receiveAt`, { skip: noClang }, () => {
    const obj = loadProgramFile(join(PROGRAMS, file));
    for (const mode of ['native', 'readonly-page'] as DriverMode[]) {
      const make = () => {
        const session = new Session(obj, { engine: 'compiled' });
        return { session, driver: new Driver(session, { mode, profile: PROFILES.mlx5, queues: 1, reuse: true, views: true }) };
      };
      const one = make();
      const many = make();
      assert.ok(many.driver.batchable(), `${file} ${mode}: batchable`);
      const fs = frames(file);
      const want = fs.map((f, i) => seen(one.driver.receiveAt(f, 1_700_000_000 + i, i * 1000)));
      // Small batches (5 frames, or 4 KiB of bytes) so that batch boundaries fall everywhere.
      const b = many.driver.newBatch(5, 4096);
      const got: ReturnType<typeof seen>[] = [];
      const max = many.driver.batchFrameMax();
      const flush = () => many.driver.receiveBatch(b, (i, r, frame) => {
        assert.equal(Buffer.from(frame).toString('hex'), Buffer.from(fs[got.length]!).toString('hex'));
        got.push(seen(r));
      });
      fs.forEach((f, i) => {
        if (f.length > max) {
          flush();
          got.push(seen(many.driver.receiveAt(f, 1_700_000_000 + i, i * 1000)));
          return;
        }
        if (!b.room(f.length)) flush();
        b.add(f, 1_700_000_000 + i, i * 1000);
      });
      flush();
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `${file} ${mode} packet ${i}`);
      assert.deepEqual(many.driver.stats(), one.driver.stats());
      assert.deepEqual(many.session.mapsJson(), one.session.mapsJson());

      // Without views (frames and changedViews false): a packet's bytes after the program (past its metadata) are
      // its frame when unchanged, else a view or where changedOut says; the rest as receiveAt.
      const bare = make();
      const nb = bare.driver.newBatch(5, 4096);
      const gotBare: ReturnType<typeof seen>[] = [];
      let atOffsets = 0;
      const after = (r: DriverPacket, frame: Uint8Array, i: number): string => {
        const co = bare.driver.changedOut;
        if (r.out !== NO_FRAME) {
          assert.equal(co.bytes, NO_FRAME);
          return Buffer.from(r.out.subarray(r.metaLen)).toString('hex');
        }
        assert.equal(frame, NO_FRAME);
        if (co.bytes === NO_FRAME) return Buffer.from(fs[i]!).toString('hex');
        atOffsets++;
        return Buffer.from(co.bytes.subarray(co.from, co.end)).toString('hex');
      };
      const flushBare = () => bare.driver.receiveBatch(nb, (i, r, frame) => {
        gotBare.push({ ...seen(r), out: after(r, frame, gotBare.length) });
      }, false, undefined, false);
      fs.forEach((f, i) => {
        if (f.length > max) {
          flushBare();
          const r = bare.driver.receiveAt(f, 1_700_000_000 + i, i * 1000);
          gotBare.push({ ...seen(r), out: Buffer.from(r.out.subarray(r.metaLen)).toString('hex') });
          return;
        }
        if (!nb.room(f.length)) flushBare();
        nb.add(f, 1_700_000_000 + i, i * 1000);
      });
      flushBare();
      assert.equal(bare.driver.changedOut.bytes, NO_FRAME);
      assert.equal(gotBare.length, want.length);
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        assert.deepEqual(gotBare[i], { ...w, out: w.out.slice(2 * w.metaLen) }, `${file} ${mode} packet ${i} without views`);
      }
      if (mode === 'native' && file !== 'verdict.c' && file !== 'parse_count.c' && file !== 'redirect.c') assert.ok(atOffsets > 0, `${file}: changed packets at offsets`);
      assert.deepEqual(bare.driver.stats(), one.driver.stats());
    }
  });
}

test('receiveBatch: not offered for the interpreter, several queues, generic mode or RX metadata kfuncs', { skip: noClang }, () => {
  const verdict = loadProgramFile(join(PROGRAMS, 'verdict.c'));
  const opts = { mode: 'native' as DriverMode, profile: PROFILES.mlx5, queues: 1, reuse: true, views: true };
  assert.equal(new Driver(new Session(verdict, { engine: 'interp' }), opts).batchable(), false);
  assert.equal(new Driver(new Session(verdict, { engine: 'compiled', nrCpus: 2 }), { ...opts, queues: 2 }).batchable(), false);
  assert.equal(new Driver(new Session(verdict, { engine: 'compiled' }), { ...opts, mode: 'generic' }).batchable(), false);
  assert.equal(new Driver(new Session(verdict, { engine: 'compiled' }), { ...opts, reuse: false }).batchable(), false);
  assert.equal(new Driver(new Session(loadProgramFile(join(PROGRAMS, 'clock.c')), { engine: 'compiled' }), opts).batchable(), false);
});
