// One mlpipe/tune trial: a full mlpipe/train fit with the trial's settings,
// reporting the tuned metric after each epoch to `onEpoch`, which may stop it
// (median stopping). The same code runs in the tune action's own thread and
// in its trial workers (tune-worker.ts), so a trial's result does not depend
// on where it ran.
import { ActionError } from './errors.js';
import type { Tf } from '../ml/tf.js';
import { fitModel, type TrainInputs, type TrainingData } from './train.js';

export type Goal = 'minimize' | 'maximize';

export interface TrialResult {
  readonly value: number;
  readonly epochs: number;
  readonly stoppedEarly: boolean;
  /** The metric after each epoch. */
  readonly curve: number[];
}

export const betterFor = (goal: Goal) => (a: number, b: number) => (goal === 'minimize' ? a < b : a > b);

export async function fitTrial(tf: Tf, data: TrainingData, settings: TrainInputs, metric: string, goal: Goal, onEpoch: (epoch: number, value: number) => boolean | Promise<boolean>): Promise<TrialResult> {
  const better = betterFor(goal);
  const curve: number[] = [];
  let stoppedEarly = false;
  const fit = await fitModel(tf, settings, data, () => {}, async (epoch, row) => {
    const value = row[metric];
    if (value === undefined) throw new ActionError(`metric ${metric} is not measured by this model (it has ${Object.keys(row).filter((k) => k !== 'epoch').join(', ')})`);
    curve.push(value);
    if (await onEpoch(epoch, value)) return true;
    stoppedEarly = true;
    return false;
  });
  fit.model.dispose();
  const best = fit.bestEpoch > 0 ? fit.history[fit.bestEpoch - 1]! : fit.history.reduce((a, r) => (better(r[metric]!, a[metric]!) ? r : a));
  return { value: best[metric]!, epochs: fit.history.length, stoppedEarly, curve };
}
