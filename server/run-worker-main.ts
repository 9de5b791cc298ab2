// The worker thread of a capture run (server/run-worker.ts), of a Compare Verdicts (server/run.ts diffVerdicts) or of the
// second half of a display filter over a long run (server/run.ts filterHalf): dist/run-worker.js.
import { parentPort, workerData } from 'node:worker_threads';
import { build, diffVerdictsOf, filterJobMatches, type DiffJob, type FilterJob, type RunConfig } from './run.ts';
import { runWorkerMain, spareWorkerMain, type RunWorkerData } from './run-worker.ts';

const data = workerData as RunWorkerData | { diff: DiffJob } | { filter: FilterJob } | { spare: true };
const buildRun = (obj: RunConfig['obj'], config: RunWorkerData['config']) => build({ ...(config as unknown as RunConfig), obj }, true);
if ('spare' in data) {
  // Started ahead of a capture run (run-worker.ts warmSpare): its twin, then its job, come as messages.
  if (parentPort) spareWorkerMain(parentPort, buildRun, (m, transfer) => parentPort?.postMessage(m, transfer));
} else if ('filter' in data) {
  filterJobMatches(data.filter).then(
    (matches) => parentPort?.postMessage({ matches }, [matches.buffer as ArrayBuffer]),
    (e: Error) => parentPort?.postMessage({ internal: e.stack ?? String(e) }),
  );
} else if ('diff' in data) {
  try {
    parentPort?.postMessage({ result: diffVerdictsOf(data.diff) });
  } catch (e) {
    parentPort?.postMessage({ internal: (e as Error).stack ?? String(e) });
  }
} else runWorkerMain(data, buildRun, (m, transfer) => parentPort?.postMessage(m, transfer));
