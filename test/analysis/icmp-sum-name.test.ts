// A stale ICMP checksum is named as the program names it: `checksum` in struct icmphdr, `icmp6_cksum` in struct
// icmp6hdr, `cksum` in a header struct of the program's own (as xdp-tutorial's struct icmphdr_common has it). The
// message used to say `checksum` whatever the field was called. Small programs written for this test.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSource, initSourceAnalysis } from '../../simulator/analysis/source/index.ts';
import { HEAD, show } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const PROGRAM = (decl: string, type: string, test: string, change: string) => `${HEAD}#include <linux/icmp.h>
#include <linux/icmpv6.h>
${decl}
SEC("xdp")
int reply(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	${type} *h = data + 34;
	if ((void *)(h + 1) > end)
		return XDP_PASS;
	if (${test})
		return XDP_PASS;
	${change}
	return XDP_TX;
}
char _license[] SEC("license") = "GPL";
`;

const OWN = 'struct icmphdr_common { __u8 type; __u8 code; __sum16 cksum; };';
/** [header type, its declaration, the test on the request, the change, the checksum field the message names] */
const cases: [string, string, string, string, string][] = [
  ['struct icmphdr', '', 'h->type != 8', 'h->type = 0;', 'checksum'],
  ['struct icmp6hdr', '', 'h->icmp6_type != 128', 'h->icmp6_type = 129;', 'icmp6_cksum'],
  ['struct icmphdr_common', OWN, 'h->type != 8', 'h->type = 0;', 'cksum'],
  ['struct icmphdr_common', OWN, 'h->type != 8', 'h->type = 0; h->cksum = 0;', 'cksum'],
];

for (const [type, decl, check, change, field] of cases) {
  test(`a stale ICMP checksum through ${type} (\`${change}\`) names \`${field}\``, () => {
    const fs = analyzeSource('/tmp/icmp-sum-name.c', PROGRAM(decl, type, check, change), {}).filter((f) => f.rule === 'stale-checksum');
    assert.equal(fs.length, 1, show(fs));
    assert.ok(fs[0]!.message.includes(`\`${field}\``), show(fs));
    for (const other of ['checksum', 'icmp6_cksum', 'cksum']) if (other !== field) assert.ok(!fs[0]!.message.includes(`\`${other}\``), show(fs));
  });
}
