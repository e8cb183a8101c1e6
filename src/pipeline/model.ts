// The typed result of analysis: concrete stages (after substitution and fan-out)
// that keep the source location of every value they came from, so later steps
// (graph checks, execution) can point back into the YAML.
import type { Location } from './source.js';
import type { YamlFile } from './yaml-file.js';
import type { Condition } from './condition.js';

/** "pipeline:stage" or "pipeline:stage@instance". */
export type StageId = string & { readonly __brand: 'StageId' };

export interface Located<T> {
  readonly value: T;
  readonly loc: Location;
}

export interface DepSpec {
  /** Normalised root-relative path (no trailing "/"), or a glob pattern. */
  readonly path: string;
  readonly glob: boolean;
  readonly loc: Location;
}

export type OutputRole = 'out' | 'metrics' | 'plots';

export interface OutputSpec {
  readonly path: string;
  /** Declared with a trailing "/". */
  readonly isDir: boolean;
  readonly role: OutputRole;
  readonly cache: boolean;
  readonly persist: boolean;
  readonly loc: Location;
}

export interface ParamDep {
  /** Root-relative params file. */
  readonly file: string;
  /** Dotted key, or null when the stage depends on the whole file. */
  readonly key: string | null;
  readonly value: unknown;
  readonly loc: Location;
  /** Listed under the stage's own "params:" (not only used through ${...}). */
  readonly declared?: true;
}

export interface Resources {
  readonly cpus: number;
  readonly gpus: number;
  readonly mutex: readonly string[];
}

export interface Stage {
  readonly id: StageId;
  readonly pipeline: string;
  /** Stage name within its pipeline, with its instance suffix: "sweep@0.01-16". */
  readonly name: string;
  /** The name as written in the file: "sweep". Equal to name unless fanned out. */
  readonly group: string;
  readonly instance?: string;
  /** Where the stage is declared (its key). */
  readonly loc: Location;
  readonly desc?: string;
  readonly cmd?: readonly Located<string>[];
  readonly uses?: Located<string>;
  readonly with?: unknown;
  readonly deps: readonly DepSpec[];
  readonly params: readonly ParamDep[];
  readonly outs: readonly OutputSpec[];
  readonly needs: readonly Located<string>[];
  readonly wdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly alwaysRun: boolean;
  /** Watch mode: killed and restarted when its own inputs change while it runs. */
  readonly interruptible: boolean;
  readonly frozen: boolean;
  readonly timeoutMs?: number;
  readonly retries: number;
  readonly resources: Resources;
  readonly meta?: unknown;
  /** `if:` — when false, the stage and what needs it are skipped. */
  readonly condition?: Condition;
}

export interface Pipeline {
  readonly name: string;
  readonly file: YamlFile;
  readonly description?: string;
  readonly paramFiles: readonly string[];
  readonly stages: readonly Stage[];
}

export function stageId(pipeline: string, name: string): StageId {
  return `${pipeline}:${name}` as StageId;
}
