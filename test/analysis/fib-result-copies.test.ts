// bpf_fib_lookup's result kept in an `int rc`, tested, and returned (or a constant that equals it returned): clang
// tests a widened copy (`r2 = r1; r2 <<= 32; r2 >>= 32`, `w2 = w1`, `w1 += -1; if w1 < 3`) and returns the original
// register, or returns r0 itself where the constant returned equals the code tested (`rc == 1` -> XDP_DROP). The
// bytecode tier did not carry what the copy's test proved back to the original, and reported invalid-action on the
// call's line; the source tier ignored `(unsigned int)rc` in a comparison. Programs written for this test, compiled
// for -mcpu=v1 (clang's default here) and v3; the kernel loads each (checked when there is one) and the driver reads
// the verdict's low 32 bits, so a tested copy's bound is the verdict's.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { analyzeFile, initSourceAnalysis, type Finding } from '../../simulator/analysis/index.ts';
import { NO_CLANG, show, kernelSays } from './unseen-common.ts';

before(async () => {
  await initSourceAnalysis();
});

const fn = (name: string, body: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ${name}(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.family = 2;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
${body}}
char LICENSE[] SEC("license") = "GPL";
`;

const QUIET: Record<string, string> = {
  // E2's repro: the switch's labels tested on a zero-extended copy, the range on a sign-extended one.
  switch_then_range: `	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		return bpf_redirect(fib.ifindex, 0);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
		return XDP_DROP;
	}
	if (rc < 0 || rc > XDP_PASS)
		return XDP_PASS;
	return rc;
`,
  // `rc == 1` -> return XDP_DROP (1): clang returns r0 itself.
  eq_returns: `	if (rc == BPF_FIB_LKUP_RET_BLACKHOLE)
		return XDP_DROP;
	if (rc == BPF_FIB_LKUP_RET_UNREACHABLE)
		return XDP_PASS;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return bpf_redirect(fib.ifindex, 0);
	return XDP_PASS;
`,
  // Cases 1..3 return rc: clang tests `rc - 1 < 3` on a copy.
  switch_return_rc: `	switch (rc) {
	case 1:
	case 2:
	case 3:
		return rc;
	default:
		return XDP_PASS;
	}
`,
  unsigned_range: `	if ((unsigned int)rc <= XDP_PASS && rc != 0)
		return rc;
	return XDP_PASS;
`,
};

// The control: rc returned untested on the error path.
const BAD = `	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return bpf_redirect(fib.ifindex, 0);
	return rc;
`;

async function check(text: string, flags: string[]): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-fib-'));
  try {
    const file = join(dir, 'prog.c');
    writeFileSync(file, text);
    const r = await analyzeFile(file, undefined, { flags });
    assert.ok(!r.notes.some((n) => /did not run/.test(n)), r.notes.join('\n'));
    return r.findings;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const cpu of ['v1', 'v3']) {
  for (const [name, body] of Object.entries(QUIET)) {
    test(`${name} (-mcpu=${cpu}): every value returned is an action, no invalid-action`, { skip: NO_CLANG }, async () => {
      const text = fn(name, body);
      const fs = await check(text, [`-mcpu=${cpu}`]);
      assert.deepEqual(fs.filter((f) => f.rule === 'invalid-action'), [], show(fs));
      if (cpu === 'v1') {
        const refused = kernelSays(text);
        if (refused !== undefined) assert.deepEqual(refused, []);
      }
    });
  }
  test(`rc returned untested (-mcpu=${cpu}): invalid-action`, { skip: NO_CLANG }, async () => {
    const fs = await check(fn('bad_return_rc', BAD), [`-mcpu=${cpu}`]);
    assert.ok(fs.some((f) => f.rule === 'invalid-action'), show(fs));
  });
}
