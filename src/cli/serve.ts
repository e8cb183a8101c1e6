// `mlpipe serve MODEL`: serves a model over HTTP with MLflow's scoring
// protocol (see serve/app.ts). MODEL is a registry reference (NAME,
// NAME@ALIAS, NAME:VERSION) — its bytes fetched from the workspace or the
// cache, a retired version refused — or a directory mlpipe/package or
// mlpipe/train wrote. SIGTERM/SIGINT close the server gracefully: no new
// connections, in-flight requests answered, the request log flushed; then exit
// 143/130.
import { createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chooseBackend } from '../ml/backend.js';
import { signatureOf } from '../ml/signature.js';
import { fetchModelDir } from '../registry/model-store.js';
import { aliasesOf, flavorOf, parseRef, refText, RegistryError, requireModel, resolveRef, retiredMessage, type Flavor } from '../registry/registry.js';
import type { Signature } from '../ml/signature.js';
import type { InputTable } from '../ml/predict.js';
import { mlpipeVersion, packageVersion } from '../util/version.js';
import { EXIT, type CliContext } from './context.js';

export interface ServeOptions {
  readonly port?: string;
  readonly host?: string;
  readonly log?: string;
  readonly maxBody?: string;
  readonly maxRows?: string;
  readonly requestTimeout?: string;
  readonly maxConnections?: string;
  readonly backend?: string;
}

/** "1mb", "512kb", "2048" → bytes. */
function bytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * scale);
}

/** Flavors mlpipe serve can serve. */
const SERVED: readonly Flavor[] = ['tfjs', 'onnx'];

