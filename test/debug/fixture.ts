// The debugger tests' program (fixtures/dbg.c) and packets.
import { join } from 'node:path';
import { REPO } from '../repo.ts';
import { loadProgramFile } from '../../simulator/session.ts';
import { DEFAULT_PROFILE, PROFILES } from '../../simulator/driver/profiles.ts';
import type { EngineOptions } from '../../simulator/debug/engine.ts';

export const FIXTURE = join(REPO, 'test/debug/fixtures/dbg.c');

/** An Ethernet frame with the given EtherType and a recognisable payload. */
export function frame(proto: number, seed: number): Uint8Array {
  const f = new Uint8Array(64);
  for (let i = 0; i < f.length; i++) f[i] = (i * 7 + seed) & 0xff;
  f[12] = proto >> 8;
  f[13] = proto & 0xff;
  return f;
}

// 0: plain IPv4 (XDP_PASS), 1: tail call (XDP_DROP in `tail`), 2: fault (absent hash entry), 3: plain again.
export const PACKETS = [frame(0x0800, 1), frame(0x88b5, 2), frame(0x88b6, 3), frame(0x0800, 4)].map((f, index) => ({ index, frame: f, tsNs: BigInt(index) * 1000n }));

export function engineOptions(): EngineOptions {
  return {
    obj: loadProgramFile(FIXTURE),
    session: { program: 'entry', maps: { jmp: [{ key: '00000000', program: 'tail' }] } },
    driver: { mode: 'native', profile: PROFILES[DEFAULT_PROFILE], queues: 1 },
    packets: PACKETS,
  };
}

