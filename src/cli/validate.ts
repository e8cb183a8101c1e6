// `mlpipe validate [FILE...]`: schema and graph checks of pipeline files,
// without running anything.
import { resolve } from 'node:path';
import { analyze } from '../analysis.js';
import { EXIT, summary, type CliContext } from './context.js';

export function runValidate(ctx: CliContext, files: string[]): number {
  const found = ctx.root();
  if ('diagnostic' in found) return ctx.fail([found.diagnostic]);
  const result = analyze(found.root, files.length > 0 ? files.map((f) => resolve(ctx.cwd, f)) : undefined);
  const stages = result.pipelines.reduce((n, p) => n + p.stages.length, 0);
  if (ctx.json) {
    ctx.out(
      JSON.stringify(
        {
          ok: result.ok,
          pipelines: result.pipelines.map((p) => ({ name: p.name, file: p.file.source.path, stages: p.stages.map((s) => s.id) })),
          diagnostics: ctx.diagnosticsJson(result.diagnostics),
        },
        null,
        2,
      ),
    );
  }
  ctx.report(result.diagnostics);
  if (!result.ok) {
    ctx.log(ctx.colors.red(`✗ ${summary(result.diagnostics)}`));
    return EXIT.invalid;
  }
  if (!ctx.json) {
    const c = ctx.colors;
    if (result.pipelines.length === 0) ctx.log(c.yellow('no pipeline files found in pipelines/'));
    for (const p of result.pipelines) ctx.out(`${c.green('✓')} ${p.file.source.path}: ${p.name}, ${p.stages.length} stage${p.stages.length === 1 ? '' : 's'}`);
    ctx.out(`${result.pipelines.length} pipeline${result.pipelines.length === 1 ? '' : 's'}, ${stages} stage${stages === 1 ? '' : 's'}: valid`);
  }
  return EXIT.ok;
}
