// The kernel selftest test_xdp_dynptr.c (../shared/realworld), an IPIP / IP6IP6 encapsulator built on dynptrs, seeded
// with a tunnel for an IPv4 flow of a shared capture and for a synthetic IPv6 flow.
// This machine's 6.18 build refuses bpf_dynptr_slice_rdwr ("bpf_dynptr_slice_rdwr() is not allowed", EPERM), so the
// kernel runs the same source with bpf_dynptr_slice_rdwr replaced by what it returns for a packet in the linear part
// (a pointer to the bytes, NULL past the end): every packet here is shorter than the 3520-byte linear part. The
// simulator runs the unmodified source; verdicts, output bytes and maps must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session } from '../../simulator/session.ts';
import { openCapture } from '../../simulator/net/capture.ts';
import { kernelOrSkip, runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';
import { REPO } from '../repo.ts';

const RW = join(REPO, '..', 'shared', 'realworld');
const SRC = join(RW, 'linux/tools/testing/selftests/bpf/progs/test_xdp_dynptr.c');
const CAPTURE = join(REPO, '..', 'shared', 'captures', 'zeek--get-to-ssh-server.pcap');
const INCLUDES = [join(RW, 'include'), join(RW, 'linux/tools/testing/selftests/bpf'), '/usr/include/x86_64-linux-gnu'];
const absent = !existsSync(SRC) ? `${SRC} is absent (../shared/realworld)` : !existsSync(CAPTURE) ? `${CAPTURE} is absent` : false;

const hex = (b: number[]) => Buffer.from(b).toString('hex');
const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), last];
const pad = (b: number[], n: number) => [...b, ...new Array(n - b.length).fill(0)];

// struct vip {daddr[16], dport (network order), family, protocol} -> struct iptnl_info {saddr[16], daddr[16], family, dmac}
const SEEDS = {
  vip2tnl: [
    { key: hex(pad([...pad([130, 74, 164, 231], 16), 0, 22, 2, 0, 6], 24)), value: hex(pad([...pad([10, 1, 1, 1], 16), ...pad([10, 2, 2, 2], 16), 2, 0, 2, 0, 0, 0, 0, 0x99], 40)) },
    { key: hex(pad([...v6(2), 0, 80, 10, 0, 6], 24)), value: hex(pad([...v6(0xa), ...v6(0xb), 10, 0, 2, 0, 0, 0, 0, 0x66], 40)) },
  ],
};

function ipv6Tcp(): Uint8Array {
  const eth = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x86, 0xdd];
  const ip = [0x60, 0, 0, 0, 0, 20, 6, 64, ...v6(1), ...v6(2)];
  const tcp = [0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
  return Uint8Array.from([...eth, ...ip, ...tcp]);
}

function packets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const r = openCapture(CAPTURE);
  try {
    for (let p = r.next(); p && out.length < 40; p = r.next()) out.push(p.frame);
  } finally {
    r.close();
  }
  return [...out, ipv6Tcp(), ipv6Tcp()];
}

test('test_xdp_dynptr.c (dynptr IPIP/IP6IP6 encapsulation) agrees with the kernel on a capture and an IPv6 flow', { skip: absent }, (t) => {
  if (kernelOrSkip(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lens-dynptr-rw-'));
  const shim = join(dir, 'rdwr_shim.h');
  writeFileSync(shim, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_kfuncs.h"
static __always_inline void *rdwr_in_linear(struct xdp_md *x, __u32 off, __u32 sz)
{
	void *d = (void *)(long)x->data + off, *e = (void *)(long)x->data_end;
	return d + sz > e ? 0 : d;
}
#define bpf_dynptr_slice_rdwr(p, off, buf, sz) rdwr_in_linear(xdp, off, sz)
`);
  const flags = ['-include', 'stdbool.h'];
  const kernelObj = compileC(SRC, { includeDirs: INCLUDES, flags: [...flags, '-include', shim] });
  assert.ok(kernelObj.objectPath, kernelObj.stderr);
  const pkts = packets();
  const kernel = runKernel(kernelObj.objectPath!, '_xdp_tx_iptunnel', pkts, { objectName: 'test_xdp_dynptr', only: true, maps: SEEDS });
  const session = new Session(loadProgramFile(SRC, { includeDirs: INCLUDES, clangFlags: flags }), {
    program: '_xdp_tx_iptunnel', nrCpus: kernel.cpus, cpu: 0, maps: SEEDS,
  });
  const problems: string[] = [];
  const actions = new Map<number, number>();
  pkts.forEach((bytes, i) => {
    const s = session.runPacket(bytes);
    const k = kernel.results[i];
    actions.set(s.retval, (actions.get(s.retval) ?? 0) + 1);
    if (s.fault) problems.push(`packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
    if (k.retval !== s.retval) problems.push(`packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
    const d = diffBytes(k.out, s.out);
    if (d) problems.push(`packet ${i}: ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson())));
  assert.deepEqual(problems, []);
  // The tunnel made decisions: some packets encapsulated and sent back (XDP_TX), the reverse direction passed.
  assert.ok((actions.get(3) ?? 0) >= 3 && (actions.get(2) ?? 0) >= 1, JSON.stringify([...actions]));
});
