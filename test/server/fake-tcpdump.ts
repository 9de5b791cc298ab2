// A fake tcpdump for tests of Run on Live Traffic (the server's stdio tests and the in-host suite): a script that
// writes a capture to stdout a piece at a time, as tcpdump -U -w - does, and logs what it was given and what it got.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../repo.ts';

const CAPTURE = join(REPO, 'examples', 'demo.pcap');

/**
 * A fake tcpdump: writes `capture` to stdout in pieces (each record split in two writes, `delayMs` apart), writes its
 * pid, arguments and any signal into `<name>.log`, then exits 0 ('exit') or waits for a signal ('wait'); 'fail' says
 * `stderr` and exits 1 without writing anything.
 */
export function fakeTcpdump(dir: string, name: string, mode: 'exit' | 'wait' | 'fail', opts: { capture?: string; delayMs?: number; stderr?: string } = {}): { path: string; log: string } {
  const path = join(dir, name);
  const log = join(dir, `${name}.log`);
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('node:fs');
const log = (o) => fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(o) + '\\n');
log({ pid: process.pid, argv: process.argv.slice(2) });
process.on('SIGTERM', () => { log({ signal: 'SIGTERM' }); process.stderr.write('N packets captured\\n'); process.exit(0); });
const mode = ${JSON.stringify(mode)};
if (mode === 'fail') { process.stderr.write(${JSON.stringify(opts.stderr ?? '')}); process.exit(1); }
const b = fs.readFileSync(${JSON.stringify(opts.capture ?? CAPTURE)});
// The pcap records: the 24-byte header, then 16-byte record headers with the captured length at +8.
const pieces = [b.subarray(0, 24)];
for (let o = 24; o < b.length; ) { const n = 16 + b.readUInt32LE(o + 8); pieces.push(b.subarray(o, o + 10), b.subarray(o + 10, o + n)); o += n; }
let i = 0;
const next = () => {
  if (i < pieces.length) { fs.writeSync(1, pieces[i++]); setTimeout(next, ${opts.delayMs ?? 5}); return; }
  log({ wrote: 'all' });
  if (mode === 'exit') process.exit(0);
  setInterval(() => {}, 1000);
};
next();
`,
  );
  chmodSync(path, 0o755);
  return { path, log };
}

/** The fake's log: its pid and arguments first, then what it wrote and the signal it got. */
export const logOf = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid?: number; argv?: string[]; signal?: string; wrote?: string }) : []);
