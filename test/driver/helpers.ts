// Shared setup for the driver-model tests: compile a fixture from test/driver/programs, wrap it in a Session and a
// Driver, and build frames whose last byte selects what the fixture does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { Driver, type DriverOptions } from '../../simulator/driver/rx.ts';
import { PROFILES, type DriverMode, type DriverProfile } from '../../simulator/driver/profiles.ts';
import { rssQueueOf } from '../../simulator/driver/rss.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { REPO } from '../repo.ts';

export const PROGRAMS = join(REPO, 'test', 'driver', 'programs');
export const haveClang = spawnSync('clang', ['--version']).status === 0;
export const noClang = !haveClang && 'clang is not installed';

export interface Setup {
  mode: DriverMode;
  profile?: DriverProfile;
  queues?: number;
  program?: string;
  maps?: unknown;
  devices?: DriverOptions['devices'];
}

export function setup(file: string, s: Setup): { session: Session; driver: Driver } {
  const obj = loadProgramFile(join(PROGRAMS, file));
  const queues = s.queues ?? 1;
  const session = new Session(obj, { program: s.program, maps: s.maps, nrCpus: queues });
  const driver = new Driver(session, {
    mode: s.mode,
    profile: s.profile ?? PROFILES.mlx5,
    queues,
    queueOf: queues > 1 ? rssQueueOf : undefined,
    devices: s.devices,
  });
  return { session, driver };
}

const MAC_A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

function csum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Ethernet + IPv4 + UDP, `len` bytes in all (at least 42), payload zero except the last byte. */
/** The frames of examples/demo.pcap (ICMP echo answered with XDP_TX, dropped and passed ones), read by the capture reader. */
export function demoFrames(): Uint8Array[] {
  const reader = openCapture(join(REPO, 'examples', 'demo.pcap'));
  const out: Uint8Array[] = [];
  try {
    for (let p = reader.next(); p; p = reader.next()) out.push(p.frame);
  } finally {
    reader.close();
  }
  return out;
}

export function udpFrame(len: number, last: number, flow: { src?: number[]; dst?: number[]; sport?: number; dport?: number } = {}): Uint8Array {
  const f = new Uint8Array(Math.max(len, 42));
  f.set(MAC_B, 0);
  f.set(MAC_A, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const ipLen = f.length - 14;
  const ip = f.subarray(14, 34);
  ip.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0]);
  ip.set(flow.src ?? [10, 0, 0, 1], 12);
  ip.set(flow.dst ?? [10, 0, 0, 2], 16);
  const c = csum(ip);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  const sport = flow.sport ?? 1234;
  const dport = flow.dport ?? 53;
  const udpLen = f.length - 34;
  f.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  f[f.length - 1] = last;
  return f;
}

/** Ethernet frame with a payload given byte by byte right after the 14-byte header, padded to `len`. */
export function ethFrame(payload: number[], len = 64): Uint8Array {
  const f = new Uint8Array(Math.max(len, 14 + payload.length));
  f.set(MAC_B, 0);
  f.set(MAC_A, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental EtherType
  f.set(payload, 14);
  return f;
}

export const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** The fixture's `.bss` image (its `out` struct starts at offset 0), read from the map dump. */
export function bss(session: Session): Buffer {
  const maps = session.mapsJson();
  const name = Object.keys(maps).find((n) => n.endsWith('.bss'));
  if (!name) throw new Error(`no .bss map among ${Object.keys(maps).join(', ')}`);
  return Buffer.from(maps[name][0].value!, 'hex');
}