/** The model's files (a directory, or an ONNX file), its flavor and what /version says about it. */
async function locate(root: string | undefined, cwd: string, text: string): Promise<{ dir: string; flavor: Flavor; info: Record<string, unknown>; label: string }> {
  const asDir = resolve(cwd, text);
  if ((text.endsWith('.onnx') && existsSync(asDir)) || existsSync(join(asDir, 'model.onnx'))) return { dir: asDir, flavor: 'onnx', info: { path: text }, label: text };
  if (existsSync(join(asDir, 'model.json'))) {
    let meta: Record<string, unknown> = {};
    try {
      if (existsSync(join(asDir, 'metadata.json'))) meta = JSON.parse(readFileSync(join(asDir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new RegistryError(`${join(text, 'metadata.json')} is not valid JSON: ${(e as Error).message}`, 'package the model again with mlpipe/package');
    }
    return { dir: asDir, flavor: 'tfjs', info: { path: text, ...(meta.name ? { name: meta.name, version: meta.version, hash: meta.model_hash } : {}) }, label: text };
  }
  const ref = parseRef(text);
  if (!ref) throw new RegistryError(`"${text}" is neither a model directory (with model.json or model.onnx), an .onnx file, nor a registry reference`, 'write NAME, NAME@ALIAS, NAME:VERSION or models:/NAME@ALIAS (e.g. iris@production), or the directory mlpipe/package wrote');
  if (!root) throw new RegistryError(`no mlpipe project here to look "${text}" up in`, 'run in the project directory, or pass -C DIR');
  const record = requireModel(root, ref.name);
  const v = resolveRef(record, ref);
  if (v.retired) {
    const what = ref.version !== undefined ? retiredMessage(ref.name, v) : `${refText(ref)} → ${ref.name}:${v.version}, which is retired (${v.retired.at.slice(0, 10)}: ${v.retired.reason})`;
    throw new RegistryError(`${what}; nothing serves a retired version`, `promote a live version instead: mlpipe models promote ${ref.name}:VERSION ${ref.alias ?? 'production'} (see mlpipe models list ${ref.name})`);
  }
  const flavor = flavorOf(v);
  if (!SERVED.includes(flavor)) {
    throw new RegistryError(
      `${ref.name}:${v.version} is a ${flavor} model (${v.source}): mlpipe serve serves ${SERVED.join(' and ')} models`,
      flavor === 'sklearn' || flavor === 'pytorch' ? `export it to ONNX (${flavor === 'sklearn' ? 'skl2onnx' : 'torch.onnx.export'}) and register that with flavor: onnx, or serve it with its own tools (mlflow models serve)` : 'register an ONNX or TensorFlow.js export of it',
    );
  }
  const dir = await fetchModelDir(root, ref.name, v);
  const aliases = aliasesOf(record, v.version);
  return { dir, flavor, info: { name: ref.name, version: v.version, aliases, hash: v.hash, flavor }, label: `${ref.name}:${v.version}${aliases.length ? ` (${aliases.join(', ')})` : ''}` };
}

export async function runServe(ctx: CliContext, model: string, options: ServeOptions): Promise<number> {
  const fail = (message: string, suggestion?: string) => ctx.error(message, suggestion);
  const port = Number(options.port ?? 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port ${options.port} is not a port number (0–65535; 0 picks a free one)`);
  const bodyLimit = bytes(options.maxBody ?? '5mb');
  if (bodyLimit === undefined || bodyLimit < 1) return fail(`--max-body ${options.maxBody} is not a size`, 'write e.g. 512kb, 5mb or a number of bytes');
  const whole = (text: string | undefined, fallback: number) => (text === undefined ? fallback : /^\d+$/.test(text.trim()) ? Number(text) : NaN);
  const maxRows = whole(options.maxRows, 10_000);
  if (!(maxRows >= 1)) return fail(`--max-rows ${options.maxRows} is not a whole number of at least 1`);
  const maxConnections = whole(options.maxConnections, 1024);
  if (!(maxConnections >= 1)) return fail(`--max-connections ${options.maxConnections} is not a whole number of at least 1`);
  const requestTimeout = Number(options.requestTimeout ?? 30);
  if (!(requestTimeout > 0) || !Number.isFinite(requestTimeout)) return fail(`--request-timeout ${options.requestTimeout} is not a number of seconds above 0`);
  if (options.backend !== undefined) process.env.MLPIPE_TF_BACKEND = options.backend;
  const backend = chooseBackend();
  if ('error' in backend) return fail(backend.error);

  let located: Awaited<ReturnType<typeof locate>>;
  try {
    const found = ctx.root();
    located = await locate('root' in found ? found.root : undefined, ctx.cwd, model);
  } catch (e) {
    if (e instanceof RegistryError) return e.diagnostics ? ctx.fail(e.diagnostics) : fail(e.message, e.suggestion);
    throw e;
  }

  const { ActionError } = await import('../actions/errors.js');
  let served: { signature: Signature; predict: (t: InputTable) => Promise<(string | number)[]>; runtime: Record<string, unknown> };
  try {
    if (located.flavor === 'onnx') {
      const { loadOnnxModel } = await import('../ml/onnx-model.js');
      const m = await loadOnnxModel(located.dir);
      served = { signature: m.signature, predict: (t) => m.predict(t), runtime: { onnxruntime: packageVersion('onnxruntime-node'), ...m.info } };
    } else {
      const { loadTf } = await import('../ml/tf.js');
      const { Predictor } = await import('../ml/predict.js');
      const tf = await loadTf(backend.backend);
      const predictor = await Predictor.load(tf, located.dir);
      // The signature follows from the preprocessing saved with the model (a
      // package's signature.json is the same, written for other consumers).
      served = { signature: signatureOf(predictor.pre), predict: (t) => predictor.predict(t), runtime: { tfjs: packageVersion('@tensorflow/tfjs-core'), backend: backend.backend } };
    }
  } catch (e) {
    if (e instanceof ActionError) return fail(e.message);
    throw e;
  }
  const signature = served.signature;

  // The request log is opened now, so that a bad path is an error before anything listens.
  let logFd: number | undefined;
  if (options.log) {
    try {
      logFd = openSync(resolve(ctx.cwd, options.log), 'a');
    } catch (e) {
      return fail(`cannot open the request log ${options.log}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'give a file in an existing, writable directory');
    }
  }
  const log = logFd === undefined ? undefined : createWriteStream('', { fd: logFd });
  log?.on('error', (e) => ctx.log(`mlpipe serve: the request log ${options.log} could not be written: ${e.message}`));
  const { buildApp } = await import('../serve/app.js');
  const { app } = buildApp(
    { signature, info: { mlpipe: mlpipeVersion(), ...served.runtime, ...located.info }, predict: served.predict },
    {
      bodyLimit,
      maxRows,
      maxConnections,
      requestTimeoutMs: Math.round(requestTimeout * 1000),
      onScored: log
        ? (inputs, predictions) => {
            const time = new Date().toISOString();
            const line = (row: readonly (string | number)[], i: number) => JSON.stringify({ ...Object.fromEntries(inputs.columns.map((n, j) => [n, row[j] === '' ? null : row[j]])), _prediction: predictions[i], _time: time });
            log.write(`${inputs.rows.map(line).join('\n')}\n`);
          }
        : undefined,
    },
  );

  let address: string;
  try {
    address = await app.listen({ port, host: options.host ?? '127.0.0.1' });
  } catch (e) {
    return fail(`cannot listen on ${options.host ?? '127.0.0.1'}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'another server uses that port: pick another with --port (0 picks a free one)' : undefined);
  }
  const runtime = located.flavor === 'onnx' ? 'ONNX Runtime' : `TensorFlow.js ${backend.backend}`;
  ctx.log(`serving ${located.label} on ${address} (${runtime}; columns ${signature.inputs.map((c) => `${c.name} (${c.type})`).join(', ')}; POST /invocations, GET /ping /health /version /metrics)`);
  if (ctx.json) ctx.out(JSON.stringify({ event: 'listening', url: address, model: located.info }));

  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once('SIGTERM', () => done('SIGTERM'));
    process.once('SIGINT', () => done('SIGINT'));
  });
  ctx.log(`${signal}: closing (answering requests in flight)`);
  await app.close();
  if (log) await new Promise<void>((done) => log.end(done));
  ctx.log('closed');
  return signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
}
