// Checks of the lifecycle's references that can be known before anything
// runs: `compare_to: <model>@<alias>` of mlpipe/evaluate must name a model and
// alias that the registry has or that a register stage of the project makes;
// `promote.metric` of mlpipe/register must be one mlpipe/evaluate writes when
// an mlpipe/evaluate stage produces its metrics file (a cmd stage's metrics are
// known only when it has run, and are checked then).
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import type { Pipeline, Stage } from '../pipeline/model.js';
import { locate } from '../pipeline/yaml-file.js';
import { isRecord } from '../pipeline/params.js';
import { modelNames, parseRef, readModel, RegistryError, refText } from '../registry/registry.js';
import { closest } from '../util/suggest.js';

/** The metrics mlpipe/evaluate writes (classification and regression). */
export const EVALUATE_METRICS = ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'roc_auc', 'log_loss', 'mse', 'rmse', 'mae', 'r2'];

const action = (s: Stage) => s.uses?.value;
const withOf = (s: Stage): Record<string, unknown> => (isRecord(s.with) ? s.with : {});

export function checkModelRefs(root: string, pipelines: readonly Pipeline[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const stages = pipelines.flatMap((p) => p.stages.map((s) => ({ p, s })));
  // What the project's register stages make: model names and the aliases they move.
  const made = new Map<string, Set<string>>();
  for (const { s } of stages) {
    if (action(s) !== 'mlpipe/register') continue;
    const w = withOf(s);
    if (typeof w.name !== 'string') continue;
    const aliases = made.get(w.name) ?? new Set<string>();
    for (const a of Array.isArray(w.aliases) ? w.aliases : []) if (typeof a === 'string') aliases.add(a);
    if (isRecord(w.promote) && typeof w.promote.alias === 'string') aliases.add(w.promote.alias);
    made.set(w.name, aliases);
  }
  const registered = (name: string) => {
    try {
      return readModel(root, name);
    } catch (e) {
      if (e instanceof RegistryError) return undefined; // reported by validate's registry check
      throw e;
    }
  };

  for (const { p, s } of stages) {
    const w = withOf(s);
    if (action(s) === 'mlpipe/evaluate' && typeof w.compare_to === 'string') {
      const at = locate(p.file, ['stages', s.group, 'with', 'compare_to']);
      const ref = parseRef(w.compare_to);
      if (!ref || ref.alias === undefined && ref.version === undefined) {
        diagnostics.push(error('bad-model-ref', `compare_to "${w.compare_to}" does not name a version: write <model>@<alias> or <model>:<version>`, at, { suggestion: 'compare_to: iris@production' }));
        continue;
      }
      const record = registered(ref.name);
      const aliases = made.get(ref.name);
      if (!record && !aliases) {
        const names = [...new Set([...modelNames(root), ...made.keys()])];
        const hint = closest(ref.name, names);
        diagnostics.push(error('unknown-model', `compare_to ${refText(ref)}: no model named "${ref.name}" in the registry, and no register stage makes one${hint ? ` — did you mean "${hint}"?` : ''}`, at, { suggestion: names.length > 0 ? `models: ${names.join(', ')}` : 'register a model with a stage that uses mlpipe/register' }));
        continue;
      }
      if (ref.alias !== undefined && !(record && ref.alias in record.aliases) && !aliases?.has(ref.alias)) {
        const known = [...new Set([...Object.keys(record?.aliases ?? {}), ...(aliases ?? [])])];
        const hint = closest(ref.alias, known);
        diagnostics.push(error('unknown-alias', `compare_to ${refText(ref)}: ${ref.name} has no alias "${ref.alias}", and no register stage moves one${hint ? ` — did you mean "${hint}"?` : ''}`, at, { suggestion: known.length > 0 ? `its aliases: ${known.join(', ')}` : `give a register stage promote: { alias: ${ref.alias}, … }` }));
      }
      if (ref.version !== undefined && !record?.versions.some((v) => v.version === ref.version)) {
        diagnostics.push(error('unknown-version', `compare_to ${refText(ref)}: ${ref.name} has no version ${ref.version}`, at, { suggestion: `its versions: ${record?.versions.map((v) => v.version).join(', ') || 'none yet'}` }));
      }
    }
    if (action(s) === 'mlpipe/register' && isRecord(w.promote) && typeof w.promote.metric === 'string' && typeof w.metrics === 'string') {
      const producer = stages.find(({ s: o }) => o.outs.some((out) => out.path === w.metrics));
      if (producer && action(producer.s) === 'mlpipe/evaluate' && !EVALUATE_METRICS.includes(w.promote.metric)) {
        const hint = closest(w.promote.metric, EVALUATE_METRICS);
        diagnostics.push(
          error('unknown-metric', `promote.metric "${w.promote.metric}" is not a metric ${producer.s.id} (mlpipe/evaluate) writes${hint ? ` — did you mean "${hint}"?` : ''}`, locate(p.file, ['stages', s.group, 'with', 'promote', 'metric']), {
            suggestion: `mlpipe/evaluate writes ${EVALUATE_METRICS.join(', ')}`,
          }),
        );
      }
    }
  }
  return diagnostics;
}
