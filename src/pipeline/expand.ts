// Expansion: one schema-valid pipeline document becomes concrete stages.
// Resolves params files, substitutes ${...} in every string field, fans out
// matrix/foreach stages into instances, and normalises every path, keeping the
// source location of each value.
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { error, type Diagnostic } from './diagnostic.js';
import { hasExpression, substitute, type ParamUse, type Scope } from './interpolate.js';
import type { DepSpec, Located, OutputRole, OutputSpec, ParamDep, Pipeline, Stage } from './model.js';
import { stageId } from './model.js';
import { ParamContext, formatKey, isRecord, lookup, parseKey, type ParamsFiles } from './params.js';
import { checkPath, type SymlinkGuard } from './paths.js';
import type { Location } from './source.js';
import { locate, type PathSegment, type YamlFile } from './yaml-file.js';
import { closest } from '../util/suggest.js';
import { checkAction } from './actions.js';
import { parseCondition, type ParsedCondition } from './condition.js';

export interface ExpandContext {
  readonly root: string;
  readonly params: ParamsFiles;
  readonly guard: SymlinkGuard;
  /** Params files whose own diagnostics were already reported by another pipeline. */
  readonly reportedParams: Set<string>;
  /** Stages expanded so far in the project (MAX_STAGES bounds it). */
  readonly stageCount: { n: number };
}

/** Instances one matrix/foreach stage may fan out to. */
export const MAX_FAN_OUT = 10_000;
/** Stages a project may have in all (2.5 times the largest measured in bench/engine.mjs). */
export const MAX_STAGES = 25_000;

type Raw = Record<string, unknown>;

/** Characters allowed in an instance suffix, so that "pipeline:stage@suffix" stays addressable. */
const INSTANCE_PART = /^[^\s:@,]+$/;

export function pipelineName(file: YamlFile): string {
  const data = file.data as Raw;
  return typeof data.name === 'string' ? data.name : basename(file.source.path, extname(file.source.path));
}

export function expandPipeline(file: YamlFile, ctx: ExpandContext): { pipeline?: Pipeline; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const data = file.data as Raw;
  const name = pipelineName(file);

  // Params files: listed, or params.yaml when present.
  const listed = Array.isArray(data.params) ? (data.params as string[]) : undefined;
  const paramFiles: { path: string; data: unknown }[] = [];
  const candidates = listed ?? (existsSync(join(ctx.root, 'params.yaml')) ? ['params.yaml'] : []);
  candidates.forEach((raw, i) => {
    const where = listed ? locate(file, ['params', i]) : file.source.at(0);
    const loaded = loadParamsFile(raw, where, ctx, diagnostics);
    if (loaded) paramFiles.push(loaded);
  });
  const paramCtx = new ParamContext(paramFiles);
  const vars = isRecord(data.vars) ? data.vars : {};

  const pipelineScope: Scope = { vars, params: paramCtx };
  const envSub = substituteTree(file, ['env'], data.env ?? {}, pipelineScope, diagnostics, false);
  const pipelineEnv = stringRecord(envSub.value);

  const stages: Stage[] = [];
  const entries = Object.entries(data.stages as Record<string, Raw>);
  // Each entry is at least one stage: too many is known before expanding any.
  const tooMany = (at: string) =>
    error('too-many-stages', `the project has more than ${MAX_STAGES.toLocaleString('en')} stages from here on`, locate(file, ['stages', at], 'key'), {
      suggestion: 'split the work into fewer, larger stages (a stage can process many files)',
    });
  if (ctx.stageCount.n + entries.length > MAX_STAGES) {
    diagnostics.push(tooMany(entries[MAX_STAGES - ctx.stageCount.n]![0]));
    return { diagnostics };
  }
  for (const [group, body] of entries) {
    const fanOutUses: ParamUse[] = [];
    const instances = fanOut(file, group, body, pipelineScope, diagnostics, fanOutUses);
    if (ctx.stageCount.n + instances.length > MAX_STAGES) {
      diagnostics.push(tooMany(group));
      break;
    }
    ctx.stageCount.n += instances.length;
    for (const instance of instances) {
      const stage = buildStage(file, ctx, {
        pipeline: name,
        group,
        body,
        instance,
        scope: { ...pipelineScope, item: instance.item, ...(instance.key !== undefined ? { key: instance.key } : {}) },
        pipelineEnv,
        pipelineParamUses: [...envSub.params, ...fanOutUses],
        diagnostics,
      });
      stages.push(stage);
    }
  }
  checkReportPaths(file, data, ctx, diagnostics);
  const description = typeof data.description === 'string' ? data.description : undefined;
  return {
    pipeline: { name, file, ...(description !== undefined ? { description } : {}), paramFiles: paramFiles.map((f) => f.path), stages },
    diagnostics,
  };
}

