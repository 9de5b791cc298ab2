// The source tier on real programs of ../shared/realworld, edited the way a developer might get them wrong: the real
// program has no finding, the edit that introduces a mistake gets exactly one, on the line of the mistake, and the
// edit that removes what the rule needs to judge (the protocol check) leaves it quiet rather than guessing.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { sharedPath } from '../repo.ts';

const LB = sharedPath('realworld', 'bpf-developer-tutorial', 'src', '42-xdp-loadbalancer', 'xdp_lb.bpf.c');
const skip = existsSync(LB) ? false : `${LB} is absent (the shared real-world corpus, see test/realworld)`;

before(async () => {
  await initSourceAnalysis();
});

function edit(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the program no longer holds ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

const lineOf = (text: string, needle: string): number => text.slice(0, text.indexOf(needle)).split('\n').length;

test('a load balancer doing NAT (addresses rewritten, IPv4 and TCP checksums recomputed) has no stale-checksum', { skip }, () => {
  const text = readFileSync(LB, 'utf8');
  assert.deepEqual(analyzeSource(LB, text, {}).map((f) => `${f.line} ${f.rule}`), []);
});

test('the same program without its TCP checksum update: one stale-checksum, at the first address store', { skip }, () => {
  const text = edit(readFileSync(LB, 'utf8'), 'tcph->check = tcph_csum(tcph, iph, data_end);', ';');
  const got = analyzeSource(LB, text, {});
  assert.deepEqual(got.map((f) => `${f.line} ${f.rule}`), [`${lineOf(text, 'iph->daddr = backend->ip;')} stale-checksum`]);
  assert.match(got[0].message, /TCP checksum/);
});

test('without the protocol check the address-only change is not judged (the protocol is not known)', { skip }, () => {
  let text = edit(readFileSync(LB, 'utf8'), 'tcph->check = tcph_csum(tcph, iph, data_end);', ';');
  text = edit(text, 'if (iph->protocol != IPPROTO_TCP)', 'if (0)');
  assert.deepEqual(analyzeSource(LB, text, {}).map((f) => `${f.line} ${f.rule}`), []);
});

test('the IPv4 checksum forgotten instead: one stale-checksum for the header', { skip }, () => {
  const text = edit(readFileSync(LB, 'utf8'), 'iph->check = iph_csum(iph);', ';');
  const got = analyzeSource(LB, text, {});
  // The TCP checksum is recomputed from the changed header (tcph_csum reads the addresses), so only the IPv4 one is
  // stale.
  assert.deepEqual(got.map((f) => `${f.line} ${f.rule}`), [`${lineOf(text, 'iph->daddr = backend->ip;')} stale-checksum`]);
  assert.match(got[0].message, /header checksum/);
});

