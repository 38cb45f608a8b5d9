import { parentPort, workerData } from 'node:worker_threads';
import { trainIntentModel, type IntentExample } from './intent-model.ts';
import { crossValidate } from './intent-eval.ts';

/**
 * Worker-thread entry of `trainInWorker` (train-in-worker.ts): trains the model and cross-validates it off the
 * main thread. Input: { examples, sample, folds }; output: { model (serialized), threshold, trainSeconds, cv }.
 */
const input = workerData as { examples: IntentExample[]; sample: IntentExample[]; folds: number };
const started = performance.now();
const model = trainIntentModel(input.examples, { seed: 1 });
const trainSeconds = (performance.now() - started) / 1000;
const cv = crossValidate(input.sample, input.folds, 1);
parentPort!.postMessage({ model: model.toJSON(), threshold: model.threshold, trainSeconds, cv });
