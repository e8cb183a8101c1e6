// What run, status, checkout and gc share: analyse the project (with --set
// overrides), select the target stages, and open .mlpipe/ state and lock files.
import { parse } from 'yaml';
import { analyze } from '../analysis.js';
import type { ProjectGraph } from '../graph/build.js';
import { selectStages, type SelectionMode } from '../graph/select.js';
import { error, hasErrors, type Diagnostic } from '../pipeline/diagnostic.js';
import type { Pipeline, StageId } from '../pipeline/model.js';
import { openState, type ProjectState } from '../run/state.js';
import { initHashing } from '../cache/hash.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { lookup, parseKey } from '../pipeline/params.js';
import { STATE_DIR } from '../pipeline/project.js';
import { ProjectLock } from '../run/project-lock.js';
import { join } from 'node:path';
import type { CliContext } from './context.js';

export interface Session {
  readonly root: string;
  readonly g: ProjectGraph;
  readonly selected: StageId[];
  /** The stages the targets name themselves (before upstream/downstream selection). */
  readonly targeted: Set<StageId>;
  readonly state: ProjectState;
  readonly pipelines: readonly Pipeline[];
}

export interface SessionOptions {
  readonly targets: readonly string[];
  readonly mode: SelectionMode;
  readonly sets?: readonly string[];
}

function parseSets(sets: readonly string[]): { overrides: Map<string, unknown>; diagnostics: Diagnostic[] } {
  const overrides = new Map<string, unknown>();
  const diagnostics: Diagnostic[] = [];
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      diagnostics.push(error('bad-set', `--set "${s}" must be KEY=VALUE`, undefined, { suggestion: 'for example --set train.lr=0.01' }));
      continue;
    }
    try {
      overrides.set(s.slice(0, eq), parse(s.slice(eq + 1)));
    } catch (e) {
      diagnostics.push(error('bad-set', `--set ${s}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`));
    }
  }
  return { overrides, diagnostics };
}

/** "a.b" and "a.b.c" (or "a.b[0]") name overlapping values. */
function keysOverlap(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return long === short || long.startsWith(`${short}.`) || long.startsWith(`${short}[`);
}

/**
 * A --set override reaches commands only through ${...} and action inputs: a
 * cmd stage that declares the key under "params:" may read the params file
 * itself and would run with the file's value while its lock recorded the
 * override. Such overrides are refused (exp run writes them into its copy of
 * the file instead).
 */
function overridesCommandsWouldNotSee(pipelines: readonly Pipeline[], overrides: ReadonlyMap<string, unknown>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const key of overrides.keys()) {
    const segments = parseKey(key);
    if (!segments) continue;
    for (const stage of pipelines.flatMap((p) => p.stages)) {
      if (!stage.cmd) continue;
      const param = stage.params.find((p) => p.declared && (p.key === null ? lookup(p.value, segments).found : keysOverlap(p.key, key)));
      if (!param) continue;
      out.push(
        error('set-unseen-by-command', `--set ${key}: stage "${stage.id}" declares this param, and its command may read ${param.file} itself, so it would not see the override`, param.loc, {
          suggestion: `try the value as an experiment, which writes it into its own copy of ${param.file}: mlpipe exp run --set ${key}=VALUE; or pass it to the command as \${${key}} instead of listing it under "params:"`,
        }),
      );
      break;
    }
  }
  return out;
}

/** Opens a session, or returns the diagnostics that prevent it (exit 2). */
export async function openSession(ctx: CliContext, options: SessionOptions): Promise<Session | Diagnostic[]> {
  const found = ctx.root();
  if ('diagnostic' in found) return [found.diagnostic];
  const sets = parseSets(options.sets ?? []);
  if (sets.diagnostics.length > 0) return sets.diagnostics;
  // The WebAssembly hasher compiles off the main thread while the YAML is read.
  const hashing = initHashing();
  const parseCache = ParseCache.load(join(found.root, STATE_DIR));
  const result = analyze(found.root, undefined, sets.overrides, parseCache);
  if (!result.ok || !result.graph) return [...result.diagnostics];
  const unseen = overridesCommandsWouldNotSee(result.pipelines, sets.overrides);
  if (unseen.length > 0) return unseen;
  const selection = selectStages(result.graph, options.targets, options.mode);
  if (hasErrors(selection.diagnostics)) return selection.diagnostics;
  const targeted = new Set(options.targets.length > 0 ? selectStages(result.graph, options.targets, 'single').ids : []);
  await hashing;
  const state = await openState(found.root, result.pipelines, parseCache);
  const stateErrors = [...state.configDiagnostics, ...state.locks.diagnostics];
  if (hasErrors(stateErrors)) return stateErrors;
  ctx.report(result.diagnostics); // warnings
  return { root: found.root, g: result.graph, selected: selection.ids, targeted, state, pipelines: result.pipelines };
}

/**
 * Takes the project lock, then opens the session: the lock files, the cache
 * and the registry are read only once no other mlpipe can change them (a
 * command that waited for a run acts on what that run left, not on what was
 * there before it).
 */
export async function openLockedSession(ctx: CliContext, options: SessionOptions, argv: readonly string[]): Promise<{ session: Session; lock: ProjectLock } | Diagnostic[]> {
  const found = ctx.root();
  if ('diagnostic' in found) return [found.diagnostic];
  const lock = await ProjectLock.acquire(join(found.root, STATE_DIR), ['mlpipe', ...argv].join(' '), (h) => ctx.log(`waiting for another mlpipe on this project to finish (pid ${h.pid}: ${h.command})`));
  const session = await openSession(ctx, options);
  if (Array.isArray(session)) {
    lock.release(true);
    return session;
  }
  return { session, lock };
}
