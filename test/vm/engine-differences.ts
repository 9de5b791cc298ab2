// The compiled engine against the reference interpreter on one program: the same packets through a Session of each,
// every run's observable result (retval, packet bytes, RunResult: exit, steps, fault, printk, ...) and the maps after
// the run compared as JSON. Returns the differences (at most 5 packets' per call), empty when the engines agree.
import assert from 'node:assert/strict';
import { loadProgramFile, Session, type SessionOptions } from '../../simulator/session.ts';
import type { LoadedObject } from '../../simulator/elf/types.ts';

const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

/** Everything observable of one packet's run, as comparable JSON. */
export function observe(s: Session, bytes: Uint8Array): string {
  const r = s.runPacket(bytes);
  return json({ retval: r.retval, out: Buffer.from(r.out).toString('hex'), run: r.run });
}

/** `program`: a loaded object, or the path of one to load. */
export function engineDifferences(program: LoadedObject | string, opts: SessionOptions, packets: Uint8Array[], label: string): string[] {
  const obj = typeof program === 'string' ? loadProgramFile(program) : program;
  const a = new Session(obj, { ...opts, engine: 'interp' });
  const b = new Session(obj, { ...opts, engine: 'compiled' });
  assert.equal(b.machine.engine, 'compiled');
  const problems: string[] = [];
  packets.forEach((p, i) => {
    const x = observe(a, p);
    const y = observe(b, p);
    if (x !== y && problems.length < 5) problems.push(`${label} packet ${i}:\n    interp   ${x.slice(0, 600)}\n    compiled ${y.slice(0, 600)}`);
  });
  const ma = JSON.stringify(a.mapsJson());
  const mb = JSON.stringify(b.mapsJson());
  if (ma !== mb) problems.push(`${label}: maps differ after the run:\n    interp   ${ma.slice(0, 400)}\n    compiled ${mb.slice(0, 400)}`);
  return problems;
}
