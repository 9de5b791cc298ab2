// --out-dir: one classic pcap per action, holding each packet as it left the program (rewrites and
// adjust_head/tail applied), and one per redirect target, so tcpdump and Wireshark can show what went where.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PcapWriter } from '../net/pcap-writer.ts';
import type { CapturedPacket } from '../net/capture.ts';
import { ACTIONS, XdpLensError } from '../session.ts';
import type { DriverPacket } from './rx.ts';

/**
 * The directory the output captures go into, created when missing; an XdpLensError naming it when it is something
 * else or cannot be made. `what` names it in the error (`--out-dir` for the CLI).
 */
export function outputDir(dir: string, what = 'the output directory'): string {
  let st;
  try {
    st = statSync(dir);
  } catch {
    try {
      // Each missing directory, outermost first, by itself: Node's recursive mkdirSync never returns where mkdir
      // answers ENOENT under a parent that exists (/proc/x): the language server hung on such a directory.
      const missing: string[] = [];
      for (let d = resolve(dir); dirname(d) !== d && !existsSync(d); d = dirname(d)) missing.push(d);
      for (const d of missing.reverse()) mkdirSync(d);
      return dir;
    } catch (e) {
      throw new XdpLensError(`${what} ${dir}: cannot create the directory: ${(e as Error).message}`);
    }
  }
  if (!st.isDirectory()) throw new XdpLensError(`${what} ${dir} is not a directory (the output captures are written into one)`);
  return dir;
}

export class OutputCaptures {
  private readonly writers = new Map<string, PcapWriter>();

  constructor(private readonly dir: string) {
    outputDir(dir);
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

  /**
   * The first write that failed (a full disk, a quota): from that packet on nothing more is written, and the run goes
   * on so that its verdicts and summary are not lost; the command reports it at the end.
   */
  failure?: { path: string; message: string };
  /** The file being written, for the failure's message. */
  private current = '';

  write(pkt: CapturedPacket, r: DriverPacket): void {
    if (this.failure) return;
    try {
      this.put(pkt, r);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.failure ??= { path: this.current, message: (e as Error).message.replace(/, write$/, '') };
    for (const w of this.writers.values()) w.abandon();
  }

  private put(pkt: CapturedPacket, r: DriverPacket): void {
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
    this.current = w.path;
    if (numeric) w.writeAt(sec, ns, frame, wireLen);
    else w.write(pkt.tsNs, frame, wireLen);
    if (r.action === 'XDP_REDIRECT' && r.target) {
      let t = this.byTarget.get(r.target);
      if (!t) {
        const safe = r.target.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
        this.byTarget.set(r.target, (t = this.writer(`xdp_redirect-${safe}.pcap`)));
      }
      this.current = t.path;
      if (numeric) t.writeAt(sec, ns, frame, wireLen);
      else t.write(pkt.tsNs, frame, wireLen);
    }
  }

  files(): string[] {
    return [...this.writers.keys()].map((n) => join(this.dir, n));
  }

  /** Write what is buffered and close the files; a failure to (a full disk) is recorded as `failure`. */
  close(): void {
    for (const w of this.writers.values()) {
      if (this.failure) break;
      this.current = w.path;
      try {
        w.close();
      } catch (e) {
        this.fail(e);
      }
    }
    for (const w of this.writers.values()) w.abandon();
  }
}
