// mlpipe/register: adds a model — a directory or one file, of any flavor — to
// the registry as a new version of a named model (or finds the version with the
// same bytes: registering twice is idempotent), records where it came from —
// metrics, the pipeline's params, pipeline, stage, lock file, the stage that
// wrote the model and its lock key, git commit and whether the working tree had
// uncommitted changes — stores its bytes in the cache, moves the given aliases
// to it, and writes a small receipt naming the version.
//
// With `promote`, one alias moves only when this model (the challenger) beats
// the version behind the alias (the champion) on a metric; the decision and
// both scores are recorded with the version, in the same atomic write of the
// registry file, and in the receipt (a metrics file `if:` can read). With
// `retire`, versions that hold no alias are retired by policy.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ActionContext } from './launch.js';
import { ActionError } from './errors.js';
import { readJsonObject, topLevelNumbers } from './json-files.js';
import { writeOutput } from './output.js';
import { MODEL_FILES } from '../ml/model-files.js';
import { storeModel } from '../registry/model-store.js';
import { RegistryError, updateModel, withRetirementPolicy, withVersion, type Flavor, type ModelRecord, type ModelVersion, type Promotion } from '../registry/registry.js';

export interface PromoteInputs {
  readonly alias: string;
  readonly metric: string;
  readonly goal?: 'maximize' | 'minimize';
  readonly min_delta?: number;
}

export interface RegisterInputs {
  readonly name: string;
  readonly model: string;
  readonly flavor?: Flavor;
  readonly metrics?: string;
  readonly aliases?: readonly string[];
  readonly promote?: PromoteInputs;
  readonly retire?: { readonly keep_last?: number; readonly older_than?: string };
  readonly out: string;
}

/** Most uncommitted paths named with a version. */
const MAX_CHANGED = 50;

