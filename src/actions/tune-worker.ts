// A worker thread of mlpipe/tune (dist/bundle/tune-worker.js): loads
// TensorFlow.js once, receives the prepared data once, then fits the trials it
// is sent, one at a time. After each epoch from `askFrom` on it asks the tune
// action whether to go on (median stopping is decided there, where every
// trial's curve is known) and waits for the answer.
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendName } from '../ml/backend.js';
import { loadTf } from '../ml/tf.js';
import { ActionError } from './errors.js';
import type { TrainInputs, TrainingData } from './train.js';
import { fitTrial, type Goal, type TrialResult } from './tune-trial.js';

export interface TrialJob {
  readonly type: 'trial';
  readonly index: number;
  readonly settings: TrainInputs;
  readonly metric: string;
  readonly goal: Goal;
  /** The first epoch whose continuation the tune action decides; none: never asks. */
  readonly askFrom?: number;
}
export type ToWorker = TrialJob | { readonly type: 'decision'; readonly index: number; readonly epoch: number; readonly keepGoing: boolean };
export type FromWorker =
  | { readonly type: 'epoch'; readonly index: number; readonly epoch: number; readonly value: number }
  | { readonly type: 'done'; readonly index: number; readonly result: TrialResult }
  | { readonly type: 'failed'; readonly index: number; readonly message: string; readonly actionError: boolean };

const port = parentPort!;
const { backend, data } = workerData as { backend: BackendName; data: TrainingData };
const tf = loadTf(backend);
const waiting = new Map<string, (keepGoing: boolean) => void>();
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'decision') {
    waiting.get(`${m.index}:${m.epoch}`)?.(m.keepGoing);
    waiting.delete(`${m.index}:${m.epoch}`);
    return;
  }
  void (async () => {
    try {
      const result = await fitTrial(await tf, data, m.settings, m.metric, m.goal, (epoch, value) => {
        if (m.askFrom === undefined || epoch < m.askFrom) return true;
        return new Promise<boolean>((resolve) => {
          waiting.set(`${m.index}:${epoch}`, resolve);
          post({ type: 'epoch', index: m.index, epoch, value });
        });
      });
      post({ type: 'done', index: m.index, result });
    } catch (e) {
      post({ type: 'failed', index: m.index, message: e instanceof Error ? e.message : String(e), actionError: e instanceof ActionError });
    }
  })();
});
