// The run-time side of stale-checksum (simulator/analysis/checksum.ts) against tcpdump, which verifies every IPv4,
// TCP, UDP, ICMP and ICMPv6 checksum it prints ("bad cksum X (->Y)!", "cksum 0xX (incorrect -> 0xY)", "(correct)"): frames
// from the shared captures, changed as XDP programs change them (TTL, a port), must be judged valid or not exactly as
// tcpdump judges them, with the checksum tcpdump says they should hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumBreaks } from '../../simulator/analysis/checksum.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { REPO, sharedPath } from '../repo.ts';

const CAPTURES = sharedPath('captures');
const FILES = ['tcpdump--tcp-handshake-nano.pcap', 'zeek--dns-edns-ecs.pcap', 'tcpdump--802.1ad_QinQ.pcap', 'zeek--get-to-ssh-server.pcap'];
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const skip = !haveTcpdump ? 'tcpdump is not installed' : !existsSync(CAPTURES) ? `${CAPTURES} is absent` : false;

function frames(file: string, max = 40): Uint8Array[] {
  const r = openCapture(join(CAPTURES, file));
  const out: Uint8Array[] = [];
  try {
    for (let p = r.next(); p && out.length < max; p = r.next()) if (!p.truncated) out.push(p.frame.slice());
  } finally {
    r.close();
  }
  return out;
}

