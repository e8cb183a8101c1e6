// The project's own settings, .mlpipe/config.yaml: how restored outputs are
// placed (`cache: { link: copy | hardlink | symlink }`). Read with the same
// reader and limits as every other YAML file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkMode } from '../cache/store.js';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import { displayPath } from '../pipeline/project.js';
import { locate, readYamlFile } from '../pipeline/yaml-file.js';

const LINK_MODES: readonly LinkMode[] = ['copy', 'hardlink', 'symlink'];

/**
 * `.mlpipe/config.yaml`: `cache: { link: copy | hardlink | symlink }`, read
 * with the same reader (and limits) as every other YAML file; a value mlpipe
 * does not know is a located error rather than a silent default.
 */
export function readConfig(root: string, stateDir: string, diagnostics: Diagnostic[]): LinkMode {
  const file = join(stateDir, 'config.yaml');
  if (!existsSync(file)) return 'copy';
  const read = readYamlFile(file, displayPath(root, file));
  diagnostics.push(...read.diagnostics);
  if (!read.file || read.file.data === null) return 'copy';
  const data = read.file.data as { cache?: { link?: unknown } };
  const link = typeof data === 'object' && !Array.isArray(data) ? data.cache?.link : undefined;
  if (link === undefined || LINK_MODES.includes(link as LinkMode)) return (link as LinkMode | undefined) ?? 'copy';
  const where = typeof data.cache === 'object' && data.cache !== null && 'link' in data.cache ? ['cache', 'link'] : [];
  diagnostics.push(error('config', `cache.link must be one of ${LINK_MODES.join(', ')}, not ${JSON.stringify(link)?.slice(0, 40)}`, locate(read.file, where), { suggestion: 'write cache: { link: hardlink } (or copy, the default, or symlink)' }));
  return 'copy';
}
