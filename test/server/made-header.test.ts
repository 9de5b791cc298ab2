// Packets whose Ethernet header the capture did not hold (raw IP, loopback, NFLOG: made up in front; Linux cooked:
// made from the cooked header) in editor runs: as `xdp-lens run` says them (test/net/capture-made-header), the summary
// counts those run (ethernetHeaderMadeUp) with the CLI's note (pointing at the packets view instead of jsonl), each
// row and packet detail says where its header came from, and the CLI table's line is the rows' note. Checked against
// the CLI's jsonl and table on generated captures (raw IP pcap; a pcapng mixing Ethernet, raw IP and cooked
// interfaces) and the shared SLL2 capture, with the run's worker thread and without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../repo.ts';
import { startServer } from './stdio-server.ts';
import type { PacketDetail, PacketsResult, RunResponse } from '../../server/protocol.ts';
import { pcapngBlock, pcapngSectionHeader } from '../net/pcapng-outbound.ts';

const CLI = join(REPO, 'dist', 'cli.js');
const PROG = join(REPO, 'examples', 'xdp_filter.c');
const SLL2 = '/work/shared/captures/zeek--linux_dlt_sll2.pcap';
const haveClang = spawnSync('clang', ['--version']).status === 0;
const skip = !existsSync(CLI) || !existsSync(join(REPO, 'dist', 'server.js')) ? 'dist/ is missing: run npm run build' : !haveClang ? 'clang is not installed' : false;