function loadParamsFile(raw: string, where: Location, ctx: ExpandContext, diagnostics: Diagnostic[]): { path: string; data: unknown } | undefined {
  const checked = checkPath(raw, 'params file', false);
  if (!checked.ok) {
    diagnostics.push(error('invalid-path', checked.message, where, checked.suggestion ? { suggestion: checked.suggestion } : {}));
    return undefined;
  }
  if (!existsSync(join(ctx.root, checked.path))) {
    diagnostics.push(error('missing-params-file', `params file "${checked.path}" not found`, where));
    return undefined;
  }
  const loaded = ctx.params.load(checked.path);
  if (!ctx.reportedParams.has(checked.path)) {
    ctx.reportedParams.add(checked.path);
    diagnostics.push(...loaded.diagnostics);
    if (loaded.file && loaded.file.data !== null && !isRecord(loaded.file.data)) {
      diagnostics.push(error('params-not-mapping', `params file "${checked.path}" must hold a mapping of keys to values`, loaded.file.source.at(0, 1)));
    }
  }
  if (!loaded.file || loaded.diagnostics.some((d) => d.severity === 'error')) return undefined;
  return { path: checked.path, data: loaded.file.data ?? {} };
}

interface Instance {
  /** "" for a stage without fan-out. */
  readonly suffix: string;
  readonly item?: unknown;
  readonly key?: string;
}

function isScalar(v: unknown): v is string | number | boolean {
  return ['string', 'number', 'boolean'].includes(typeof v);
}

/** Resolves a matrix axis or foreach value that may be a "${...}" reference. */
function fanOutValues(file: YamlFile, path: PathSegment[], value: unknown, scope: Scope, diagnostics: Diagnostic[], uses: ParamUse[]): unknown {
  if (typeof value !== 'string') return value;
  const sub = substitute(value, scope, exprLocator(file, path), true);
  diagnostics.push(...sub.diagnostics);
  uses.push(...sub.params);
  if (sub.diagnostics.length > 0) return undefined;
  return sub.value;
}

