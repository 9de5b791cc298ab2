// The worker thread of a capture run's return-line twin (server/twin-lines.ts): dist/twin-worker.js, started by the
// language server for runs on big captures.
import { parentPort, workerData } from 'node:worker_threads';
import { build, type RunConfig } from './run.ts';
import { twinWorkerMain, type TwinWorkerData } from './twin-lines.ts';

twinWorkerMain(workerData as TwinWorkerData, (obj, config) => build({ ...(config as unknown as RunConfig), obj }), (m) => parentPort?.postMessage(m));