/** An IPv4/UDP datagram of 46 bytes to `port`. */
function udp(id: number, port: number): Buffer {
  const b = Buffer.alloc(46);
  b.set([0x45, 0, 0, 46, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
  b.writeUInt16BE(1234, 20);
  b.writeUInt16BE(port, 22);
  b.writeUInt16BE(26, 24);
  return b;
}
const ether = (p: Buffer) => Buffer.concat([Buffer.from('0200000000010200000000020800', 'hex'), p]);
/** A Linux cooked (v1) record of an IPv4 packet; `pkttype` 4: sent by the capturing host. */
function sll(p: Buffer, pkttype = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(pkttype, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.set([0, 0x11, 0x22, 0x33, 0x44, 0x55], 6);
  h.writeUInt16BE(0x0800, 14);
  return Buffer.concat([h, p]);
}

/** A classic pcap of link type `linkType`: records [bytes, wire length]. */
function pcap(linkType: number, recs: [Buffer, number][]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [h];
  recs.forEach(([d, wire], i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000, 0);
    r.writeUInt32LE(i * 10, 4);
    r.writeUInt32LE(d.length, 8);
    r.writeUInt32LE(wire, 12);
    parts.push(r, d);
  });
  return Buffer.concat(parts);
}

/** A pcapng of one interface per link type in `links`, then each [interface, bytes]. */
function pcapng(links: number[], packets: [number, Buffer][]): Buffer {
  const parts = [pcapngSectionHeader()];
  for (const lt of links) {
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(lt, 0);
    idb.writeUInt32LE(262144, 4);
    parts.push(pcapngBlock(1, idb));
  }
  packets.forEach(([iface, d], i) => {
    const fixed = Buffer.alloc(20);
    fixed.writeUInt32LE(iface, 0);
    fixed.writeUInt32LE(1_000 + i, 8);
    fixed.writeUInt32LE(d.length, 12);
    fixed.writeUInt32LE(d.length, 16);
    parts.push(pcapngBlock(6, Buffer.concat([fixed, d, Buffer.alloc((4 - (d.length % 4)) % 4)])));
  });
  return Buffer.concat(parts);
}

/** Raw IP records: datagrams to ports 53 and 9999, one cut by the snap length, one of no bytes (an empty frame). */
function rawRecords(): [Buffer, number][] {
  const out: [Buffer, number][] = [];
  for (let i = 0; i < 12; i++) out.push([udp(i, i % 2 ? 9999 : 53), 46]);
  out.push([udp(12, 53).subarray(0, 30), 46]);
  out.push([Buffer.alloc(0), 0]);
  return out;
}

/** Ethernet, raw IP and cooked interfaces in runs, a cooked packet sent by the capturing host among them. */
function mixed(): Buffer {
  const p: [number, Buffer][] = [];
  for (let i = 0; i < 3; i++) p.push([0, ether(udp(i, 53))]);
  for (let i = 3; i < 6; i++) p.push([1, udp(i, 9999)]);
  for (let i = 6; i < 8; i++) p.push([0, ether(udp(i, 9999))]);
  p.push([2, sll(udp(8, 53))], [2, sll(udp(9, 53), 4)], [2, sll(udp(10, 9999))]);
  p.push([1, udp(11, 53)]);
  return pcapng([1, 101, 113], p);
}

test('an editor run says which packets ran with an Ethernet header the capture did not hold, as the CLI does', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-made-header-server-'));
  try {
    const captures: [string, string][] = [];
    for (const [name, bytes] of [['raw.pcap', pcap(101, rawRecords())], ['mixed.pcapng', mixed()]] as const) {
      writeFileSync(join(dir, name), bytes);
      captures.push([name, join(dir, name)]);
    }
    if (existsSync(SLL2)) captures.push(['sll2', SLL2]);
    else console.log(`# ${SLL2} is absent: the SLL2 capture is left out`);
    for (const [name, capture] of captures) {
      const r = spawnSync(process.execPath, [CLI, 'run', PROG, capture, '--format', 'jsonl'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const cli = lines.slice(0, -1);
      const { summary } = lines.at(-1);
      assert.ok(summary.ethernetHeaderMadeUp > 0, `${name}: the CLI counts made headers`);
      const cliNote = /xdp-lens: note: (.*ran as Ethernet frames, with a 14-byte Ethernet header.*)/.exec(r.stderr)?.[1];
      assert.ok(cliNote, r.stderr);
      const table = spawnSync(process.execPath, [CLI, 'run', PROG, capture], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const tableNotes = new Set([...table.stdout.matchAll(/^ {8}(captured as .*) \(README "Captures"\)$/gm)].map((m) => m[1]));
      assert.ok(tableNotes.size > 0, table.stdout);
      for (const worker of ['never', '0']) {
        const at = `${name}, worker ${worker}`;
        const s = await startServer(() => ({}), {}, { XDP_LENS_RUN_WORKER: worker });
        try {
          const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROG).href, capture });
          assert.ok(run.summary, run.error);
          const sum = run.summary;
          assert.equal(sum.packets, summary.packets, at);
          assert.equal(sum.ethernetHeaderMadeUp, summary.ethernetHeaderMadeUp, at);
          assert.equal(sum.linkNote, cliNote.replace('jsonl "ethernetHeader"', 'marked in the packets view'), at);
          const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 0, limit: 1000 });
          assert.equal(page.rows.length, cli.length, at);
          const notes = new Set<string>();
          for (const [i, c] of cli.entries()) {
            const row = page.rows[i]!;
            assert.equal(row.notRun, c.notRun, `${at}: packet ${i}`);
            assert.equal(row.ethernetHeader, c.ethernetHeader, `${at}: packet ${i}`);
            if (c.ethernetHeader) {
              assert.match(row.ethernetHeaderNote!, new RegExp(`^captured as .*[( ]${c.linkType}\\): Ethernet header made`), `${at}: packet ${i}`);
              notes.add(row.ethernetHeaderNote!);
            } else assert.equal(row.ethernetHeaderNote, undefined, `${at}: packet ${i}`);
          }
          assert.deepEqual([...notes].sort(), [...tableNotes].sort(), `${at}: the rows' notes are the table's`);
          // Said once above the rows when every row has the same one (a cooked or raw IP capture), else on the rows.
          const kinds = new Set(cli.map((c) => (c.ethernetHeader ? `${c.linkType} ${c.ethernetHeader}` : '')));
          assert.equal(sum.everyRowEthernetHeader, kinds.size === 1 && !kinds.has('') ? [...notes][0] : undefined, `${at}: the note for every row`);
          // A page from the middle says the same of the same packets; so does a packet's detail.
          const mid = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: sum.runId, offset: 3, limit: 5 });
          assert.deepEqual(mid.rows.map((x) => [x.index, x.ethernetHeader]), cli.slice(3, 8).map((c) => [c.packet, c.ethernetHeader]), at);
          for (const c of cli.filter((x) => !x.notRun).slice(0, 6)) {
            const d = await s.conn.sendRequest<PacketDetail>('xdpLens/packet', { runId: sum.runId, index: c.packet });
            assert.equal(d.error, undefined, at);
            assert.equal(d.ethernetHeader, c.ethernetHeader, `${at}: detail of packet ${c.packet}`);
            assert.equal(d.ethernetHeaderNote, page.rows[c.packet]!.ethernetHeaderNote, `${at}: detail of packet ${c.packet}`);
          }
        } finally {
          await s.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an editor run of Ethernet frames says nothing of made headers', { skip, timeout: 60_000 }, async () => {
  const s = await startServer(() => ({}), {}, {});
  try {
    const run = await s.conn.sendRequest<RunResponse>('xdpLens/run', { uri: pathToFileURL(PROG).href, capture: join(REPO, 'examples', 'demo.pcap') });
    assert.ok(run.summary, run.error);
    assert.equal(run.summary.ethernetHeaderMadeUp, undefined);
    assert.equal(run.summary.linkNote, undefined);
    assert.equal(run.summary.everyRowEthernetHeader, undefined);
    const page = await s.conn.sendRequest<PacketsResult>('xdpLens/packets', { runId: run.summary.runId, offset: 0, limit: 100 });
    assert.ok(page.rows.length > 0 && page.rows.every((x) => x.ethernetHeader === undefined && x.ethernetHeaderNote === undefined));
  } finally {
    await s.stop();
  }
});