/** The instances of a stage; `uses` collects params that the fan-out values came from. */
function fanOut(file: YamlFile, group: string, body: Raw, scope: Scope, diagnostics: Diagnostic[], uses: ParamUse[]): Instance[] {
  const base: PathSegment[] = ['stages', group];
  let instances: { parts: string[]; item: unknown; key?: string; where: Location }[];
  if (isRecord(body.matrix)) {
    instances = [{ parts: [], item: {}, where: locate(file, [...base, 'matrix']) }];
    for (const [axis, raw] of Object.entries(body.matrix)) {
      const values = fanOutValues(file, [...base, 'matrix', axis], raw, scope, diagnostics, uses);
      if (values === undefined) return [];
      if (!Array.isArray(values) || values.length === 0) {
        diagnostics.push(error('matrix-values', `matrix axis "${axis}" must be a non-empty list`, locate(file, [...base, 'matrix', axis])));
        return [];
      }
      if (instances.length * values.length > MAX_FAN_OUT) {
        diagnostics.push(
          error('fan-out', `the matrix makes more than ${MAX_FAN_OUT.toLocaleString('en')} instances (${instances.length.toLocaleString('en')} × ${values.length.toLocaleString('en')} by axis "${axis}")`, locate(file, [...base, 'matrix']), {
            suggestion: 'use fewer values per axis, or let one instance process several values',
          }),
        );
        return [];
      }
      const next: typeof instances = [];
      for (const inst of instances) {
        values.forEach((v, i) => {
          const where = typeof raw === 'string' ? locate(file, [...base, 'matrix', axis]) : locate(file, [...base, 'matrix', axis, i]);
          next.push({ parts: [...inst.parts, isScalar(v) ? String(v) : `${axis}${i}`], item: { ...(inst.item as Raw), [axis]: v }, where });
        });
      }
      instances = next;
    }
  } else if (body.foreach !== undefined) {
    const values = fanOutValues(file, [...base, 'foreach'], body.foreach, scope, diagnostics, uses);
    if (values === undefined) return [];
    const literal = typeof body.foreach !== 'string';
    const count = Array.isArray(values) ? values.length : isRecord(values) ? Object.keys(values).length : 0;
    if (count > MAX_FAN_OUT) {
      diagnostics.push(error('fan-out', `"foreach" makes ${count.toLocaleString('en')} instances; at most ${MAX_FAN_OUT.toLocaleString('en')}`, locate(file, [...base, 'foreach']), { suggestion: 'let one instance process several values' }));
      return [];
    }
    if (Array.isArray(values) && values.length > 0) {
      instances = values.map((v, i) => ({ parts: [isScalar(v) ? String(v) : String(i)], item: v, where: locate(file, literal ? [...base, 'foreach', i] : [...base, 'foreach']) }));
    } else if (isRecord(values) && Object.keys(values).length > 0) {
      instances = Object.entries(values).map(([k, v]) => ({ parts: [k], item: v, key: k, where: locate(file, literal ? [...base, 'foreach', k] : [...base, 'foreach'], 'key') }));
    } else {
      diagnostics.push(error('foreach-values', '"foreach" must be a non-empty list or mapping', locate(file, [...base, 'foreach'])));
      return [];
    }
  } else {
    return [{ suffix: '' }];
  }

  const seen = new Map<string, Location>();
  const out: Instance[] = [];
  for (const inst of instances) {
    const bad = inst.parts.find((p) => !INSTANCE_PART.test(p));
    if (bad !== undefined) {
      diagnostics.push(
        error('instance-name', `value "${bad}" cannot be part of an instance name (no spaces, ":", "@" or ",")`, inst.where, {
          suggestion: 'use foreach over a mapping to give each instance a name of your choice',
        }),
      );
      continue;
    }
    const suffix = inst.parts.join('-');
    const first = seen.get(suffix);
    if (first) {
      diagnostics.push(error('duplicate-instance', `two instances of "${group}" are both named "${group}@${suffix}"`, inst.where, { notes: [{ message: 'the first one comes from here', location: first }] }));
      continue;
    }
    seen.set(suffix, inst.where);
    out.push({ suffix, item: inst.item, ...(inst.key !== undefined ? { key: inst.key } : {}) });
  }
  return out;
}

/** Finds the text of an expression in the raw source of the scalar at `path`. */
function exprLocator(file: YamlFile, path: readonly PathSegment[]): (expr: string) => Location {
  return (expr: string) => {
    const node = locate(file, path);
    const raw = file.source.text.slice(node.start, node.end);
    const needle = `\${${expr}}`;
    const at = raw.indexOf(needle);
    return at === -1 ? node : file.source.at(node.start + at, node.start + at + needle.length);
  };
}

/** Substitutes ${...} in every string below a value; typed under "with" and "meta". */
function substituteTree(file: YamlFile, path: PathSegment[], value: unknown, scope: Scope, diagnostics: Diagnostic[], typed: boolean): { value: unknown; params: ParamUse[] } {
  const params: ParamUse[] = [];
  const walk = (v: unknown, p: PathSegment[], isTyped: boolean): unknown => {
    if (typeof v === 'string') {
      if (!hasExpression(v)) return v;
      const sub = substitute(v, scope, exprLocator(file, p), isTyped);
      diagnostics.push(...sub.diagnostics);
      params.push(...sub.params);
      return sub.value;
    }
    if (Array.isArray(v)) return v.map((e, i) => walk(e, [...p, i], isTyped));
    if (isRecord(v)) {
      const out: Raw = {};
      for (const [k, e] of Object.entries(v)) {
        if (p.length === 2 && p[0] === 'stages' && (k === 'matrix' || k === 'foreach' || k === 'if')) continue;
        out[k] = walk(e, [...p, k], isTyped || (p.length === 2 && p[0] === 'stages' && (k === 'with' || k === 'meta')));
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, path, typed), params };
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, e] of Object.entries(v)) out[k] = String(e);
  return out;
}

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

