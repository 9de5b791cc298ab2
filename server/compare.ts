// xdpLens/compareKernel: the simulator against the running kernel on the first packets of a capture.
import { localPath } from './guard.ts';
import type { Connection } from 'vscode-languageserver/node';
import { compareWithKernel, formatComparison } from '../simulator/kernel-compare.ts';
import { XdpLensError, loadProgramFileWithObject } from '../simulator/session.ts';
import { INPUT_LIMITS, readInputJson } from '../simulator/input.ts';
import { openCapture, CaptureError } from '../simulator/net/capture.ts';
import { outgoingNote } from './run.ts';
import { CompareKernelRequest, type CompareKernelParams, type CompareKernelResult } from './protocol.ts';
import type { RunHost } from './run.ts';

export function registerCompareHandler(connection: Connection, host: RunHost): void {
  connection.onRequest(CompareKernelRequest, async (params: CompareKernelParams): Promise<CompareKernelResult> => {
    const fail = (reason: string): CompareKernelResult => ({ available: false, reason, compared: 0, differing: 0, text: reason });
    const path = localPath(params.uri);
    if (path === undefined) return fail('only files on disk can be compared');
    const settings = await host.settingsFor(params.uri);
    const t0 = performance.now();
    let loaded;
    try {
      loaded = loadProgramFileWithObject(path, host.compileOptions(path, settings));
    } catch (e) {
      return fail((e as Error).message);
    }
    const frames: { frame: Uint8Array; tsNs: bigint; index: number }[] = [];
    let note = '';
    let outgoing = 0;
    try {
      const reader = openCapture(params.capture);
      try {
        // Sent by the capturing host: XDP never runs on it (as `xdp-lens compare` leaves it out); rows keep capture numbers.
        for (let p; frames.length < (params.limit ?? 200) && (p = reader.next()); ) {
          if (p.outgoing) outgoing++;
          else frames.push({ frame: p.frame, tsNs: p.tsNs, index: p.index });
        }
      } finally {
        reader.close();
      }
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      if (!frames.length) return fail(e.message);
      note = `\n(the capture stopped early: ${e.message})\n`;
    }
    let maps: unknown;
    if (params.maps) {
      try {
        maps = readInputJson(params.maps, 'maps seed', INPUT_LIMITS.maps);
      } catch (e) {
        return fail(`cannot read the maps seed ${params.maps}: ${(e as Error).message}`);
      }
    }
    let r;
    try {
      r = compareWithKernel(loaded.objectPath, loaded.object, frames, { program: params.program, maps, mapsFile: params.maps, seed: params.seed });
    } catch (e) {
      if (!(e instanceof XdpLensError)) throw e;
      return fail(e.message);
    }
    host.log(`compare with kernel: ${path} on ${params.capture}, ${r.rows.length} packets, ${r.differing} differing (${(performance.now() - t0).toFixed(0)} ms)`);
    return {
      available: r.available,
      ...(r.reason ? { reason: r.reason } : {}),
      program: r.program,
      compared: r.rows.length,
      differing: r.differing,
      clockRandom: r.clockRandom,
      mapsDiffering: r.mapsDiffering,
      text: formatComparison(r, `${path} on ${params.capture}: simulator vs kernel (BPF_PROG_TEST_RUN)`) + note + (outgoing ? `\n(note: ${outgoingNote(outgoing)})\n` : ''),
    };
  });
}