/** The commit, and the uncommitted paths that are not the run's own outputs (lock files, outputs, the registry). */
function gitState(root: string, generated: readonly string[]): { commit?: string; dirty?: boolean; changed?: string[] } {
  const head = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return {};
  const commit = head.stdout.trim() || undefined;
  const status = spawnSync('git', ['status', '--porcelain=v1', '-z', '--untracked-files=normal'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (status.status !== 0) return { ...(commit ? { commit } : {}) };
  const entries = status.stdout.split('\0').filter(Boolean);
  const paths: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const path = e.slice(3).replace(/\/$/, '');
    if (e[0] === 'R' || e[0] === 'C') i++; // the rename's source follows
    paths.push(path);
  }
  // mlpipe's own writes: its state, the registry, .gitignore entries for cached outputs, outputs and lock files.
  const ours = (p: string) => p === '.mlpipe' || p.startsWith('.mlpipe/') || p === 'registry' || p.startsWith('registry/') || p === '.gitignore' || p.endsWith('/.gitignore') || generated.some((g) => p === g || p.startsWith(`${g}/`) || g.startsWith(`${p}/`));
  const changed = paths.filter((p) => !ours(p)).sort();
  return { ...(commit ? { commit } : {}), dirty: changed.length > 0, ...(changed.length > 0 ? { changed: changed.slice(0, MAX_CHANGED) } : {}) };
}

/** The flavor declared, or tfjs for a directory mlpipe/train or mlpipe/package wrote. */
function declaredFlavor(inputs: RegisterInputs): Flavor {
  const isDir = statSync(inputs.model, { throwIfNoEntry: false })?.isDirectory();
  if (isDir === undefined) throw new ActionError(`${inputs.model} does not exist`);
  const lacking = isDir ? MODEL_FILES.filter((f) => !existsSync(join(inputs.model, f))) : [...MODEL_FILES];
  const flavor = inputs.flavor ?? (isDir && lacking.length === 0 ? 'tfjs' : undefined);
  if (!flavor) throw new ActionError(`${inputs.model} is not a model directory mlpipe/train or mlpipe/package wrote${isDir ? ` (${lacking.join(', ')} missing)` : ''}: another kind of model? declare it with flavor: onnx, sklearn, pytorch or custom`);
  if (flavor === 'tfjs' && lacking.length > 0) throw new ActionError(`${inputs.model} is not a tfjs model directory mlpipe/train or mlpipe/package wrote: ${lacking.join(', ')} missing (another kind of model? declare its flavor)`);
  if (flavor === 'onnx' && !(isDir ? existsSync(join(inputs.model, 'model.onnx')) : inputs.model.endsWith('.onnx'))) throw new ActionError(`${inputs.model} is not an ONNX model: register a .onnx file, or a directory holding model.onnx`);
  return flavor;
}

/** The champion's score for the decision: from the evaluation (same rows), else as recorded when it was registered. */
function championScore(record: ModelRecord, champion: ModelVersion, metrics: Record<string, unknown>, promote: PromoteInputs, metricsFile: string): { value: number; source: 'evaluation' | 'registry' } {
  const evaluated = metrics.champion;
  if (evaluated && typeof evaluated === 'object' && !Array.isArray(evaluated)) {
    const e = evaluated as Record<string, unknown>;
    if (typeof e.hash === 'string' && e.hash !== champion.hash) {
      throw new ActionError(
        `${metricsFile} scored ${record.name}:${String(e.version ?? '?')} as the champion, but ${record.name}@${promote.alias} is now ${champion.version}: rerun the evaluation (mlpipe run --force <evaluate stage>) so both are scored on the same rows`,
      );
    }
    if (typeof e[promote.metric] === 'number') return { value: e[promote.metric] as number, source: 'evaluation' };
    if (typeof e.unavailable === 'string') {
      // The evaluation could not load the champion's bytes: its score as recorded when it was registered.
      const recorded = champion.metrics?.[promote.metric];
      if (typeof recorded === 'number') return { value: recorded, source: 'registry' };
    }
    throw new ActionError(`${metricsFile}: the champion's scores have no ${promote.metric} (they have ${Object.keys(topLevelNumbers(e)).join(', ') || 'none'})`);
  }
  const recorded = champion.metrics?.[promote.metric];
  if (typeof recorded !== 'number') {
    throw new ActionError(`${record.name}:${champion.version} (${record.name}@${promote.alias}) has no recorded ${promote.metric} to compare with, and ${metricsFile} has no champion scores: evaluate with compare_to: ${record.name}@${promote.alias}`);
  }
  return { value: recorded, source: 'registry' };
}

/** The challenger against the champion: whether the alias moves, and why. */
function decide(record: ModelRecord, hash: string, challenger: number, metrics: Record<string, unknown>, inputs: RegisterInputs): Promotion {
  const promote = inputs.promote!;
  const goal = promote.goal ?? 'maximize';
  const minDelta = promote.min_delta ?? 0;
  const base = { alias: promote.alias, metric: promote.metric, goal, ...(promote.min_delta !== undefined ? { min_delta: promote.min_delta } : {}), challenger };
  const data = metrics.data && typeof metrics.data === 'object' ? (metrics.data as Record<string, unknown>) : undefined;
  const dataPart = data && typeof data.path === 'string' && typeof data.hash === 'string' && /^[0-9a-f]{32}$/.test(data.hash) ? { data: { path: data.path, hash: data.hash } } : {};
  const held = record.aliases[promote.alias];
  const champion = held === undefined ? undefined : record.versions.find((v) => v.version === held);
  if (!champion || champion.retired) {
    const why = champion ? `${record.name}:${champion.version} behind ${promote.alias} is retired` : `no champion yet: ${record.name} has no ${promote.alias} version`;
    return { ...base, champion: null, ...dataPart, decision: 'promoted', reason: why };
  }
  if (champion.hash === hash) return { ...base, champion: { version: champion.version, value: challenger, source: 'evaluation' }, ...dataPart, decision: 'promoted', reason: `this model is already ${record.name}@${promote.alias}` };
  const score = championScore(record, champion, metrics, promote, inputs.metrics!);
  const delta = goal === 'maximize' ? challenger - score.value : score.value - challenger;
  const wins = delta > 0 && delta >= minDelta - 1e-12;
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  const compare = `${promote.metric} ${fmt(challenger)} vs ${fmt(score.value)} for ${record.name}:${champion.version}${score.source === 'registry' ? ' (as recorded at its registration)' : ''}`;
  const reason = wins
    ? `the challenger wins: ${compare}${minDelta > 0 ? ` (by ${fmt(delta)} ≥ min_delta ${minDelta})` : ''}`
    : `the champion stays: ${compare}${delta > 0 ? ` (better by ${fmt(delta)}, less than min_delta ${minDelta})` : goal === 'maximize' ? ' (not higher)' : ' (not lower)'}`;
  return { ...base, champion: { version: champion.version, value: score.value, source: score.source }, ...dataPart, decision: wins ? 'promoted' : 'kept', reason };
}

export async function register(inputs: RegisterInputs, context: ActionContext, log: (line: string) => void): Promise<void> {
  const rel = relative(context.root, resolve(inputs.model)).split('\\').join('/');
  const flavor = declaredFlavor(inputs);
  const metricsData = inputs.metrics ? readJsonObject(inputs.metrics, 'the metrics to record with the version') : undefined;
  const metrics = metricsData ? topLevelNumbers(metricsData) : undefined;
  let challenger: number | undefined;
  if (inputs.promote) {
    if (!metricsData) throw new ActionError(`promote compares ${inputs.promote.metric}: give the metrics file (with: metrics: …) that holds it`);
    const value = metricsData[inputs.promote.metric];
    if (typeof value !== 'number') throw new ActionError(`promote: ${inputs.metrics} has no ${inputs.promote.metric} (it has ${Object.keys(metrics ?? {}).join(', ') || 'no numbers'})`);
    challenger = value;
  }
  let olderThanMs: number | undefined;
  if (inputs.retire?.older_than !== undefined) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w)\s*$/.exec(inputs.retire.older_than)!;
    olderThanMs = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  }
  try {
    const stored = await storeModel(context.root, rel);
    const aliases = inputs.aliases ?? [];
    const trim = (p: string) => p.replace(/\/+$/, '');
    const producer = Object.entries(context.upstream ?? {}).find(([dep]) => trim(dep) === rel || rel.startsWith(`${trim(dep)}/`))?.[1];
    const git = gitState(context.root, context.generated ?? []);
    const now = new Date();
    const result = await updateModel(context.root, inputs.name, (current) => {
      const same = current.versions.find((v) => v.hash === stored.hash);
      // Registering the same bytes again keeps the decision made the first time (a rerun after a kill changes nothing).
      const promotion = inputs.promote ? (same?.promotion?.alias === inputs.promote.alias ? same.promotion : decide(current, stored.hash, challenger!, metricsData!, inputs)) : undefined;
      const moving = promotion?.decision === 'promoted' ? [...aliases, promotion.alias] : aliases;
      const r = withVersion(
        current,
        {
          hash: stored.hash,
          ...(flavor !== 'tfjs' ? { flavor } : {}),
          ...(stored.file ? { file: true as const } : {}),
          registered_at: now.toISOString(),
          ...git,
          pipeline: context.pipeline,
          stage: context.stage,
          lock: context.lock,
          source: rel,
          produced_by: producer,
          metrics,
          params: context.params,
          ...(promotion ? { promotion } : {}),
        },
        [...new Set(moving)],
      );
      const policy = inputs.retire ? withRetirementPolicy(r.record, { ...inputs.retire, ...(olderThanMs !== undefined ? { older_than_ms: olderThanMs } : {}) }, now) : { record: r.record, retired: [] };
      return { record: policy.record, result: { ...r, promotion, retired: policy.retired, moved: moving } };
    });
    const { version, existing, promotion, retired, moved } = result;
    log(`${existing ? 'already registered' : 'registered'}: ${inputs.name}:${version.version} (${flavor}, ${stored.hash.slice(0, 12)}…)${git.dirty ? ` from a working tree with uncommitted changes (${git.changed!.slice(0, 3).join(', ')}${git.changed!.length > 3 ? ', …' : ''})` : ''}`);
    if (promotion) log(`${promotion.decision === 'promoted' ? `promoted: ${inputs.name}@${promotion.alias} → ${version.version}` : `not promoted: ${inputs.name}@${promotion.alias} stays ${promotion.champion?.version ?? 'unset'}`}; ${promotion.reason}`);
    const others = moved.filter((a) => a !== promotion?.alias);
    if (others.length > 0) log(`aliases: ${others.map((a) => `${a} → ${version.version}`).join(', ')}`);
    for (const v of retired) log(`retired: ${inputs.name}:${v.version} (${v.retired!.reason})`);
    const receipt = {
      name: inputs.name,
      version: version.version,
      hash: stored.hash,
      flavor,
      ...(promotion
        ? {
            promoted: promotion.decision === 'promoted',
            challenger: promotion.challenger,
            ...(promotion.champion ? { champion: promotion.champion.value, champion_version: promotion.champion.version } : {}),
            decision: promotion.reason,
          }
        : {}),
      ...(retired.length > 0 ? { retired: retired.map((v) => v.version) } : {}),
    };
    writeOutput(inputs.out, `${JSON.stringify(receipt, null, 2)}\n`);
  } catch (e) {
    if (e instanceof RegistryError) throw new ActionError(`${e.message}${e.suggestion ? ` — ${e.suggestion}` : ''}`);
    throw e;
  }
}
