// Every real capture in ../shared/captures, whole, through every driver mode with a parse-and-count program: no
// crash, every packet accounted for by exactly one per-action counter, and the program's own per-class counts
// agree with the records. Then --out-dir: the per-action and per-target captures hold the packets as they left the
// program, and tcpdump reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setup, udpFrame, noClang } from './helpers.ts';
import { openCapture, CaptureError } from '../../simulator/net/capture.ts';
import { PcapWriter } from '../../simulator/net/pcap-writer.ts';
import { OutputCaptures } from '../../simulator/driver/output.ts';
import { DRIVER_MODES } from '../../simulator/driver/profiles.ts';
import { sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const captureFiles = existsSync(CAPTURES) ? readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort() : [];
const noCaptures = captureFiles.length === 0 && `no captures under ${CAPTURES} (the shared folder is absent)`;
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;

/** Counters that each take exactly one packet's verdict. */
const VERDICT_COUNTERS = ['rx_xdp_drop', 'rx_xdp_pass', 'rx_xdp_tx', 'rx_xdp_redirect', 'rx_xdp_aborted', 'rx_xdp_tx_full', 'rx_xdp_redirect_fail'];

test('real captures are present', { skip: noCaptures }, () => {
  assert.ok(captureFiles.length >= 10, captureFiles.join(', '));
});

for (const file of captureFiles) {
  for (const mode of DRIVER_MODES) {
    test(`capture ${file} under --driver ${mode}: every packet counted once`, { skip: noClang }, () => {
      const { driver, session } = setup('parse_count.c', { mode, queues: 2 });
      const reader = openCapture(join(CAPTURES, file));
      const actions: Record<string, number> = {};
      let packets = 0;
      let err: CaptureError | undefined;
      try {
        for (;;) {
          let pkt;
          try {
            pkt = reader.next();
          } catch (e) {
            if (e instanceof CaptureError) { err = e; break; } // a capture that is truncated on purpose
            throw e;
          }
          if (!pkt) break;
          const r = driver.receive(pkt.frame, pkt.tsNs);
          assert.equal(r.fault, undefined, `packet ${pkt.index}: ${r.fault?.message}`);
          actions[r.action] = (actions[r.action] ?? 0) + 1;
          packets++;
        }
      } finally {
        reader.close();
        driver.finish();
      }
      assert.ok(packets > 0, `${file}: no packet read${err ? ` (${err.message})` : ''}`);
      const s = driver.stats();
      assert.equal(s.rx_packets, packets);
      const sum = VERDICT_COUNTERS.reduce((n, k) => n + s[k], 0);
      assert.equal(sum, packets, `${file}: ${VERDICT_COUNTERS.map((k) => `${k} ${s[k]}`).join(', ')}`);
      // The program counted each packet in one class; the classes add up to the packets too.
      const classes = session.mapsJson().classes.map((e) => Number(Buffer.from(e.value!, 'hex').readBigUInt64LE(0)));
      assert.equal(classes.reduce((a, b) => a + b, 0), packets);
      // Per action, the counters agree with the records.
      if (mode === 'native') {
        assert.equal(s.rx_xdp_drop, actions.XDP_DROP ?? 0);
        assert.equal(s.rx_xdp_pass, actions.XDP_PASS ?? 0);
        assert.equal(s.rx_xdp_tx + s.rx_xdp_tx_full, actions.XDP_TX ?? 0);
        assert.equal(s.rx_xdp_redirect + s.rx_xdp_redirect_fail, actions.XDP_REDIRECT ?? 0);
        assert.equal(s.rx_xdp_aborted, actions.XDP_ABORTED ?? 0);
      }
      if (mode === 'readonly-page') {
        // TX and REDIRECT cannot leave a read-only page: they take the exception path.
        assert.equal(s.rx_xdp_aborted, (actions.XDP_ABORTED ?? 0) + (actions.XDP_TX ?? 0) + (actions.XDP_REDIRECT ?? 0));
        assert.equal(s.rx_skb_alloc_copy, actions.XDP_PASS ?? 0);
      }
      if (mode === 'generic') {
        assert.equal(s.rx_xdp_tx, actions.XDP_TX ?? 0);
        assert.equal(s.tx_xdp_xmit, actions.XDP_TX ?? 0);
      }
    });
  }
}

function readPcap(path: string): { frames: Buffer[]; origLens: number[] } {
  const frames: Buffer[] = [];
  const origLens: number[] = [];
  const r = openCapture(path);
  for (let p = r.next(); p; p = r.next()) {
    frames.push(Buffer.from(p.frame));
    origLens.push(p.wireLen);
  }
  r.close();
  return { frames, origLens };
}

test('--out-dir: per action and per redirect target, the packets as they left the program', { skip: noClang }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-driver-out-'));
  const input = join(dir, 'in.pcap');
  const w = new PcapWriter(input);
  const sels = [1, 2, 3, 4, 5, 2, 4];
  sels.forEach((sel, i) => w.write(BigInt(i) * 1_000_000n + 1_700_000_000_000_000_000n, udpFrame(100 + i, sel)));
  w.close();

  const { driver } = setup('rewrite.c', { mode: 'native', maps: { ports: [{ key: 0, value: '02000000' }] } });
  const outputs = new OutputCaptures(join(dir, 'out'));
  const reader = openCapture(input);
  for (let p = reader.next(); p; p = reader.next()) outputs.write(p, driver.receive(p.frame, p.tsNs));
  reader.close();
  driver.finish();
  outputs.close();

  const names = readdirSync(join(dir, 'out')).sort();
  for (const a of ['xdp_aborted', 'xdp_drop', 'xdp_pass', 'xdp_redirect', 'xdp_tx']) assert.ok(names.includes(`${a}.pcap`), names.join(' '));
  const perTarget = names.filter((n) => n.startsWith('xdp_redirect-'));
  assert.deepEqual(perTarget, ['xdp_redirect-eth0.pcap', 'xdp_redirect-ports_0_-_ifindex_2.pcap']);

  const expectOut = (sel: number, i: number): Buffer => {
    const orig = Buffer.from(udpFrame(100 + i, sel));
    // adjust_head(-14) and a new Ethernet header: destination and EtherType copied, source 02:00:00:00:00:aa.
    return Buffer.concat([orig.subarray(0, 6), Buffer.from([2, 0, 0, 0, 0, 0xaa]), orig.subarray(12, 14), orig]);
  };
  const byAction: Record<string, number[]> = { xdp_drop: [0], xdp_pass: [1, 5], xdp_tx: [2], xdp_redirect: [3, 4, 6], xdp_aborted: [] };
  for (const [name, idx] of Object.entries(byAction)) {
    const { frames } = readPcap(join(dir, 'out', `${name}.pcap`));
    assert.deepEqual(frames, idx.map((i) => expectOut(sels[i], i)), name);
  }
  assert.deepEqual(readPcap(join(dir, 'out', 'xdp_redirect-ports_0_-_ifindex_2.pcap')).frames, [3, 6].map((i) => expectOut(sels[i], i)));
  assert.deepEqual(readPcap(join(dir, 'out', 'xdp_redirect-eth0.pcap')).frames, [expectOut(5, 4)]);

  if (!haveTcpdump) return;
  for (const name of names) {
    const td = spawnSync('tcpdump', ['-nn', '-e', '-r', join(dir, 'out', name)], { encoding: 'utf8' });
    assert.equal(td.status, 0, `tcpdump -r ${name}: ${td.stderr}`);
  }
  const td = spawnSync('tcpdump', ['-nn', '-e', '-r', join(dir, 'out', 'xdp_pass.pcap')], { encoding: 'utf8' });
  const lines = td.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  for (const l of lines) assert.match(l, /02:00:00:00:00:aa > 02:00:00:00:00:02/, 'tcpdump shows the rewritten header');
});

