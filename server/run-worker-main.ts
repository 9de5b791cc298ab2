// The worker thread of a capture run (server/run-worker.ts) or of a Compare Verdicts (server/run.ts diffVerdicts):
// dist/run-worker.js, started by the language server for runs on big captures and for every diff.
import { parentPort, workerData } from 'node:worker_threads';
import { build, diffVerdictsOf, type DiffJob, type RunConfig } from './run.ts';
import { runWorkerMain, type RunWorkerData } from './run-worker.ts';

const data = workerData as RunWorkerData | { diff: DiffJob };
if ('diff' in data) {
  try {
    parentPort?.postMessage({ result: diffVerdictsOf(data.diff) });
  } catch (e) {
    parentPort?.postMessage({ internal: (e as Error).stack ?? String(e) });
  }
} else runWorkerMain(data, (obj, config) => build({ ...(config as unknown as RunConfig), obj }), (m, transfer) => parentPort?.postMessage(m, transfer));
