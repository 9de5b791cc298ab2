// The worker thread of a capture run (server/run-worker.ts): dist/run-worker.js, started by the language server for
// runs on big captures.
import { parentPort, workerData } from 'node:worker_threads';
import { build, type RunConfig } from './run.ts';
import { runWorkerMain, type RunWorkerData } from './run-worker.ts';

runWorkerMain(workerData as RunWorkerData, (obj, config) => build({ ...(config as unknown as RunConfig), obj }), (m, transfer) => parentPort?.postMessage(m, transfer));
