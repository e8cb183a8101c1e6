// The built-in actions (`uses: mlpipe/<name>`): each with its compiled
// `with:` schema (schemas/actions/<name>.schema.json), the `with:` fields that
// name files it reads and writes (which must be the stage's deps and outs, so
// the graph and the cache see them), and whether it runs TensorFlow.js (its
// key then includes the backend). The implementations live beside this file
// and are loaded only in the action runner process.
import type { ErrorObject } from 'ajv';
import { fractionsProblem, type Fractions } from './split-fractions.js';
import validateSplit from '../generated/actions/split-validate.js';
import validateTrain from '../generated/actions/train-validate.js';
import validateEvaluate from '../generated/actions/evaluate-validate.js';
import validateTune from '../generated/actions/tune-validate.js';
import validateRegister from '../generated/actions/register-validate.js';
import validatePackage from '../generated/actions/package-validate.js';
import validateMonitor from '../generated/actions/monitor-validate.js';
import validateReport from '../generated/actions/report-validate.js';

export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export interface ActionSpec {
  readonly validate: Validator;
  /** `with:` fields naming paths (or lists of paths) the action reads: each must be a dep. */
  readonly reads: readonly string[];
  /** `with:` fields naming paths the action writes: each must be an output. */
  readonly writes: readonly string[];
  readonly ml: boolean;
  /** Bumped when the action's results change for the same inputs: it is part of stage keys. */
  readonly version: number;
  /**
   * Files it changes outside its outputs (the model registry), from its
   * `with:`: never cached or restored, and never restored from the run-cache;
   * a stage may depend on them and then runs after this one.
   */
  readonly updates?: (w: Record<string, unknown>) => string[];
  /** Alternative sets of fields: exactly one set must be given, whole (checked at validation). */
  readonly modes?: readonly (readonly string[])[];
  /** What a schema cannot say about `with:`, checked at validation: the field at fault and why. */
  readonly check?: (w: Record<string, unknown>) => { readonly field: string; readonly message: string; readonly suggestion?: string } | undefined;
}

/** The action a `uses:` value names ("mlpipe/train"), if this mlpipe has it. */
export function actionFor(uses: string): (ActionSpec & { readonly name: string }) | undefined {
  if (!uses.startsWith('mlpipe/')) return undefined;
  const name = uses.slice('mlpipe/'.length);
  const spec = ACTIONS[name];
  return spec ? { ...spec, name } : undefined;
}

/** The files a stage's action changes outside its outputs (see ActionSpec.updates). */
export function updatesOf(stage: { readonly uses?: { readonly value: string }; readonly with?: unknown }): string[] {
  const updates = stage.uses ? actionFor(stage.uses.value)?.updates : undefined;
  return updates && stage.with && typeof stage.with === 'object' ? updates(stage.with as Record<string, unknown>) : [];
}

export const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  split: {
    validate: validateSplit,
    reads: ['data'],
    writes: ['out'],
    ml: false,
    version: 1,
    check: (w) => {
      const problem = w.fractions && typeof w.fractions === 'object' ? fractionsProblem(w.fractions as Fractions) : undefined;
      return problem ? { field: 'fractions', message: problem, suggestion: 'for example { train: 0.7, validation: 0.15, test: 0.15 }' } : undefined;
    },
  },
  train: { validate: validateTrain, reads: ['train', 'validation', 'hyperparameters'], writes: ['out', 'history', 'metrics'], ml: true, version: 1 },
  tune: { validate: validateTune, reads: ['train', 'validation'], writes: ['out', 'trials'], ml: true, version: 3 },
  register: { validate: validateRegister, reads: ['model', 'metrics'], writes: ['out'], ml: false, version: 2, updates: (w) => (typeof w.name === 'string' ? [`registry/${w.name}.yaml`] : []) },
  package: { validate: validatePackage, reads: ['model', 'example', 'registration'], writes: ['out'], ml: false, version: 1 },
  monitor: { validate: validateMonitor, reads: ['reference', 'current', 'model'], writes: ['out'], ml: true, version: 2 },
  report: { validate: validateReport, reads: ['metrics', 'evaluation', 'history', 'monitor', 'registry'], writes: ['out'], ml: false, version: 3 },
  evaluate: { validate: validateEvaluate, reads: ['model', 'data', 'folds'], writes: ['metrics'], ml: true, version: 2, modes: [['model', 'data'], ['folds', 'train']] },
};