interface StageInput {
  readonly pipeline: string;
  readonly group: string;
  readonly body: Raw;
  readonly instance: Instance;
  readonly scope: Scope;
  readonly pipelineEnv: Record<string, string>;
  readonly pipelineParamUses: ParamUse[];
  readonly diagnostics: Diagnostic[];
}

function buildStage(file: YamlFile, ctx: ExpandContext, input: StageInput): Stage {
  const { group, instance, diagnostics } = input;
  const base: PathSegment[] = ['stages', group];
  const at = (...p: PathSegment[]) => locate(file, [...base, ...p]);
  const before = diagnostics.length;
  const sub = substituteTree(file, base, input.body, input.scope, diagnostics, false);
  // An unknown ${...} leaves its text in place: checking that text against an action's schema would only add noise.
  const substitutionFailed = diagnostics.slice(before).some((d) => d.severity === 'error');
  const body = sub.value as Raw;
  const name = instance.suffix === '' ? group : `${group}@${instance.suffix}`;

  const pathError = (message: string, loc: Location, suggestion?: string) =>
    diagnostics.push(error('invalid-path', message, loc, suggestion ? { suggestion } : {}));

  const checkedPath = (raw: string, what: string, allowGlob: boolean, loc: Location) => {
    const c = checkPath(raw, what, allowGlob);
    if (!c.ok) {
      pathError(c.message, loc, c.suggestion);
      return undefined;
    }
    if (ctx.guard.escapes(c.path)) {
      pathError(`${what} "${raw}" leads outside the project root through a symbolic link`, loc);
      return undefined;
    }
    return c;
  };

  const cmd = body.cmd === undefined ? undefined : (Array.isArray(body.cmd) ? body.cmd : [body.cmd]).map((c, i) => ({ value: String(c), loc: Array.isArray(body.cmd) ? at('cmd', i) : at('cmd') }));

  const deps: DepSpec[] = [];
  (Array.isArray(body.deps) ? (body.deps as string[]) : []).forEach((raw, i) => {
    const c = checkedPath(raw, 'dep', true, at('deps', i));
    if (c) deps.push({ path: c.path, glob: c.glob, loc: at('deps', i) });
  });

  const outs: OutputSpec[] = [];
  for (const role of ['outs', 'metrics', 'plots'] as const) {
    const list = Array.isArray(body[role]) ? (body[role] as unknown[]) : [];
    list.forEach((entry, i) => {
      let raw: string;
      let flags: Raw = {};
      let loc: Location;
      if (typeof entry === 'string') {
        raw = entry;
        loc = at(role, i);
      } else {
        const [k, v] = Object.entries(entry as Raw)[0]!;
        raw = k;
        flags = isRecord(v) ? v : {};
        loc = locate(file, [...base, role, i, k], 'key');
      }
      const c = checkedPath(raw, role === 'outs' ? 'output' : role === 'metrics' ? 'metrics file' : 'plots file', false, loc);
      if (!c) return;
      const outRole: OutputRole = role === 'outs' ? 'out' : role;
      outs.push({
        path: c.path,
        isDir: c.isDir,
        role: outRole,
        cache: typeof flags.cache === 'boolean' ? flags.cache : outRole === 'out',
        persist: flags.persist === true,
        loc,
      });
    });
  }
  if (typeof body.uses === 'string' && !substitutionFailed) {
    diagnostics.push(...checkAction(file, base, body.uses, body.with, deps.map((d) => d.path), outs.map((o) => o.path)));
  }

  const params = stageParams(file, ctx, base, body, input.scope.params, diagnostics);
  const parsed = input.body.if === undefined ? undefined : stageCondition(file, [...base, 'if'], input.body.if as string | boolean, input.scope);
  if (parsed) diagnostics.push(...parsed.diagnostics);
  for (const use of [...input.pipelineParamUses, ...sub.params, ...(parsed?.params ?? [])]) {
    params.push({ file: use.file, key: use.key, value: use.value, loc: at() });
  }
  const seenParams = new Set<string>();
  const uniqueParams = params.filter((p) => {
    const k = `${p.file}\0${p.key ?? ''}`;
    if (seenParams.has(k)) return false;
    seenParams.add(k);
    return true;
  });

  let wdir = '.';
  if (typeof body.wdir === 'string' && body.wdir !== '.' && body.wdir !== './') {
    const c = checkedPath(body.wdir, 'wdir', false, at('wdir'));
    if (c) wdir = c.path;
  }

  const resources = isRecord(body.resources) ? body.resources : {};
  const timeoutMs = parseDuration(body.timeout);
  const desc = typeof body.desc === 'string' ? body.desc : undefined;
  const needs: Located<string>[] = (Array.isArray(body.needs) ? (body.needs as string[]) : []).map((n, i) => ({ value: n, loc: at('needs', i) }));
  return {
    id: stageId(input.pipeline, name),
    pipeline: input.pipeline,
    name,
    group,
    ...(instance.suffix !== '' ? { instance: instance.suffix } : {}),
    loc: locate(file, base, 'key'),
    ...(desc !== undefined ? { desc } : {}),
    ...(cmd ? { cmd } : {}),
    ...(typeof body.uses === 'string' ? { uses: { value: body.uses, loc: at('uses') }, with: body.with ?? {} } : {}),
    deps,
    params: uniqueParams,
    outs,
    needs,
    wdir,
    env: { ...input.pipelineEnv, ...stringRecord(body.env) },
    alwaysRun: body.always_run === true,
    interruptible: body.interruptible === true,
    frozen: body.frozen === true,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    retries: typeof body.retries === 'number' ? body.retries : 0,
    resources: {
      // mlpipe/tune trains its trials on every slot of --jobs unless the stage says otherwise.
      cpus: typeof resources.cpus === 'number' ? resources.cpus : body.uses === 'mlpipe/tune' ? Number.POSITIVE_INFINITY : 1,
      gpus: typeof resources.gpus === 'number' ? resources.gpus : 0,
      mutex: Array.isArray(resources.mutex) ? (resources.mutex as string[]) : [],
    },
    ...(body.meta !== undefined ? { meta: body.meta } : {}),
    ...(parsed?.condition ? { condition: parsed.condition } : {}),
  };
}

