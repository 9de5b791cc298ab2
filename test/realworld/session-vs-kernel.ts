// The step the loader tests share: each packet through a Session and the kernel's result for it (retval, or a
// simulator fault where the kernel ran; data_out byte for byte), then the final maps. Returns the differences.
import type { Session } from '../../simulator/session.ts';
import type { runKernel } from '../kernel/runner.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

export function sessionVsKernel(session: Session, packets: { name: string; bytes: Uint8Array }[], kernel: ReturnType<typeof runKernel>): string[] {
  const problems: string[] = [];
  packets.forEach((p, i) => {
    const s = session.runPacket(p.bytes);
    const k = kernel.results[i]!;
    const where = `packet ${i} (${p.name}, ${p.bytes.length} B)`;
    if (s.fault) problems.push(`${where}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
    else if (s.retval !== k.retval) problems.push(`${where}: retval kernel ${k.retval} sim ${s.retval}`);
    const d = diffBytes(k.out, s.out);
    if (d) problems.push(`${where}: data_out ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson({ all: true }))).map((l) => `final maps: ${l}`));
  return problems;
}
