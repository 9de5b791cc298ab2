// --out-dir: one classic pcap per action, holding each packet as it left the program (rewrites and
// adjust_head/tail applied), and one per redirect target, so tcpdump and Wireshark can show what went where.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PcapWriter } from '../net/pcap-writer.ts';
import type { CapturedPacket } from '../net/capture.ts';
import { ACTIONS } from '../session.ts';
import type { DriverPacket } from './rx.ts';

export class OutputCaptures {
  private readonly writers = new Map<string, PcapWriter>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const a of ACTIONS) this.writer(`${a.toLowerCase()}.pcap`);
  }

  private writer(name: string): PcapWriter {
    let w = this.writers.get(name);
    if (!w) {
      w = new PcapWriter(join(this.dir, name));
      this.writers.set(name, w);
    }
    return w;
  }

  /** The writer of each action, by its name (no file name built per packet). */
  private readonly byAction = new Map<string, PcapWriter>();
  /** The writer of each redirect target. */
  private readonly byTarget = new Map<string, PcapWriter>();

  write(pkt: CapturedPacket, r: DriverPacket): void {
    const frame = r.metaLen ? r.out.subarray(r.metaLen) : r.out;
    // A frame the capture cut short stays marked as such: its length on the wire changes by what the program
    // added or removed, and the bytes the snap length dropped are still missing.
    const wireLen = pkt.truncated ? Math.max(frame.length, pkt.wireLen - pkt.capLen + frame.length) : frame.length;
    let w = this.byAction.get(r.action);
    if (!w) this.byAction.set(r.action, (w = this.writer(`${r.action.toLowerCase()}.pcap`)));
    // The capture's numeric timestamp when it has one (the same seconds and nanoseconds as tsNs), else tsNs.
    const sec = pkt.tsSec;
    const ns = pkt.tsNanos;
    const numeric = sec !== undefined && ns !== undefined && ns < 1_000_000_000;
    if (numeric) w.writeAt(sec, ns, frame, wireLen);
    else w.write(pkt.tsNs, frame, wireLen);
    if (r.action === 'XDP_REDIRECT' && r.target) {
      let t = this.byTarget.get(r.target);
      if (!t) {
        const safe = r.target.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
        this.byTarget.set(r.target, (t = this.writer(`xdp_redirect-${safe}.pcap`)));
      }
      if (numeric) t.writeAt(sec, ns, frame, wireLen);
      else t.write(pkt.tsNs, frame, wireLen);
    }
  }

  files(): string[] {
    return [...this.writers.keys()].map((n) => join(this.dir, n));
  }

  close(): void {
    for (const w of this.writers.values()) w.close();
  }
}
