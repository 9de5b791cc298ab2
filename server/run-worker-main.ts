// The worker thread of a capture run (server/run-worker.ts), of a Compare Verdicts (server/run.ts diffVerdicts) or of the
// second half of a display filter over a long run (server/run.ts filterHalf): dist/run-worker.js.
import { parentPort, workerData } from 'node:worker_threads';
import { build, diffVerdictsOf, filterJobMatches, type DiffJob, type FilterJob, type RunConfig } from './run.ts';
import { runWorkerMain, type RunWorkerData } from './run-worker.ts';

const data = workerData as RunWorkerData | { diff: DiffJob } | { filter: FilterJob };
if ('filter' in data) {
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
} else runWorkerMain(data, (obj, config) => build({ ...(config as unknown as RunConfig), obj }), (m, transfer) => parentPort?.postMessage(m, transfer));
