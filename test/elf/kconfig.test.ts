// `__kconfig` externs against the kernel: libbpf's `.kconfig` map (its layout: alignment, size, name order) and
// values (CONFIG_HZ from the running kernel's configuration, LINUX_KERNEL_VERSION, a bool, a tristate, a string, a
// weak extern the configuration lacks) must equal what the program reads in the kernel, map dump included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { defaultObjectName, kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-kconfig-'));

const SRC = join(dir, 'kcfg.c');
writeFileSync(SRC, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
extern unsigned long CONFIG_HZ __kconfig;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_NF_CONNTRACK __kconfig;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern int CONFIG_XDP_LENS_NO_SUCH_OPTION __kconfig __weak;
__u64 out[6];

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	out[0] = CONFIG_HZ;
	out[1] = LINUX_KERNEL_VERSION;
	out[2] = CONFIG_BPF_SYSCALL;
	out[3] = CONFIG_NF_CONNTRACK;
	out[4] = CONFIG_LOCALVERSION[0] | CONFIG_LOCALVERSION[1] << 8;
	out[5] = CONFIG_XDP_LENS_NO_SUCH_OPTION + 7;
	return XDP_PASS;
}
`);

test('__kconfig externs: the .kconfig map and the values read agree with libbpf and the kernel', (t) => {
  const session = new Session(loadProgramFile(SRC), { program: 'prog' });
  const pkt = new Uint8Array(60);
  session.runPacket(pkt);
  const maps = session.mapsJson();
  assert.ok(maps['kcfg.kconfig'], Object.keys(maps).join(', '));
  if (kernelOrSkip(t)) return;
  const compiled = compileC(SRC);
  assert.ok(compiled.objectPath, compiled.stderr);
  const kernel = runKernel(compiled.objectPath!, 'prog', [pkt], { objectName: defaultObjectName(SRC), only: true });
  const d = diffBytes(kernel.results[0].out, session.runPacket(pkt).out);
  assert.equal(d, undefined);
  assert.deepEqual(diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())), []);
});
