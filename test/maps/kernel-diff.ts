// One program of test/maps/programs (or of the real-world corpus) through the kernel (test/kernel/runner.ts) and the
// simulator over the same packets, with the same seeds and sizes; returns every difference in retval, data_out and
// the maps after the last packet (an empty list when they agree byte for byte).
import { compileC } from '../../simulator/compile.ts';
import { loadProgramFile, Session, type SessionOptions } from '../../simulator/session.ts';
import { runKernel, type KernelMaps, type KernelRunOptions } from '../kernel/runner.ts';
import { sharedPath } from '../repo.ts';
import { captureCorpus, syntheticCorpus } from '../parity/packets.ts';
import { diffBytes, diffMaps, normaliseSimMaps } from '../parity/compare.ts';

export interface Pair {
  flags?: string[];
  program: string;
  maps?: KernelMaps;
  kernel?: KernelRunOptions;
  session?: SessionOptions;
}

export function packets(): Uint8Array[] {
  return [...captureCorpus(sharedPath('captures')), ...syntheticCorpus()].map((p) => p.bytes);
}

export function differences(src: string, pair: Pair, pkts = packets()): { problems: string[]; session: Session; kernelMaps: KernelMaps } {
  const compiled = compileC(src, { flags: pair.flags });
  if (!compiled.objectPath) throw new Error(`cannot compile ${src}:\n${compiled.stderr}`);
  const kernel = runKernel(compiled.objectPath, pair.program, pkts, { objectName: 'prog', maps: pair.maps, ...pair.kernel });
  const obj = loadProgramFile(src, { clangFlags: pair.flags });
  const session = new Session(obj, { program: pair.program, nrCpus: kernel.cpus, cpu: 0, maps: pair.maps, ...pair.session });
  const problems: string[] = [];
  pkts.forEach((bytes, i) => {
    const k = kernel.results[i];
    const s = session.runPacket(bytes);
    if (k.errno !== undefined) return void problems.push(`packet ${i}: kernel test_run errno ${k.errno}`);
    if (s.fault) problems.push(`packet ${i}: simulator fault ${s.fault.kind}: ${s.fault.message}`);
    if (k.retval !== s.retval) problems.push(`packet ${i}: retval kernel ${k.retval} sim ${s.retval}`);
    const d = diffBytes(k.out, s.out);
    if (d) problems.push(`packet ${i}: data_out ${d}`);
  });
  problems.push(...diffMaps(kernel.maps, normaliseSimMaps(session.mapsJson({ all: true }))).map((l) => `maps: ${l}`));
  return { problems, session, kernelMaps: kernel.maps };
}
