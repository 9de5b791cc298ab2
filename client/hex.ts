// The packet detail as text: a hex dump of the bytes before and after the program, changed bytes marked, then the
// executed lines, printk output and map updates. Pure (no `vscode`), rendered into a read-only virtual document.
import type { PacketDetail } from '../server/protocol.ts';
import { outputRecordLines } from './format.ts';

const BYTES_PER_ROW = 16;

function inRanges(ranges: [number, number][], i: number): boolean {
  for (const [s, e] of ranges) if (i >= s && i < e) return true;
  return false;
}

/**
 * Hex rows of 16 bytes. A row the program left alone is one line; a changed row shows the bytes before ("-") and
 * after ("+") with "^^" under each changed byte. Lengths may differ (adjust_head/tail): missing bytes are blank.
 */
export function renderHexDiff(beforeHex: string, afterHex: string, changed: [number, number][]): string[] {
  const before = beforeHex.match(/../g) ?? [];
  const after = afterHex.match(/../g) ?? [];
  const rows = Math.max(before.length, after.length);
  const out: string[] = [];
  for (let r = 0; r < rows; r += BYTES_PER_ROW) {
    const cells = (bytes: string[]) => {
      const c: string[] = [];
      for (let i = r; i < r + BYTES_PER_ROW; i++) c.push(bytes[i] ?? '  ');
      return c.join(' ').trimEnd();
    };
    const marks: string[] = [];
    let differs = false;
    for (let i = r; i < r + BYTES_PER_ROW; i++) {
      const m = i < after.length && inRanges(changed, i);
      differs ||= m || (i < before.length) !== (i < after.length);
      marks.push(m ? '^^' : '  ');
    }
    const offset = r.toString(16).padStart(4, '0');
    if (!differs) {
      out.push(`${offset}    ${cells(after)}`);
      continue;
    }
    out.push(`${offset}  - ${cells(before)}`.trimEnd());
    out.push(`      + ${cells(after)}`.trimEnd());
    if (marks.some((m) => m !== '  ')) out.push(`        ${marks.join(' ')}`.trimEnd());
  }
  return out;
}

/** Human summary of changed ranges: "bytes 0-5, 6-11, 34 changed (14 bytes)". */
export function describeChanges(changed: [number, number][], beforeLen: number, afterLen: number): string {
  const n = changed.reduce((a, [s, e]) => a + e - s, 0);
  const parts = changed.map(([s, e]) => (e - s === 1 ? `${s}` : `${s}-${e - 1}`));
  let t = n === 0 ? 'no bytes changed' : `bytes ${parts.join(', ')} changed (${n} byte${n === 1 ? '' : 's'})`;
  if (beforeLen !== afterLen) t += `; length ${beforeLen} → ${afterLen}`;
  return t;
}

/** The whole detail document. `sourceLine(n)` gives the text of source line n (1-based) when the file is open. */
export function renderPacketDetail(d: PacketDetail, sourceLine: (file: string, line: number) => string | undefined = () => undefined): string {
  const L: string[] = [];
  const base = (f: string) => f.split(/[\\/]/).pop() ?? f;
  L.push(`Packet #${d.index}  ${d.time} s  ${d.summary}`);
  if (d.error) L.push(`warning: ${d.error}`);
  L.push(`${d.action} (return value ${d.retval}) at ${base(d.file)}:${d.line}; driver path ${d.path}${d.target ? ` -> ${d.target}` : ''}`);
  if (d.outcome) L.push(`Outcome: ${d.outcome}`);
  if (d.note) L.push(`driver: ${d.note}`);
  if (d.fault) L.push(`fault ${d.fault.kind}${d.fault.line ? ` at line ${d.fault.line}` : ''}: ${d.fault.message}`);
  const u = d.uninitStackRead;
  if (u) L.push(`undefined value${u.line ? ` at line ${u.line}` : ''}: ${u.message}`);
  L.push('');
  const beforeLen = d.before.length / 2;
  const afterLen = d.after.length / 2;
  L.push(`Bytes: ${describeChanges(d.changed, beforeLen, afterLen)}`);
  L.push(...renderHexDiff(d.before, d.after, d.changed));
  L.push('');
  L.push(`printk (${d.printk.length}):`);
  for (const p of d.printk) L.push(`  ${p}`);
  L.push('');
  const records = outputRecordLines(d.records ?? []);
  L.push(`Map updates (${d.maps.length + records.length}):`);
  for (const m of d.maps) {
    const hex = `${m.map}[${m.key}]: ${m.before ?? '(none)'} -> ${m.after ?? '(deleted)'}`;
    // Decoded through the map's BTF by the server when it could, with the bytes beside it.
    L.push(m.text ? `  ${m.text}    (hex ${hex})` : `  ${hex}`);
  }
  for (const r of records) L.push(`  ${r.text}`);
  L.push('');
  L.push(`Executed lines (${d.lines.length}):`);
  for (const l of d.lines) {
    const text = sourceLine(l.file, l.line);
    L.push(`  ${base(l.file)}:${l.line}${text !== undefined ? `  ${text.trim()}` : ''}`);
  }
  return L.join('\n') + '\n';
}
