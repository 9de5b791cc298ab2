// stale-checksum, the static rule against the run: every program of the NAT fixture is run by the simulator (whose
// results the parity suites hold to the kernel's) on real TCP and UDP frames from the shared captures. A program the
// source tier reports must break a valid checksum of a frame it sends on; a program the fixture calls correct must
// break none. (Programs left unjudged on purpose, the protocol not being proven, are only run; the run-time check
// reads IPv4 only, so an IPv6 program's finding is not confirmed here.)
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { checksumBreaks } from '../../simulator/analysis/checksum.ts';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { Session, loadProgramFile } from '../../simulator/session.ts';
import { REPO, sharedPath } from '../repo.ts';

const FIXTURE = join(REPO, 'test', 'analysis', 'fixtures', 'source', 'stale_checksum_nat.c');
const CAPTURES = sharedPath('captures');
const HAVE_CLANG = !spawnSync('clang', ['--version']).error;
const skip = !HAVE_CLANG ? 'clang not installed' : !existsSync(CAPTURES) ? `${CAPTURES} is absent` : false;

/** IPv4 TCP and UDP frames with valid checksums, a few of each. */
function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const file of ['tcpdump--tcp-handshake-nano.pcap', 'zeek--dns-edns-ecs.pcap']) {
    const r = openCapture(join(CAPTURES, file));
    try {
      let n = 0;
      for (let p = r.next(); p && n < 6; p = r.next()) {
        if (p.truncated) continue;
        out.push(p.frame.slice());
        n++;
      }
    } finally {
      r.close();
    }
  }
  return out;
}

/** The fixture's programs: name, first and last line, and whether its comment calls it correct. */
function programs(text: string): { name: string; from: number; to: number; correct: boolean; ipv6: boolean }[] {
  const lines = text.split('\n');
  const out: { name: string; from: number; to: number; correct: boolean; ipv6: boolean }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^SEC\("xdp"\)/.test(lines[i])) continue;
    const name = /\b(\w+)\(struct xdp_md/.exec(lines[i + 1])![1];
    let end = i + 1;
    while (lines[end] !== '}') end++;
    const ipv6 = lines.slice(i, end).some((l) => l.includes('struct ipv6hdr'));
    out.push({ name, from: i + 1, to: end + 1, correct: /^\/\* Correct/.test(lines[i - 1] ?? ''), ipv6 });
  }
  return out;
}

before(async () => {
  await initSourceAnalysis();
});

describe('stale-checksum findings agree with what the programs do to real frames', { skip }, () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const obj = skip ? undefined : loadProgramFile(FIXTURE, { includeDirs: [join(REPO, 'test', 'analysis', 'fixtures', 'source')] });
  const input = skip ? [] : frames();
  const findings = () => analyzeSource(FIXTURE, text, {}).filter((f) => f.rule === 'stale-checksum');
  for (const p of programs(text)) {
    test(p.name, () => {
      const reported = findings().some((f) => f.line >= p.from && f.line <= p.to);
      const broken: string[] = [];
      for (const frame of input) {
        const r = new Session(obj!, { program: p.name }).runPacket(frame);
        assert.equal(r.fault, undefined, `${p.name} faulted`);
        if (r.action === 'XDP_PASS' || r.action === 'XDP_TX' || r.action === 'XDP_REDIRECT') {
          for (const b of checksumBreaks(frame, r.data)) broken.push(b.layer);
        }
      }
      if (reported && !p.ipv6) assert.ok(broken.length > 0, `${p.name} is reported, but sends no frame with a broken checksum`);
      if (p.correct) assert.deepEqual(broken, [], `${p.name} is called correct, but breaks checksums`);
      if (p.correct) assert.ok(!reported, `${p.name} is called correct, but is reported`);
    });
  }
  test('the fixture has reported and correct programs', () => {
    const ps = programs(text);
    assert.ok(ps.filter((p) => p.correct).length >= 5);
    assert.ok(findings().length >= 4);
  });
});
