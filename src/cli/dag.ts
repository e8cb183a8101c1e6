// `mlpipe dag [TARGET...]`: prints the stage graph as ascii, dot, mermaid or json.
import { analyze } from '../analysis.js';
import { hasErrors } from '../pipeline/diagnostic.js';
import { selectStages, type SelectionMode } from '../graph/select.js';
import { renderDag, type DagFormat } from '../graph/render/formats.js';
import { EXIT, type CliContext } from './context.js';

export interface DagOptions {
  readonly format: DagFormat;
  readonly downstream?: boolean;
  readonly single?: boolean;
}

export function runDag(ctx: CliContext, targets: string[], options: DagOptions): number {
  const found = ctx.root();
  if ('diagnostic' in found) return ctx.fail([found.diagnostic]);
  const result = analyze(found.root);
  // A dep that is neither on disk nor produced does not change the graph's shape: drawn, and said.
  const drawable = result.graph && result.diagnostics.every((d) => d.severity !== 'error' || d.code === 'missing-dep');
  if (!drawable || !result.graph) return ctx.fail(result.diagnostics);
  if (!result.ok) ctx.report(result.diagnostics.map((d) => (d.severity === 'error' ? { ...d, severity: 'warning' as const } : d)));
  const mode: SelectionMode = options.single ? 'single' : options.downstream ? 'downstream' : 'upstream';
  const selection = selectStages(result.graph, targets, mode);
  if (hasErrors(selection.diagnostics)) return ctx.fail(selection.diagnostics);
  if (result.ok) ctx.report(result.diagnostics); // warnings
  const format = ctx.json ? 'json' : options.format;
  if (selection.ids.length === 0 && format === 'ascii') ctx.log('no stages');
  const text = renderDag(format, { g: result.graph, ids: selection.ids });
  if (text !== '') ctx.out(text);
  return EXIT.ok;
}
