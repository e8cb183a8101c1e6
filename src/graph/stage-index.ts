// Name resolution for stages: "pipeline", "pipeline:stage", group names of
// fanned-out stages, instances and bare stage names, for targets and "needs".
import type { Stage, StageId } from '../pipeline/model.js';
import { closest } from '../util/suggest.js';

export type Resolution = { readonly ok: true; readonly ids: StageId[] } | { readonly ok: false; readonly message: string; readonly suggestion?: string };

export class StageIndex {
  readonly byId = new Map<StageId, Stage>();
  private readonly byPipeline = new Map<string, Stage[]>();

  constructor(stages: Iterable<Stage>) {
    for (const s of stages) {
      this.byId.set(s.id, s);
      const list = this.byPipeline.get(s.pipeline) ?? [];
      list.push(s);
      this.byPipeline.set(s.pipeline, list);
    }
  }

  pipelines(): string[] {
    return [...this.byPipeline.keys()];
  }

  /** Stages of a pipeline named exactly, or by group (all instances). */
  private inPipeline(pipeline: string, name: string): Stage[] {
    const stages = this.byPipeline.get(pipeline) ?? [];
    const exact = stages.filter((s) => s.name === name);
    return exact.length > 0 ? exact : stages.filter((s) => s.group === name);
  }

  private allNames(): string[] {
    const names = new Set<string>(this.byPipeline.keys());
    for (const s of this.byId.values()) {
      names.add(s.id);
      names.add(`${s.pipeline}:${s.group}`);
      names.add(s.name);
      names.add(s.group);
    }
    return [...names];
  }

  /**
   * Resolves a reference. With `within`, a bare name is looked up in that
   * pipeline only (as "needs" does); without it, a bare name is a pipeline, or a
   * stage name that only one pipeline has.
   */
  resolve(ref: string, within?: string): Resolution {
    const colon = ref.indexOf(':');
    if (colon !== -1) {
      const pipeline = ref.slice(0, colon);
      const name = ref.slice(colon + 1);
      if (!this.byPipeline.has(pipeline)) return this.unknown(ref, `no pipeline named "${pipeline}"`);
      const found = this.inPipeline(pipeline, name);
      if (found.length === 0) return this.unknown(ref, `pipeline "${pipeline}" has no stage "${name}"`);
      return { ok: true, ids: found.map((s) => s.id) };
    }
    if (within !== undefined) {
      const found = this.inPipeline(within, ref);
      if (found.length === 0) return this.unknown(ref, `pipeline "${within}" has no stage "${ref}"`, (this.byPipeline.get(within) ?? []).flatMap((s) => [s.name, s.group]));
      return { ok: true, ids: found.map((s) => s.id) };
    }
    const pipeline = this.byPipeline.get(ref);
    if (pipeline) return { ok: true, ids: pipeline.map((s) => s.id) };
    const owners = this.pipelines().filter((p) => this.inPipeline(p, ref).length > 0);
    if (owners.length === 1) return { ok: true, ids: this.inPipeline(owners[0]!, ref).map((s) => s.id) };
    if (owners.length > 1) {
      return { ok: false, message: `"${ref}" is a stage of several pipelines: ${owners.join(', ')}`, suggestion: `name one of them: ${owners.map((p) => `${p}:${ref}`).join(', ')}` };
    }
    return this.unknown(ref, `no pipeline or stage named "${ref}"`);
  }

  private unknown(ref: string, message: string, candidates: string[] = this.allNames()): Resolution {
    const hint = closest(ref, candidates);
    return hint ? { ok: false, message: `${message} — did you mean "${hint}"?` } : { ok: false, message };
  }
}
