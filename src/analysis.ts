// The pure analysis every command shares: load → check → expand → graph.
// It reads files and writes nothing, so validate, dag, status and an editor
// integration can all call it.
import { join, resolve } from 'node:path';
import { dedupeDiagnostics, hasErrors, warning, type Diagnostic } from './pipeline/diagnostic.js';
import type { Pipeline } from './pipeline/model.js';
import { STATE_DIR, discoverPipelineFiles, displayPath, loadProject } from './pipeline/project.js';
import { ParseCache } from './pipeline/parse-cache.js';
import { buildGraph, type ProjectGraph } from './graph/build.js';

export interface Analysis {
  readonly root: string;
  readonly pipelines: readonly Pipeline[];
  readonly graph?: ProjectGraph;
  readonly diagnostics: readonly Diagnostic[];
  /** Files that were read (pipelines and params files). */
  readonly files: readonly string[];
  readonly ok: boolean;
}

/**
 * Analyses the whole project. With `only`, diagnostics are those of the given
 * files; the project's other pipelines are still loaded, as the context the
 * graph needs, and their own errors are summarised in one warning.
 */
export function analyze(root: string, only?: readonly string[], overrides?: ReadonlyMap<string, unknown>, cache?: ParseCache): Analysis {
  const projectFiles = discoverPipelineFiles(root);
  const focus = only?.map((f) => resolve(f));
  const files = focus ? [...new Set([...projectFiles, ...focus])] : projectFiles;
  const project = loadProject(root, files, overrides, cache ?? ParseCache.load(join(root, STATE_DIR)));
  let diagnostics: Diagnostic[] = project.diagnostics;
  let graph: ProjectGraph | undefined;
  if (!hasErrors(project.diagnostics) || focus) {
    const built = buildGraph(root, project.pipelines, project.listing);
    graph = built.graph;
    diagnostics = [...diagnostics, ...built.diagnostics];
  }
  if (focus) {
    const shown = new Set(focus.map((f) => displayPath(root, f)));
    const inFocus = (d: Diagnostic) => !d.location || shown.has(d.location.file.path) || (d.notes ?? []).some((n) => n.location && shown.has(n.location.file.path));
    const others = [...new Set(diagnostics.filter((d) => !inFocus(d) && d.severity === 'error').map((d) => d.location!.file.path))];
    diagnostics = diagnostics.filter(inFocus);
    if (others.length > 0) {
      diagnostics.push(warning('context-errors', `other files of the project have errors (${others.join(', ')}); run "mlpipe validate" to see them`));
    }
  }
  diagnostics = dedupeDiagnostics(diagnostics);
  return { root, pipelines: project.pipelines, ...(graph ? { graph } : {}), diagnostics, files: project.files, ok: !hasErrors(diagnostics) };
}
