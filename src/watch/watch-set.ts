// What watch mode watches, from the current plan: the pipeline files (the
// pipelines/ directory, lock files excepted), the params files, and every dep
// of the selected stages that no stage produces — files, directories, and for
// globs their base directory, where only matching paths count. Ignored: every
// stage output (a stage never retriggers itself), .mlpipe/, .git/,
// node_modules/. Files actions update outside their outputs (the registry) are
// watched, but the loop ignores the change a run itself made to them.
import picomatch from 'picomatch';
import { dirname, join, relative, sep } from 'node:path';
import type { ProjectGraph } from '../graph/build.js';
import type { Pipeline, StageId } from '../pipeline/model.js';
import { PIPELINES_DIR } from '../pipeline/project.js';
import { updatesOf } from '../actions/registry.js';

const SKIP = new Set(['.git', '.mlpipe', 'node_modules']);

export interface WatchSet {
  /** Absolute paths for the file watcher. */
  readonly paths: readonly string[];
  /** Never watched, never a trigger. */
  ignored(abs: string): boolean;
  /** Whether a change at this path should trigger a run. */
  triggers(abs: string): boolean;
  /** Project-relative form of a path, for messages and events. */
  rel(abs: string): string;
  /** The selected stages whose own inputs include this path. */
  stagesUsing(abs: string): StageId[];
  /** Files stages' actions update outside their outputs (registry/<name>.yaml): absolute path → the stages that update it. */
  readonly updated: ReadonlyMap<string, readonly StageId[]>;
}

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

export function watchSetOf(root: string, pipelines: readonly Pipeline[], g: ProjectGraph | undefined, selected: readonly StageId[]): WatchSet {
  const rel = (abs: string) => relative(root, abs).split(sep).join('/');
  const outputs: string[] = [];
  for (const p of pipelines) for (const s of p.stages) for (const o of s.outs) outputs.push(o.path);
  const produced = (path: string) => outputs.some((o) => within(path, o));
  const updated = new Map<string, StageId[]>();
  for (const p of pipelines) for (const s of p.stages) for (const u of updatesOf(s)) updated.set(join(root, u), [...(updated.get(join(root, u)) ?? []), s.id]);
  const plain = new Map<string, Set<StageId>>([[PIPELINES_DIR, new Set()]]);
  const globs: { match: (p: string) => boolean; base: string; stages: Set<StageId> }[] = [];
  const use = (path: string, id?: StageId) => {
    const users = plain.get(path) ?? new Set<StageId>();
    if (id) users.add(id);
    plain.set(path, users);
  };
  for (const p of pipelines) for (const f of p.paramFiles) use(f);
  for (const id of g ? selected : []) {
    const stage = g!.index.byId.get(id)!;
    for (const param of stage.params) use(param.file, id);
    for (const dep of stage.deps) {
      if (dep.glob) {
        const base = picomatch.scan(dep.path).base || '.';
        globs.push({ match: picomatch(dep.path, { dot: true }), base, stages: new Set([id]) });
      } else if (!produced(dep.path)) use(dep.path, id);
    }
  }
  const ignoredRel = (r: string) => {
    if (r.startsWith('..')) return true;
    if (r.split('/').some((part) => SKIP.has(part))) return true;
    if (within(r, PIPELINES_DIR) && r.endsWith('.lock')) return true;
    return outputs.some((o) => within(r, o));
  };
  return {
    // Updated files are replaced by rename, and may not exist yet: their directory is watched too.
    paths: [...new Set([...plain.keys(), ...globs.map((gl) => gl.base), ...[...updated.keys()].map((abs) => rel(dirname(abs)))])].map((p) => (p === '.' || p === '' ? root : join(root, p))),
    ignored: (abs) => {
      const r = rel(abs);
      return r !== '' && ignoredRel(r);
    },
    triggers: (abs) => {
      const r = rel(abs);
      if (r === '' || ignoredRel(r)) return false;
      for (const path of plain.keys()) if (within(r, path) || within(path, r)) return true;
      return globs.some((gl) => gl.match(r) || within(gl.base, r));
    },
    rel,
    updated,
    stagesUsing: (abs) => {
      const r = rel(abs);
      const ids = new Set<StageId>();
      for (const [path, users] of plain) if (within(r, path)) for (const id of users) ids.add(id);
      for (const gl of globs) if (gl.match(r)) for (const id of gl.stages) ids.add(id);
      return [...ids];
    },
  };
}
