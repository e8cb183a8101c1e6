// A user's project: finding its root, discovering pipelines/*.yaml|yml, and
// running load → schema check → expand over every pipeline file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { error, type Diagnostic } from './diagnostic.js';
import { expandPipeline, pipelineName, type ExpandContext } from './expand.js';
import type { Pipeline } from './model.js';
import { ParamsFiles } from './params.js';
import { SymlinkGuard, type DirListing } from './paths.js';
import { checkSchema } from './schema-check.js';
import { isRecord } from './params.js';
import { readYamlFile, type YamlFile } from './yaml-file.js';
import { ParseCache } from './parse-cache.js';
import { closest } from '../util/suggest.js';

export const PIPELINES_DIR = 'pipelines';
export const STATE_DIR = '.mlpipe';

/** The nearest ancestor of `start` that holds .mlpipe/ or pipelines/. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, STATE_DIR)) || existsSync(join(dir, PIPELINES_DIR))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Pipeline files of a project, sorted by name. */
export function discoverPipelineFiles(root: string): string[] {
  const dir = join(root, PIPELINES_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n) && statSync(join(dir, n)).isFile())
    .sort()
    .map((n) => join(dir, n));
}

/** Path for messages: root-relative with "/" when inside the root. */
export function displayPath(root: string, abs: string): string {
  const rel = relative(root, abs);
  return rel.startsWith('..') || rel === '' ? abs : rel.split(sep).join('/');
}

export interface LoadedProject {
  readonly root: string;
  readonly pipelines: Pipeline[];
  /** Every YAML file that was read: pipelines and params files (for watch mode). */
  readonly files: string[];
  readonly diagnostics: Diagnostic[];
  /** Directory listings read while checking paths, for the graph's existence checks. */
  readonly listing: DirListing;
}

/**
 * Loads, checks and expands pipeline files. `files` defaults to every pipeline
 * file of the project; a file that fails to load or check is left out of the
 * result and its diagnostics are returned.
 */
export function loadProject(
  root: string,
  files: string[] = discoverPipelineFiles(root),
  overrides: ReadonlyMap<string, unknown> = new Map(),
  cache: ParseCache = ParseCache.none(),
): LoadedProject {
  const diagnostics: Diagnostic[] = [];
  const ctx: ExpandContext = { root, params: new ParamsFiles(root, overrides, cache), guard: new SymlinkGuard(root), reportedParams: new Set(), stageCount: { n: 0 } };
  const pipelines: Pipeline[] = [];
  const byName = new Map<string, YamlFile>();
  for (const abs of files) {
    const read = readYamlFile(abs, displayPath(root, abs), cache);
    diagnostics.push(...read.diagnostics);
    const file = read.file;
    if (!file || read.diagnostics.some((d) => d.severity === 'error')) continue;
    const shape = checkShape(file);
    if (shape) {
      diagnostics.push(shape);
      continue;
    }
    const schema = checkSchema(file);
    diagnostics.push(...schema);
    if (schema.length > 0) continue;
    const name = pipelineName(file);
    const other = byName.get(name);
    if (other) {
      diagnostics.push(
        error('duplicate-pipeline', `two pipeline files are both named "${name}"`, file.source.at(0), {
          suggestion: 'give one of them another "name:"',
          notes: [{ message: 'the other one', location: other.source.at(0) }],
        }),
      );
      continue;
    }
    byName.set(name, file);
    const expanded = expandPipeline(file, ctx);
    diagnostics.push(...expanded.diagnostics);
    if (expanded.pipeline && !expanded.diagnostics.some((d) => d.severity === 'error')) pipelines.push(expanded.pipeline);
  }
  for (const { key, known } of ctx.params.unusedOverrides()) {
    const hint = closest(key, known);
    diagnostics.push(error('unknown-param', `--set ${key}: no params file has this key${hint ? ` — did you mean "${hint}"?` : ''}`));
  }
  return { root, pipelines, files: [...files, ...ctx.params.paths().map((p) => join(root, p))], diagnostics, listing: ctx.guard.listing };
}

/** The document must be a mapping before the schema has anything to say. */
function checkShape(file: YamlFile): Diagnostic | undefined {
  if (file.data === null || file.data === undefined) {
    return error('empty-file', 'pipeline file is empty', file.source.at(0), { suggestion: 'a pipeline needs at least "stages:" with one stage, e.g. stages: { build: { cmd: make } }' });
  }
  if (!isRecord(file.data)) {
    const what = Array.isArray(file.data) ? 'a list' : `a ${typeof file.data}`;
    const contents = file.doc.contents;
    const loc = contents?.range ? file.source.at(contents.range[0], contents.range[1]) : file.source.at(0);
    return error('not-a-mapping', `a pipeline file holds a mapping with "stages:", not ${what}`, loc, { suggestion: 'start the file with "stages:" and put each stage under it by name' });
  }
  return undefined;
}
