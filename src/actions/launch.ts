// What the engine hands the action runner for a built-in action's stage: the
// action, its `with:`, the stage id, and where it comes from (project root,
// pipeline file, lock file, the pipeline's param values). ML actions get the
// chosen TensorFlow.js backend, and mlpipe/tune how many trials it may train
// at once. The warm runner receives it as a message; a one-shot runner
// (MLPIPE_ACTION_RUNNER=process) as a JSON file beside the stage's log.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { lockPathFor } from '../cache/lockfile.js';
import type { Stage } from '../pipeline/model.js';
import { mlBackend, type BackendName } from '../ml/backend.js';
import { actionFor } from './registry.js';
import { bundledScript } from '../util/bundled.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where an action's stage comes from, for records such as the model registry's. */
export interface ActionContext {
  readonly root: string;
  /** Root-relative paths of the pipeline file and its lock file. */
  readonly pipeline: string;
  readonly lock: string;
  /** The stage's name in its pipeline. */
  readonly stage: string;
  /** Every param the pipeline's stages use: dotted key → value. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Deps another stage produced (as declared, e.g. "models/iris/"): that stage's id and the key of its lock entry. */
  readonly upstream: Readonly<Record<string, { readonly stage: string; readonly key: string }>>;
  /** mlpipe/register: what runs write (every stage output and lock file), which do not make the working tree "dirty". */
  readonly generated?: readonly string[];
}

export interface ActionRequest {
  readonly action: string;
  readonly with: Record<string, unknown>;
  readonly stage: string;
  readonly context: ActionContext;
  readonly backend?: BackendName;
  /** mlpipe/tune: how many trials may train at once (the stage's share of --jobs). Never changes results. */
  readonly threads?: number;
}

/** The param values a pipeline's stages use, by dotted key (a whole-file param by file name). */
export function pipelineParams(stages: Iterable<Stage>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const s of stages) for (const p of s.params) params[p.key ?? p.file] = p.value;
  return Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What the runner needs to run the stage's action. */
export function actionRequest(stage: Stage, root: string, params: ActionContext['params'], upstream: ActionContext['upstream'], threads: number, generated?: () => readonly string[]): ActionRequest {
  const action = actionFor(stage.uses!.value);
  const backend = action?.ml ? mlBackend() : undefined;
  const file = stage.loc.file.absPath;
  const context: ActionContext = {
    root,
    pipeline: relative(root, file).split('\\').join('/'),
    lock: relative(root, lockPathFor(file)).split('\\').join('/'),
    stage: stage.name,
    params,
    upstream,
    ...(action?.name === 'register' && generated ? { generated: generated() } : {}),
  };
  return { action: action?.name ?? stage.uses!.value, with: (stage.with ?? {}) as Record<string, unknown>, stage: stage.id, context, ...(backend ? { backend } : {}), ...(action?.name === 'tune' ? { threads } : {}) };
}

/** The shell command of a one-shot runner for `spec`, written to `specFile`. */
export function actionCommand(spec: ActionRequest, specFile: string): string {
  writeFileSync(specFile, `${JSON.stringify(spec)}\n`);
  return `exec ${quote(process.execPath)} ${quote(bundledScript('action-runner'))} ${quote(specFile)}`;
}
