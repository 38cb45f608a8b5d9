import { Worker } from 'node:worker_threads';
import type { IntentExample, SerializedIntentModel } from './intent-model.ts';
import type { crossValidate } from './intent-eval.ts';

export interface TrainingResult {
  model: SerializedIntentModel;
  threshold: number;
  trainSeconds: number;
  cv: ReturnType<typeof crossValidate>;
}

/**
 * Trains and cross-validates in a worker thread. Training 15,000 examples takes tens of seconds of CPU; on the
 * main thread that would freeze every socket, request and job heartbeat of the node (jobs would lose their
 * leases and run twice). The worker loads the TypeScript sources through tsx, like the main process.
 */
export function trainInWorker(input: { examples: IntentExample[]; sample: IntentExample[]; folds: number }): Promise<TrainingResult> {
  const entry = new URL('./train-worker.ts', import.meta.url).href;
  const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData: input,
  });
  return new Promise<TrainingResult>((resolve, reject) => {
    worker.once('message', (result: TrainingResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the training worker exited with code ${code} before answering`)));
  });
}
