// mlpipe/register: adds a model directory to the registry as a new version of
// a named model (or finds the version with the same bytes: registering twice
// is idempotent), records where it came from — metrics, the pipeline's params,
// pipeline, stage, lock file, the stage that wrote the model and its lock key,
// git commit — stores its bytes in the cache, moves
// the given aliases to it, and writes a small receipt naming the version.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ActionContext } from './launch.js';
import { ActionError } from './errors.js';
import { readJsonObject, topLevelNumbers } from './json-files.js';
import { writeOutput } from './output.js';
import { MODEL_FILES } from '../ml/model-files.js';
import { storeModelDir } from '../registry/model-store.js';
import { RegistryError, updateModel, withVersion } from '../registry/registry.js';

export interface RegisterInputs {
  readonly name: string;
  readonly model: string;
  readonly metrics?: string;
  readonly aliases?: readonly string[];
  readonly out: string;
}

function gitCommit(root: string): string | undefined {
  const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

export async function register(inputs: RegisterInputs, context: ActionContext, log: (line: string) => void): Promise<void> {
  const rel = relative(context.root, resolve(inputs.model)).split('\\').join('/');
  const lacking = MODEL_FILES.filter((f) => !existsSync(join(inputs.model, f)));
  if (lacking.length > 0) throw new ActionError(`${inputs.model} is not a model directory mlpipe/train or mlpipe/package wrote: ${lacking.join(', ')} missing`);
  try {
    const hash = await storeModelDir(context.root, rel);
    const metrics = inputs.metrics ? topLevelNumbers(readJsonObject(inputs.metrics, 'the metrics to record with the version')) : undefined;
    const aliases = inputs.aliases ?? [];
    const trim = (p: string) => p.replace(/\/+$/, '');
    const producer = Object.entries(context.upstream ?? {}).find(([dep]) => trim(dep) === rel || rel.startsWith(`${trim(dep)}/`))?.[1];
    const commit = gitCommit(context.root);
    const { version, existing } = await updateModel(context.root, inputs.name, (current) => {
      const r = withVersion(
        current,
        { hash, registered_at: new Date().toISOString(), commit, pipeline: context.pipeline, stage: context.stage, lock: context.lock, source: rel, produced_by: producer, metrics, params: context.params },
        aliases,
      );
      return { record: r.record, result: r };
    });
    log(`${existing ? 'already registered' : 'registered'}: ${inputs.name}:${version.version} (${hash.slice(0, 12)}…)${aliases.length ? `; ${aliases.map((a) => `${a} → ${version.version}`).join(', ')}` : ''}`);
    writeOutput(inputs.out, `${JSON.stringify({ name: inputs.name, version: version.version, hash }, null, 2)}\n`);
  } catch (e) {
    if (e instanceof RegistryError) throw new ActionError(`${e.message}${e.suggestion ? ` — ${e.suggestion}` : ''}`);
    throw e;
  }
}
