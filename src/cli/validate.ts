// `mlpipe validate [FILE...]`: schema and graph checks of pipeline files,
// without running anything.
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { STATE_DIR } from '../pipeline/project.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { analyze } from '../analysis.js';
import { lockPathFor, readLockFile } from '../cache/lockfile.js';
import { hasErrors, type Diagnostic } from '../pipeline/diagnostic.js';
import { modelNames, readModel, RegistryError } from '../registry/registry.js';
import { EXIT, summary, type CliContext } from './context.js';

function registryDiagnostics(root: string, cache: ParseCache): Diagnostic[] {
  return modelNames(root).flatMap((name) => {
    try {
      readModel(root, name, cache);
      return [];
    } catch (e) {
      if (e instanceof RegistryError && e.diagnostics) return [...e.diagnostics];
      throw e;
    }
  });
}

export function runValidate(ctx: CliContext, files: string[]): number {
  const found = ctx.root();
  if ('diagnostic' in found) return ctx.fail([found.diagnostic]);
  const focus = files.length > 0 ? files.map((f) => resolve(ctx.cwd, f)) : undefined;
  const cache = ParseCache.load(join(found.root, STATE_DIR));
  const analysis = analyze(found.root, focus, undefined, cache);
  // Lock files arrive by pull request like pipelines do: each checked pipeline's lock is checked too.
  const checked = analysis.pipelines.filter((p) => !focus || focus.includes(p.file.source.absPath));
  const fileDiagnostics = checked.flatMap((p) => readLockFile(found.root, lockPathFor(p.file.source.absPath), cache).diagnostics);
  // So are registry files (checking the whole project).
  if (!focus) {
    fileDiagnostics.push(...registryDiagnostics(found.root, cache));
    fileDiagnostics.push(...loadConfig(found.root).diagnostics);
  }
  const result = { ...analysis, diagnostics: [...analysis.diagnostics, ...fileDiagnostics], ok: analysis.ok && !hasErrors(fileDiagnostics) };
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
