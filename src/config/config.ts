// The project's settings: mlpipe.config.yaml at the root (committed) and
// .mlpipe/config.yaml (local: credentials and personal settings), both read
// with the same reader, limits and located diagnostics as pipeline files and
// checked against schemas/config.schema.json. The local file overrides the
// committed one key by key (a remote's options one by one). A URL with
// credentials in it is refused in the committed file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import validateConfig from '../generated/config-validate.js';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import { displayPath, STATE_DIR } from '../pipeline/project.js';
import { checkAgainst } from '../pipeline/schema-check.js';
import { locate, readYamlFile, type YamlFile } from '../pipeline/yaml-file.js';
import { closest } from '../util/suggest.js';
import type { LinkMode } from '../cache/store.js';

export const COMMITTED_CONFIG = 'mlpipe.config.yaml';
export const LOCAL_CONFIG = `${STATE_DIR}/config.yaml`;


export interface RemoteOptions {
  readonly url: string;
  readonly read_only?: boolean;
  readonly endpoint?: string;
  readonly region?: string;
  readonly path_style?: boolean;
  readonly jobs?: number;
  readonly timeout?: number;
}

export interface ProjectConfig {
  readonly link: LinkMode;
  readonly defaultRemote?: string;
  readonly remotes: Readonly<Record<string, RemoteOptions>>;
}

interface RawConfig {
  cache?: { link?: LinkMode };
  default_remote?: string;
  remotes?: Record<string, Partial<RemoteOptions>>;
}

/** URL schemes a remote may use; a bare path is a directory. */
export function remoteKind(url: string): 'dir' | 's3' | 'http' | undefined {
  if (/^s3:\/\//i.test(url)) return 's3';
  if (/^https?:\/\//i.test(url)) return 'http';
  if (/^file:\/\//i.test(url) || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return 'dir';
  return undefined;
}

/** True when the URL carries a user name or password (http://user:secret@host, s3://KEY:SECRET@bucket). */
export function hasCredentials(url: string): boolean {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  return m !== null && m[1]!.includes('@');
}

/** Checks what the schema cannot: URL schemes everywhere, and no credentials in the committed file. */
function checkRemotes(file: YamlFile, committed: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const data = file.data as RawConfig;
  for (const [name, r] of Object.entries(data.remotes ?? {})) {
    if (typeof r.url !== 'string') {
      out.push(error('config', `remote "${name}" has no url`, locate(file, ['remotes', name], 'key'), { suggestion: `give it one: mlpipe remote add ${name} URL` }));
      continue;
    }
    const at = locate(file, ['remotes', name, 'url']);
    if (!remoteKind(r.url)) {
      out.push(error('config', `remote "${name}": unsupported URL scheme in "${r.url.slice(0, 80)}"`, at, { suggestion: 'use a directory (a path or file://), s3://bucket/prefix, or http(s)://host/prefix' }));
    } else if (committed && hasCredentials(r.url)) {
      out.push(
        error('config', `remote "${name}": the URL has credentials in it, and ${COMMITTED_CONFIG} is committed`, at, {
          suggestion: `keep secrets out of git: mlpipe remote add ${name} URL --local (writes ${LOCAL_CONFIG}, which git ignores), or for s3 the SDK's standard sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, AWS_PROFILE)`,
        }),
      );
    }
  }
  return out;
}

function readOne(root: string, rel: string, committed: boolean, diagnostics: Diagnostic[]): RawConfig | undefined {
  const abs = join(root, rel);
  if (!existsSync(abs)) return undefined;
  const read = readYamlFile(abs, displayPath(root, abs));
  diagnostics.push(...read.diagnostics);
  if (!read.file || read.diagnostics.some((d) => d.severity === 'error') || read.file.data === null) return undefined;
  const schema = checkAgainst(validateConfig, read.file);
  if (schema.length > 0) {
    diagnostics.push(...schema);
    return undefined;
  }
  const extra = checkRemotes(read.file, committed);
  diagnostics.push(...extra);
  return extra.length > 0 ? undefined : (read.file.data as RawConfig);
}

/** Both files, merged (the local one wins); problems are located diagnostics, and a broken file contributes nothing. */
export function loadConfig(root: string): { config: ProjectConfig; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const committed = readOne(root, COMMITTED_CONFIG, true, diagnostics) ?? {};
  const local = readOne(root, LOCAL_CONFIG, false, diagnostics) ?? {};
  const remotes: Record<string, RemoteOptions> = {};
  for (const name of new Set([...Object.keys(committed.remotes ?? {}), ...Object.keys(local.remotes ?? {})])) {
    const merged = { ...(committed.remotes?.[name] ?? {}), ...(local.remotes?.[name] ?? {}) };
    if (typeof merged.url === 'string') remotes[name] = merged as RemoteOptions;
  }
  const defaultRemote = local.default_remote ?? committed.default_remote;
  return {
    config: { link: local.cache?.link ?? committed.cache?.link ?? 'copy', ...(defaultRemote ? { defaultRemote } : {}), remotes },
    diagnostics,
  };
}

export class RemoteChoiceError extends Error {
  constructor(
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/** The remote a command uses: -r NAME, else MLPIPE_REMOTE, else default_remote. */
export function chooseRemote(config: ProjectConfig, name: string | undefined, env: NodeJS.ProcessEnv = process.env): { name: string; options: RemoteOptions } {
  const chosen = name ?? env.MLPIPE_REMOTE ?? config.defaultRemote;
  const names = Object.keys(config.remotes);
  if (chosen === undefined || chosen === '') {
    throw new RemoteChoiceError(
      names.length === 0 ? 'no remote is configured' : `no remote chosen (${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} configured)`,
      names.length === 0 ? 'add one: mlpipe remote add NAME URL --default' : `pass -r NAME, set MLPIPE_REMOTE, or make one the default: mlpipe remote add ${names[0]} URL --default`,
    );
  }
  const options = config.remotes[chosen];
  if (!options) {
    const hint = closest(chosen, names);
    throw new RemoteChoiceError(`no remote named "${chosen}"${hint ? ` — did you mean "${hint}"?` : ''}`, names.length > 0 ? `configured: ${names.join(', ')} (mlpipe remote list)` : 'add it: mlpipe remote add NAME URL');
  }
  return { name: chosen, options };
}

/** The file `remote` edits: the committed one, or with --local the one in .mlpipe/. */
export function configFilePath(root: string, local: boolean): string {
  return join(root, local ? LOCAL_CONFIG : COMMITTED_CONFIG);
}