function pcap(list: Uint8Array[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  const parts = [head];
  for (const f of list) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

/** tcpdump's verdicts per packet: for `ip` and the transport layer, valid or the checksum it should hold. */
function tcpdumpVerdicts(list: Uint8Array[]): { ip?: string; l4?: string; l4ok?: boolean }[] {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-csum-'));
  const path = join(dir, 'f.pcap');
  writeFileSync(path, pcap(list));
  const r = spawnSync('tcpdump', ['-nn', '-vv', '-tt', '-r', path], { encoding: 'utf8' });
  const text = r.stdout.replace(/\n\s+/g, ' ');
  return text.split('\n').filter((l) => l.trim()).map((l) => {
    const ip = /bad cksum [0-9a-f]+ \(->([0-9a-f]+)\)!/.exec(l)?.[1];
    const bad = /cksum 0x[0-9a-f]+ \(incorrect -> 0x([0-9a-f]+)\)/.exec(l)?.[1] ?? /\[bad (?:udp|icmp6) cksum 0x[0-9a-f]+ -> 0x([0-9a-f]+)!\]/.exec(l)?.[1];
    const good = /cksum 0x[0-9a-f]+ \(correct\)|\[(?:udp|icmp6) sum ok\]/.test(l);
    return { ip, l4: bad, l4ok: bad ? false : good ? true : undefined };
  });
}

test('ttl and port rewrites: broken checksums found as tcpdump finds them, with the value it expects', { skip }, () => {
  let checked = 0;
  for (const file of FILES) {
    const originals = frames(file);
    const changed = originals.map((f) => {
      const c = f.slice();
      let off = 14;
      let proto = (c[12]! << 8) | c[13]!;
      while ((proto === 0x8100 || proto === 0x88a8) && off + 4 <= c.length) {
        proto = (c[off + 2]! << 8) | c[off + 3]!;
        off += 4;
      }
      if (proto === 0x0800 && c.length >= off + 20) {
        c[off + 8] = (c[off + 8]! - 1) & 0xff; // ip->ttl--
        const l4 = off + (c[off]! & 15) * 4;
        if ((c[off + 9] === 6 || c[off + 9] === 17) && c.length >= l4 + 2) c[l4 + 1] ^= 0x5a; // source port
      }
      return c;
    });
    const before = tcpdumpVerdicts(originals);
    const after = tcpdumpVerdicts(changed);
    assert.equal(after.length, changed.length, `${file}: one tcpdump line per packet`);
    changed.forEach((c, i) => {
      const breaks = checksumBreaks(originals[i]!, c);
      const ip = breaks.find((b) => b.layer === 'ipv4');
      const l4 = breaks.find((b) => b.layer !== 'ipv4');
      const wasIpOk = before[i]!.ip === undefined;
      if (after[i]!.ip !== undefined && wasIpOk) {
        assert.ok(ip, `${file} #${i}: tcpdump says the IPv4 checksum broke`);
        assert.equal(ip.expected, `0x${after[i]!.ip!.padStart(4, '0')}`, `${file} #${i}: expected IPv4 checksum`);
        checked++;
      } else assert.equal(ip, undefined, `${file} #${i}: no IPv4 break unless tcpdump sees one`);
      if (after[i]!.l4ok === false && before[i]!.l4ok === true) {
        assert.ok(l4, `${file} #${i}: tcpdump says the transport checksum broke`);
        assert.equal(l4.expected, `0x${after[i]!.l4!.padStart(4, '0')}`, `${file} #${i}: expected ${l4.layer} checksum`);
        checked++;
      } else assert.equal(l4, undefined, `${file} #${i}: no transport break unless tcpdump sees one (${JSON.stringify(before[i])})`);
    });
  }
  assert.ok(checked >= 20, `enough breaks compared (${checked})`);
});

test('IPv6: TCP, UDP and ICMPv6 checksums broken by an address rewrite found as tcpdump finds them; the hop limit breaks nothing', { skip }, () => {
  let checked = 0;
  for (const file of ['zeek--dns-edns-ecs.pcap', 'zeek--ipv6-http-atomic-frag.pcap']) {
    const originals = frames(file, 200).filter((f) => f.length >= 54 && f[12] === 0x86 && f[13] === 0xdd && [6, 17, 58].includes(f[20]!));
    const hop = originals.map((f) => {
      const c = f.slice();
      c[21] = (c[21]! - 1) & 0xff; // ip6->hop_limit--
      return c;
    });
    for (let i = 0; i < originals.length; i++) assert.deepEqual(checksumBreaks(originals[i]!, hop[i]!), [], `${file} #${i}: the hop limit is outside every checksum`);
    const nat = originals.map((f) => {
      const c = f.slice();
      c[14 + 24 + 15] ^= 0x01; // the last byte of the destination address
      return c;
    });
    const before = tcpdumpVerdicts(originals);
    const after = tcpdumpVerdicts(nat);
    assert.equal(after.length, nat.length, `${file}: one tcpdump line per packet`);
    nat.forEach((c, i) => {
      const l4 = checksumBreaks(originals[i]!, c).find((b) => b.layer !== 'ipv4');
      if (after[i]!.l4ok === false && before[i]!.l4ok === true) {
        assert.ok(l4, `${file} #${i}: tcpdump says the transport checksum broke`);
        assert.equal(l4.expected, `0x${after[i]!.l4!.padStart(4, '0')}`, `${file} #${i}: expected ${l4.layer} checksum`);
        checked++;
      } else assert.equal(l4, undefined, `${file} #${i}: no transport break unless tcpdump sees one (${JSON.stringify(before[i])})`);
    });
  }
  assert.ok(checked >= 20, `enough IPv6 breaks compared (${checked})`);
});

test('a frame left as it arrived, or only with addresses exchanged, breaks nothing', { skip }, () => {
  for (const f of frames('tcpdump--tcp-handshake-nano.pcap', 10)) {
    assert.deepEqual(checksumBreaks(f, f), []);
    const c = f.slice();
    c.copyWithin(26, 30, 34);
    c.set(f.subarray(26, 30), 30);
    assert.deepEqual(checksumBreaks(f, c), []);
  }
});

test('run --format jsonl flags each packet whose checksum the program broke, and counts them in the summary', { skip: skip || (spawnSync('clang', ['--version']).status !== 0 && 'clang is not installed') }, () => {
  const cli = join(REPO, 'dist', 'cli.js');
  const program = join(REPO, 'test', 'analysis', 'fixtures', 'source', 'stale_checksum.c');
  const capture = join(CAPTURES, 'tcpdump--tcp-handshake-nano.pcap');
  const run = (name: string, format = 'jsonl', from = capture) => {
    const r = spawnSync(process.execPath, [cli, 'run', program, from, '--program', name, '--format', format], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const broken = run('ttl_no_csum');
  // The capture is `tcpdump -i any`'s: the host's own outgoing packets are listed but not run (no action).
  const packets = broken.filter((l) => 'packet' in l && !('notRun' in l));
  assert.ok(packets.length > 0);
  assert.ok(broken.some((l) => l.notRun === 'outgoing'));
  for (const p of packets) {
    assert.equal(p.action, 'XDP_TX');
    const ck = p.checksum as { layer: string; before: string; after: string; expected: string }[];
    assert.deepEqual(ck.map((c) => c.layer), ['ipv4'], JSON.stringify(p));
    assert.equal(ck[0]!.before, ck[0]!.after, 'the program left the checksum as it was');
    assert.notEqual(ck[0]!.expected, ck[0]!.after);
  }
  assert.equal((broken.at(-1)!.summary as { checksumBroken: number }).checksumBroken, packets.length);
  // The same change with an incremental update of the checksum breaks nothing.
  const fixed = run('ttl_incremental');
  assert.ok(fixed.filter((l) => 'packet' in l).every((p) => !('checksum' in p)));
  assert.equal((fixed.at(-1)!.summary as { checksumBroken?: number }).checksumBroken, undefined);
  // --format summary (batched packets the program changed, compared where they are, no view of either): the same
  // count as the jsonl's lines, its last line.
  const many = join(CAPTURES, 'zeek--dns-edns-ecs.pcap');
  for (const name of ['ttl_no_csum', 'ttl_incremental']) {
    const lines = run(name, 'jsonl', many);
    const flagged = lines.filter((l) => 'checksum' in l).length;
    assert.equal((lines.at(-1)!.summary as { checksumBroken?: number }).checksumBroken, flagged || undefined);
    if (name === 'ttl_no_csum') assert.ok(flagged > 50, `${flagged}`);
    for (const l of lines.filter((l) => 'checksum' in l)) {
      const ck = l.checksum as { layer: string; before: string; after: string; expected: string }[];
      // An IPv4 header's TTL, else (IPv6) a byte of the source address in the upper layer's pseudo-header.
      if (String(l.summary).startsWith('IP ')) assert.deepEqual(ck.map((c) => c.layer), ['ipv4'], JSON.stringify(l));
      assert.equal(ck[0]!.before, ck[0]!.after);
      assert.notEqual(ck[0]!.expected, ck[0]!.after);
    }
    assert.deepEqual(run(name, 'summary', many), [lines.at(-1)]);
  }
});

test('IPv6 past extension headers (hop-by-hop, destination options): an address rewrite breaks UDP and TCP as tcpdump says', { skip: haveTcpdump ? false : 'tcpdump is not installed' }, () => {
  // Frames built here: Ethernet, IPv6, the extension headers, then UDP or TCP with a correct checksum (tcpdump must
  // say so first); then the destination address changed, as a NAT would without its checksum update.
  const sum = (b: Uint8Array, from: number, to: number, s = 0): number => {
    for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
    return s;
  };
  const fold = (s: number): number => {
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  const build = (exts: number[][], proto: 6 | 17): Uint8Array => {
    const l4len = proto === 17 ? 8 + 6 : 20 + 6;
    const extLen = exts.reduce((n, e) => n + e.length, 0);
    const f = new Uint8Array(14 + 40 + extLen + l4len);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd], 0);
    const ip = 14;
    f[ip] = 0x60;
    f[ip + 4] = (extLen + l4len) >> 8;
    f[ip + 5] = (extLen + l4len) & 0xff;
    f[ip + 6] = exts.length ? 0 : proto;
    f[ip + 7] = 64;
    for (let i = 0; i < 16; i++) {
      f[ip + 8 + i] = i === 0 ? 0x20 : i === 15 ? 1 : 0;
      f[ip + 24 + i] = i === 0 ? 0x20 : i === 15 ? 2 : 0;
    }
    let off = ip + 40;
    exts.forEach((e, k) => {
      f.set(e, off);
      f[off] = k + 1 < exts.length ? 60 : proto; // next header
      off += e.length;
    });
    const l4 = off;
    f[l4] = 0x30; f[l4 + 1] = 0x39; f[l4 + 2] = 0; f[l4 + 3] = 53;
    if (proto === 17) {
      f[l4 + 4] = l4len >> 8; f[l4 + 5] = l4len & 0xff;
    } else {
      f[l4 + 12] = 0x50; f[l4 + 13] = 0x02; f[l4 + 14] = 0xff; f[l4 + 15] = 0xff;
    }
    f.set([1, 2, 3, 4, 5, 6], l4 + (proto === 17 ? 8 : 20));
    const at = l4 + (proto === 17 ? 6 : 16);
    const c = 0xffff - fold(sum(f, l4, l4 + l4len, sum(f, ip + 8, ip + 40) + proto + l4len));
    f[at] = (c || 0xffff) >> 8;
    f[at + 1] = (c || 0xffff) & 0xff;
    return f;
  };
  const hbh = [0, 0, 1, 4, 0, 0, 0, 0]; // PadN
  const dst = [0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const originals = [build([hbh], 17), build([hbh, dst], 6), build([dst], 17), build([hbh], 6)];
  const nat = originals.map((f) => {
    const c = f.slice();
    c[14 + 24 + 15] ^= 0x07;
    return c;
  });
  const before = tcpdumpVerdicts(originals);
  const after = tcpdumpVerdicts(nat);
  before.forEach((v, i) => assert.equal(v.l4ok, true, `frame ${i}: tcpdump finds the built checksum correct`));
  nat.forEach((c, i) => {
    assert.equal(after[i]!.l4ok, false, `frame ${i}: tcpdump sees the break`);
    const l4 = checksumBreaks(originals[i]!, c).find((b) => b.layer !== 'ipv4');
    assert.ok(l4, `frame ${i}: the break is found past the extension headers`);
    assert.equal(l4.expected, `0x${after[i]!.l4!.padStart(4, '0')}`, `frame ${i}: the checksum tcpdump expects`);
  });
});
