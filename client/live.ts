// Run on Live Traffic, the parts with no `vscode` import: the interfaces a user can capture on, as the interface picker
// lists them, and the line that says how a live run ended.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '../server/protocol.ts';

export interface NetInterface {
  name: string;
  /** operstate: up, down, unknown (loopback and many virtual devices say unknown while they work), ... */
  state: string;
  mac?: string;
  loopback: boolean;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/**
 * The network interfaces of this machine from sysfs (`/sys/class/net`), those that are up first, loopback last; empty
 * when sysfs cannot be read (not Linux, a container without it).
 */
export function listInterfaces(sysClassNet = '/sys/class/net'): NetInterface[] {
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return [];
  }
  const list = names
    .filter((n) => !n.startsWith('.') && read(join(sysClassNet, n, 'type')) !== undefined)
    .map((name) => {
      const mac = read(join(sysClassNet, name, 'address'));
      return {
        name,
        state: read(join(sysClassNet, name, 'operstate')) ?? 'unknown',
        ...(mac && mac !== '00:00:00:00:00:00' ? { mac } : {}),
        // ARPHRD_LOOPBACK
        loopback: read(join(sysClassNet, name, 'type')) === '772',
      };
    });
  const rank = (i: NetInterface) => (i.loopback ? 2 : i.state === 'up' ? 0 : 1);
  return list.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** What a user is told when a live run ends: why, how many packets, where the traffic was recorded. */
export function liveEndMessage(s: Pick<RunSummary, 'packets' | 'live' | 'captureError' | 'capture'>): string {
  const n = `${s.packets} packet${s.packets === 1 ? '' : 's'}`;
  const broken = s.captureError ? `; the capture from tcpdump was broken: ${s.captureError}` : '';
  return `XDP: live run on ${s.live?.interface ?? '?'}: ${s.live?.stopped ?? 'stopped'} (${n}${broken}). The traffic is recorded in ${s.capture}.`;
}