/** Parses a stage's `if:`, locating references and syntax errors inside its text. */
function stageCondition(file: YamlFile, path: PathSegment[], value: string | boolean, scope: Scope): ParsedCondition {
  const node = locate(file, path);
  const text = String(value);
  return parseCondition(value, node, (offset, length) => new SpanInScalar(file, node, text, offset, length), scope);
}

/**
 * A span of a scalar's value (a reference inside a condition), worked out only
 * when a diagnostic is shown: resolving it reads the document's positions,
 * which a valid pipeline never needs.
 */
class SpanInScalar implements Location {
  private range: Location | undefined;

  constructor(
    private readonly yaml: YamlFile,
    private readonly node: Location,
    private readonly text: string,
    private readonly offset: number,
    private readonly length: number,
  ) {}

  get file() {
    return this.yaml.source;
  }

  private resolve(): Location {
    const { node, text, offset, length } = this;
    const raw = this.yaml.source.text.slice(node.start, node.end);
    const at = raw.indexOf(text);
    if (at !== -1) return this.yaml.source.at(node.start + at + offset, node.start + at + offset + length);
    // A quoted scalar with escapes: find the piece's own text, else the whole value.
    const piece = text.slice(offset, offset + length);
    const i = piece.length > 1 ? raw.indexOf(piece) : -1;
    return i === -1 ? node : this.yaml.source.at(node.start + i, node.start + i + piece.length);
  }

  get start(): number {
    return (this.range ??= this.resolve()).start;
  }

  get end(): number {
    return (this.range ??= this.resolve()).end;
  }
}