test('--out-dir: a packet the capture cut short stays marked truncated in the outputs', { skip: (noClang || noCaptures || !existsSync(join(CAPTURES, 'zeek--truncated-header.pcap'))) && 'needs clang and zeek--truncated-header.pcap' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-driver-trunc-'));
  const capture = join(CAPTURES, 'zeek--truncated-header.pcap');
  // rewrite.c prepends 14 bytes to every packet; the on-wire length grows by the same 14.
  const { driver } = setup('rewrite.c', { mode: 'native', maps: { ports: [{ key: 0, value: '02000000' }] } });
  const outputs = new OutputCaptures(dir);
  const reader = openCapture(capture);
  const wireByTs = new Map<bigint, number>();
  for (let p = reader.next(); p; p = reader.next()) {
    assert.ok(p.truncated);
    wireByTs.set(p.tsNs, p.wireLen);
    outputs.write(p, driver.receive(p.frame, p.tsNs));
  }
  reader.close();
  outputs.close();
  let written = 0;
  for (const name of readdirSync(dir).filter((n) => !n.startsWith('xdp_redirect-'))) {
    const r = openCapture(join(dir, name));
    for (let p = r.next(); p; p = r.next()) {
      assert.equal(p.wireLen, wireByTs.get(p.tsNs)! + 14, `${name} record ${p.index}: on-wire length follows the rewrite`);
      assert.ok(p.truncated, `${name} record ${p.index} is still shorter than on the wire`);
      written++;
    }
    r.close();
    if (haveTcpdump) {
      const td = spawnSync('tcpdump', ['-nn', '-r', join(dir, name)], { encoding: 'utf8' });
      assert.equal(td.status, 0, td.stderr);
    }
  }
  assert.equal(written, wireByTs.size);
});
