// The built-in actions (`uses: mlpipe/<name>`): each with its compiled
// `with:` schema (schemas/actions/<name>.schema.json), the `with:` fields that
// name files it reads and writes (which must be the stage's deps and outs, so
// the graph and the cache see them), and whether it runs TensorFlow.js (its
// key then includes the backend). The implementations live beside this file
// and are loaded only in the action runner process.
import type { ErrorObject } from 'ajv';
import validateSplit from '../generated/actions/split-validate.js';
import validateTrain from '../generated/actions/train-validate.js';
import validateEvaluate from '../generated/actions/evaluate-validate.js';
import validateTune from '../generated/actions/tune-validate.js';
import validateRegister from '../generated/actions/register-validate.js';
import validatePackage from '../generated/actions/package-validate.js';
import validateMonitor from '../generated/actions/monitor-validate.js';

export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export interface ActionSpec {
  readonly validate: Validator;
  /** `with:` fields naming paths the action reads: each must be a dep. */
  readonly reads: readonly string[];
  /** `with:` fields naming paths the action writes: each must be an output. */
  readonly writes: readonly string[];
  readonly ml: boolean;
  /** Bumped when the action's results change for the same inputs: it is part of stage keys. */
  readonly version: number;
  /** Changes things outside its outputs (the model registry): never restored from the run-cache. */
  readonly sideEffects?: boolean;
  /** Alternative sets of fields: exactly one set must be given, whole (checked at validation). */
  readonly modes?: readonly (readonly string[])[];
}

/** The action a `uses:` value names ("mlpipe/train"), if this mlpipe has it. */
export function actionFor(uses: string): (ActionSpec & { readonly name: string }) | undefined {
  if (!uses.startsWith('mlpipe/')) return undefined;
  const name = uses.slice('mlpipe/'.length);
  const spec = ACTIONS[name];
  return spec ? { ...spec, name } : undefined;
}

export const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  split: { validate: validateSplit, reads: ['data'], writes: ['out'], ml: false, version: 1 },
  train: { validate: validateTrain, reads: ['train', 'validation', 'hyperparameters'], writes: ['out', 'history', 'metrics'], ml: true, version: 1 },
  tune: { validate: validateTune, reads: ['train', 'validation'], writes: ['out', 'trials'], ml: true, version: 2 },
  register: { validate: validateRegister, reads: ['model', 'metrics'], writes: ['out'], ml: false, version: 1, sideEffects: true },
  package: { validate: validatePackage, reads: ['model', 'example', 'registration'], writes: ['out'], ml: false, version: 1 },
  monitor: { validate: validateMonitor, reads: ['reference', 'current', 'model'], writes: ['out'], ml: true, version: 1 },
  evaluate: { validate: validateEvaluate, reads: ['model', 'data', 'folds'], writes: ['metrics'], ml: true, version: 1, modes: [['model', 'data'], ['folds', 'train']] },
};