/** The stage's "params:" entries: keys of the pipeline's params, {file: [keys]} or {file: null}. */
function stageParams(file: YamlFile, ctx: ExpandContext, base: PathSegment[], body: Raw, paramCtx: ParamContext, diagnostics: Diagnostic[]): ParamDep[] {
  const out: ParamDep[] = [];
  const entries = Array.isArray(body.params) ? (body.params as unknown[]) : [];
  entries.forEach((entry, i) => {
    if (typeof entry === 'string') {
      const loc = locate(file, [...base, 'params', i]);
      const segments = parseKey(entry);
      if (!segments) {
        diagnostics.push(error('bad-param-key', `"${entry}" is not a param key; write a dotted key such as train.lr`, loc));
        return;
      }
      if (paramCtx.files.length === 0) {
        diagnostics.push(error('no-params-file', `param "${entry}" needs a params file, and this pipeline has none`, loc, { suggestion: 'create params.yaml, or list files under the pipeline\'s "params:"' }));
        return;
      }
      const found = paramCtx.get(segments);
      if (!found) {
        const hint = closest(entry, paramCtx.keys());
        diagnostics.push(
          error('unknown-param', `param "${entry}" not found in ${paramCtx.files.map((f) => f.path).join(', ')}${hint ? ` — did you mean "${hint}"?` : ''}`, loc),
        );
        return;
      }
      out.push({ file: found.file, key: formatKey(segments), value: found.value, loc, declared: true });
      return;
    }
    for (const [raw, keys] of Object.entries(entry as Raw)) {
      const fileLoc = locate(file, [...base, 'params', i, raw], 'key');
      const loaded = loadParamsFile(raw, fileLoc, ctx, diagnostics);
      if (!loaded) continue;
      const list = Array.isArray(keys) ? (keys as string[]) : [];
      if (list.length === 0) {
        out.push({ file: loaded.path, key: null, value: loaded.data, loc: fileLoc, declared: true });
        continue;
      }
      list.forEach((key, j) => {
        const loc = locate(file, [...base, 'params', i, raw, j]);
        const segments = parseKey(key);
        const r = segments ? lookup(loaded.data, segments) : undefined;
        if (!segments || !r?.found) {
          const hint = closest(key, flattenKeysOf(loaded.data));
          diagnostics.push(error('unknown-param', `param "${key}" not found in ${loaded.path}${hint ? ` — did you mean "${hint}"?` : ''}`, loc));
          return;
        }
        out.push({ file: loaded.path, key: formatKey(segments), value: r.value, loc, declared: true });
      });
    }
  });
  return out;
}

function flattenKeysOf(data: unknown): string[] {
  return new ParamContext([{ path: '', data }]).keys();
}

/**
 * The paths of the top-level `metrics:` and `plots:` sections (DVC's): read by
 * metrics and plots commands, never written, so they follow the path rules of
 * deps (relative, inside the root, not through a link out of it).
 */
function checkReportPaths(file: YamlFile, data: Raw, ctx: ExpandContext, diagnostics: Diagnostic[]): void {
  const check = (raw: string, what: string, loc: Location) => {
    const c = checkPath(raw, what, false);
    if (!c.ok) diagnostics.push(error('invalid-path', c.message, loc, c.suggestion ? { suggestion: c.suggestion } : {}));
    else if (ctx.guard.escapes(c.path)) diagnostics.push(error('invalid-path', `${what} "${raw}" leads outside the project root through a symbolic link`, loc));
  };
  (Array.isArray(data.metrics) ? (data.metrics as string[]) : []).forEach((raw, i) => check(raw, 'metrics file', locate(file, ['metrics', i])));
  (Array.isArray(data.plots) ? (data.plots as unknown[]) : []).forEach((entry, i) => {
    if (typeof entry === 'string') return check(entry, 'plots file', locate(file, ['plots', i]));
    const [id, props] = Object.entries(entry as Raw)[0]!;
    const files = (axis: 'x' | 'y') => (isRecord(props) && isRecord(props[axis]) ? Object.keys(props[axis] as Raw) : []);
    const named = [...files('x'), ...files('y')];
    if (named.length === 0) check(id, 'plots file', locate(file, ['plots', i, id], 'key'));
    for (const axis of ['x', 'y'] as const) for (const f of files(axis)) check(f, 'plots file', locate(file, ['plots', i, id, axis, f], 'key'));
  });
}
