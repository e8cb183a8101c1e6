// `mlpipe models list|show|promote|retire`: reads and changes the model
// registry (registry/<name>.yaml). Changes go through the registry's lock and
// atomic writes; a retired version is never promoted. References: NAME (its
// production alias, else its newest live version), NAME@ALIAS, NAME:VERSION.
import { renderTable } from '../report/table.js';
import { colorsFor } from '../report/diagnostic-text.js';
import { aliasesOf, modelNames, parseRef, refText, RegistryError, requireModel, resolveRef, retiredMessage, updateModel, withAlias, withRetired, ALIAS_PATTERN, type ModelRef, type ModelVersion } from '../registry/registry.js';
import { EXIT, type CliContext } from './context.js';

function rootOf(ctx: CliContext): string {
  const r = ctx.root();
  if ('diagnostic' in r) throw new RegistryError(r.diagnostic.message, r.diagnostic.suggestion);
  return r.root;
}

function refOf(text: string): ModelRef {
  const ref = parseRef(text);
  if (!ref) throw new RegistryError(`"${text}" is not a model reference`, 'write NAME, NAME@ALIAS or NAME:VERSION, e.g. iris@production or iris:2');
  return ref;
}

/** Runs a models subcommand: registry errors print as one error line (exit 2). */
async function guarded(ctx: CliContext, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    if (e.diagnostics) return ctx.fail(e.diagnostics);
    if (ctx.json) ctx.out(JSON.stringify({ ok: false, error: e.message, suggestion: e.suggestion }, null, 2));
    return ctx.error(e.message, e.suggestion);
  }
}

const status = (v: ModelVersion) => (v.retired ? 'retired' : 'live');

function headline(metrics: ModelVersion['metrics']): string {
  const preferred = ['accuracy', 'f1_macro', 'roc_auc', 'r2', 'rmse'];
  return preferred
    .filter((k) => metrics?.[k] !== undefined)
    .slice(0, 2)
    .map((k) => `${k} ${metrics![k]}`)
    .join(', ');
}

export function runModelsList(ctx: CliContext, name: string | undefined): Promise<number> {
  return guarded(ctx, () => {
    const root = rootOf(ctx);
    const records = (name ? [name] : modelNames(root)).map((n) => requireModel(root, n));
    if (ctx.json) {
      ctx.out(JSON.stringify({ ok: true, models: records }, null, 2));
      return EXIT.ok;
    }
    if (records.length === 0) {
      ctx.log('no models registered yet (a stage that uses mlpipe/register adds them to registry/)');
      return EXIT.ok;
    }
    const rows: string[][] = [['MODEL', 'VERSION', 'ALIASES', 'STATUS', 'REGISTERED', 'METRICS']];
    for (const r of records) {
      for (const v of r.versions) rows.push([r.name, String(v.version), aliasesOf(r, v.version).join(',') || '-', status(v), v.registered_at.slice(0, 16).replace('T', ' '), headline(v.metrics) || '-']);
    }
    ctx.out(renderTable(rows[0]!, rows.slice(1), 'text', colorsFor(ctx.stdout, ctx.env)));
    return EXIT.ok;
  });
}

export function runModelsShow(ctx: CliContext, text: string): Promise<number> {
  return guarded(ctx, () => {
    const root = rootOf(ctx);
    const ref = refOf(text);
    const record = requireModel(root, ref.name);
    const v = resolveRef(record, ref);
    const aliases = aliasesOf(record, v.version);
    if (ctx.json) {
      ctx.out(JSON.stringify({ ok: true, name: record.name, ...v, aliases, status: status(v) }, null, 2));
      return EXIT.ok;
    }
    const lines = [
      `${record.name}:${v.version}${aliases.length ? ` (${aliases.join(', ')})` : ''} — ${v.retired ? retiredMessage(record.name, v) : 'live'}`,
      `  hash        ${v.hash}`,
      `  registered  ${v.registered_at}${v.commit ? ` at commit ${v.commit.slice(0, 12)}` : ''}`,
      `  from        ${v.pipeline ?? '?'} stage ${v.stage ?? '?'} (lock ${v.lock ?? '?'}), model directory ${v.source}${v.produced_by ? ` written by ${v.produced_by.stage} (key ${v.produced_by.key.slice(0, 12)}…)` : ''}`,
    ];
    if (v.metrics && Object.keys(v.metrics).length) lines.push(`  metrics     ${Object.entries(v.metrics).map(([k, x]) => `${k}=${x}`).join(' ')}`);
    if (v.params && Object.keys(v.params).length) lines.push(`  params      ${Object.entries(v.params).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')}`);
    ctx.out(lines.join('\n'));
    return EXIT.ok;
  });
}

export function runModelsPromote(ctx: CliContext, text: string, alias: string): Promise<number> {
  return guarded(ctx, async () => {
    const root = rootOf(ctx);
    const ref = refOf(text);
    if (!ALIAS_PATTERN.test(alias)) throw new RegistryError(`"${alias}" is not an alias name`, 'aliases start with a lower-case letter: production, staging, canary-eu');
    requireModel(root, ref.name);
    const { version, previous } = await updateModel(root, ref.name, (record) => {
      const v = resolveRef(record, ref);
      return { record: withAlias(record, v, alias), result: { version: v, previous: record.aliases[alias] } };
    });
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, name: ref.name, alias, version: version.version, previous: previous ?? null }, null, 2));
    else ctx.out(`${ref.name}@${alias} → ${version.version}${previous !== undefined && previous !== version.version ? ` (was ${previous})` : previous === version.version ? ' (unchanged)' : ''}`);
    return EXIT.ok;
  });
}

export function runModelsRetire(ctx: CliContext, text: string, reason: string | undefined): Promise<number> {
  return guarded(ctx, async () => {
    const root = rootOf(ctx);
    const ref = refOf(text);
    if (!reason?.trim()) throw new RegistryError('a retirement needs a reason', `mlpipe models retire ${refText(ref)} --reason "why it must not serve"`);
    requireModel(root, ref.name);
    const { version, aliases, already } = await updateModel(root, ref.name, (record) => {
      const v = resolveRef(record, ref);
      const result = { version: v, aliases: aliasesOf(record, v.version), already: v.retired !== undefined };
      return { record: v.retired ? record : withRetired(record, v, reason.trim(), new Date().toISOString()), result };
    });
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, name: ref.name, version: version.version, retired: true, alreadyRetired: already, aliases }, null, 2));
    else if (already) ctx.out(`${retiredMessage(ref.name, version)} already`);
    else ctx.out(`${ref.name}:${version.version} retired: nothing serves or promotes it${aliases.length ? `; ${aliases.map((a) => `${ref.name}@${a}`).join(', ')} now refuse${aliases.length === 1 ? 's' : ''} to serve until another version is promoted` : ''}`);
    return EXIT.ok;
  });
}
