import { parentPort, workerData } from 'node:worker_threads';
import { type PartTask, replayAndLoadPart } from './rebuild-parts.ts';

/** One part of a rescore's replay and load, in a worker thread (rebuild-parts.ts). */
try {
  const result = await replayAndLoadPart(workerData as PartTask);
  parentPort!.postMessage({ result });
} catch (err) {
  const e = err as { code?: string; message?: string };
  parentPort!.postMessage({ error: { code: e.code, message: e.message ?? String(err) } });
}
