// `mlpipe remote add|list|remove|modify`: remote caches in mlpipe.config.yaml
// (or with --local in .mlpipe/config.yaml), edited with the yaml library's
// Document API so the file's comments and order survive. The edited document
// is checked like any config file before it is written (atomically). URLs are
// shown with any password masked.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, parseDocument, type Document } from 'yaml';
import { COMMITTED_CONFIG, LOCAL_CONFIG, configFilePath, hasCredentials, loadConfig, remoteKind } from '../config/config.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { redactUrl } from '../remote/store.js';
import { didYouMean } from '../util/suggest.js';
import { UsageError } from './compare.js';
import { EXIT, type CliContext } from './context.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Options `remote modify` may set, with how their values are read. */
const OPTIONS: Record<string, 'string' | 'boolean' | 'integer'> = { url: 'string', read_only: 'boolean', endpoint: 'string', region: 'string', path_style: 'boolean', jobs: 'integer', timeout: 'integer' };

function projectRoot(ctx: CliContext): string {
  const found = ctx.root();
  if ('diagnostic' in found) throw new UsageError(found.diagnostic.message, found.diagnostic.suggestion);
  return found.root;
}

function guarded(ctx: CliContext, body: () => number): number {
  try {
    return body();
  } catch (e) {
    if (e instanceof UsageError) return ctx.error(e.message, e.suggestion);
    throw e;
  }
}

function openDoc(path: string): Document {
  return parseDocument(existsSync(path) ? readFileSync(path, 'utf8') : '', { keepSourceTokens: false });
}

/** Writes the edited file if the whole configuration is still valid; otherwise restores it and reports. */
function save(ctx: CliContext, root: string, path: string, doc: Document): void {
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, doc.toString());
  const { diagnostics } = loadConfig(root);
  if (diagnostics.some((d) => d.severity === 'error')) {
    if (before === undefined) rmSync(path, { force: true });
    else writeFileAtomic(path, before);
    ctx.report(diagnostics);
    throw new UsageError('the change was not saved: the configuration would be invalid');
  }
}

function checkUrl(url: string, local: boolean): void {
  if (!remoteKind(url)) throw new UsageError(`unsupported remote URL "${url}"`, 'use a directory (a path or file://), s3://bucket/prefix, or http(s)://host/prefix');
  if (!local && hasCredentials(url)) {
    throw new UsageError(`the URL has credentials in it, and ${COMMITTED_CONFIG} is committed`, `add it with --local (${LOCAL_CONFIG}, which git ignores), or give s3 credentials through the SDK's standard sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, AWS_PROFILE)`);
  }
}

export function runRemoteAdd(ctx: CliContext, name: string, url: string, o: { default?: boolean; local?: boolean; readOnly?: boolean; force?: boolean }): number {
  return guarded(ctx, () => {
    const root = projectRoot(ctx);
    if (!NAME.test(name)) throw new UsageError(`"${name}" is not a valid remote name: letters, digits, "_", "-" and ".", starting with a letter or digit`);
    checkUrl(url, o.local === true);
    const path = configFilePath(root, o.local === true);
    const doc = openDoc(path);
    if (doc.hasIn(['remotes', name]) && !o.force) throw new UsageError(`remote "${name}" already exists in ${o.local ? LOCAL_CONFIG : COMMITTED_CONFIG}`, `change it with "mlpipe remote modify ${name} url URL", or pass --force to replace it`);
    if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as never;
    doc.setIn(['remotes', name], doc.createNode({ url, ...(o.readOnly ? { read_only: true } : {}) }));
    if (o.default) doc.set('default_remote', name);
    save(ctx, root, path, doc);
    ctx.log(`added remote ${name} (${redactUrl(url)}) to ${o.local ? LOCAL_CONFIG : COMMITTED_CONFIG}${o.default ? ' as the default' : ''}`);
    return EXIT.ok;
  });
}

export function runRemoteModify(ctx: CliContext, name: string, option: string, value: string | undefined, o: { local?: boolean; unset?: boolean }): number {
  return guarded(ctx, () => {
    const root = projectRoot(ctx);
    const kind = OPTIONS[option];
    if (!kind) throw new UsageError(`unknown remote option "${option}"${didYouMean(option, Object.keys(OPTIONS))}`, `options: ${Object.keys(OPTIONS).join(', ')}`);
    const path = configFilePath(root, o.local === true);
    const doc = openDoc(path);
    const { config } = loadConfig(root);
    if (!config.remotes[name] && !doc.hasIn(['remotes', name])) throw new UsageError(`no remote named "${name}"${didYouMean(name, Object.keys(config.remotes))}`);
    if (o.unset) {
      if (option === 'url') throw new UsageError('a remote needs a url; remove the remote instead');
      doc.deleteIn(['remotes', name, option]);
    } else {
      if (value === undefined) throw new UsageError(`remote modify ${name} ${option} needs a value (or --unset)`);
      let parsed: string | boolean | number = value;
      if (kind === 'boolean') {
        if (!/^(true|false)$/.test(value)) throw new UsageError(`${option} is true or false, not "${value}"`);
        parsed = value === 'true';
      } else if (kind === 'integer') {
        parsed = Number(value);
        if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${option} is a whole number of at least 1, not "${value}"`);
      } else if (option === 'url') checkUrl(value, o.local === true);
      if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as never;
      doc.setIn(['remotes', name, option], parsed);
    }
    save(ctx, root, path, doc);
    ctx.log(`remote ${name}: ${option} ${o.unset ? 'unset' : `= ${option === 'url' ? redactUrl(value!) : value}`} in ${o.local ? LOCAL_CONFIG : COMMITTED_CONFIG}`);
    return EXIT.ok;
  });
}

export function runRemoteRemove(ctx: CliContext, name: string, o: { local?: boolean }): number {
  return guarded(ctx, () => {
    const root = projectRoot(ctx);
    const path = configFilePath(root, o.local === true);
    const doc = openDoc(path);
    if (!doc.hasIn(['remotes', name])) {
      const { config } = loadConfig(root);
      throw new UsageError(`no remote named "${name}" in ${o.local ? LOCAL_CONFIG : COMMITTED_CONFIG}${didYouMean(name, Object.keys(config.remotes))}`);
    }
    doc.deleteIn(['remotes', name]);
    if (doc.get('default_remote') === name) doc.delete('default_remote');
    save(ctx, root, path, doc);
    ctx.log(`removed remote ${name}`);
    return EXIT.ok;
  });
}

export function runRemoteList(ctx: CliContext): number {
  return guarded(ctx, () => {
    const root = projectRoot(ctx);
    const { config, diagnostics } = loadConfig(root);
    if (diagnostics.some((d) => d.severity === 'error')) return ctx.fail(diagnostics);
    const names = Object.keys(config.remotes).sort();
    if (ctx.json) {
      const shown = Object.fromEntries(Object.entries(config.remotes).map(([n, r]) => [n, { ...r, url: redactUrl(r.url) }]));
      ctx.out(JSON.stringify({ default: config.defaultRemote ?? null, remotes: shown }, null, 2));
      return EXIT.ok;
    }
    if (names.length === 0) ctx.log('no remotes (add one: mlpipe remote add NAME URL --default)');
    for (const n of names) {
      const r = config.remotes[n]!;
      const flags = [n === config.defaultRemote ? 'default' : '', r.read_only ? 'read-only' : ''].filter(Boolean);
      ctx.out(`${n}\t${redactUrl(r.url)}${flags.length > 0 ? `\t(${flags.join(', ')})` : ''}`);
    }
    return EXIT.ok;
  });
}
