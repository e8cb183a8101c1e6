// The HTTP app of `mlpipe serve` (fastify), speaking MLflow's scoring
// protocol: POST /invocations (JSON: dataframe_split, dataframe_records,
// instances, inputs; or text/csv) → {"predictions": [...]}; GET /ping and
// /health (200 when the model is loaded); GET /version (mlpipe and model);
// GET /metrics (Prometheus). Every input is checked against the model's
// signature; a client mistake — malformed JSON, wrong columns or types, an
// unsupported content type, an oversized body — is answered with a 4xx and
// {"error_code", "message"}, never a 500. Optionally every scored row is
// appended to a JSON-lines log (its columns, `_prediction` and `_time`) that
// mlpipe/monitor can read as current data.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { InputTable } from '../ml/predict.js';
import type { InputFrame, Signature } from '../ml/signature.js';
import { tableOf } from '../ml/signature.js';
import { ServeMetrics } from './metrics.js';
import { frameOfCsv, frameOfJson, MISSING_KEY, PayloadError } from './payload.js';

export interface ServedModel {
  readonly signature: Signature;
  /** What GET /version reports about the model. */
  readonly info: Record<string, unknown>;
  predict(table: InputTable): Promise<(string | number)[]>;
}

export interface AppOptions {
  /** Largest accepted body in bytes. */
  readonly bodyLimit: number;
  /** Called with every scored request's checked input columns and predictions (the request log). */
  readonly onScored?: (inputs: InputTable, predictions: readonly (string | number)[]) => void;
}

const REASONS: Record<number, string> = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

export function buildApp(model: ServedModel, options: AppOptions): { app: FastifyInstance; metrics: ServeMetrics } {
  const metrics = new ServeMetrics(model.signature);
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit, return503OnClosing: true });

  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, frameOfCsv(body as string));
    } catch (e) {
      done(Object.assign(e as Error, { statusCode: 400 }), undefined);
    }
  });

  app.addHook('onRequest', async (req) => {
    (req as { started?: bigint }).started = process.hrtime.bigint();
  });
  app.addHook('onResponse', async (req, reply) => {
    const started = (req as { started?: bigint }).started ?? process.hrtime.bigint();
    metrics.request(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
  });

  const clientError = (status: number, message: string) => ({ status, body: { error_code: REASONS[status] ?? 'BAD_REQUEST', message } });

  app.setErrorHandler((error: FastifyError, _req, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : error instanceof PayloadError || error instanceof SyntaxError ? 400 : 500;
    if (status === 500) {
      metrics.error('internal');
      process.stderr.write(`mlpipe serve: internal error: ${error.stack ?? error.message}\n`);
      return reply.code(500).send({ error_code: 'INTERNAL_ERROR', message: 'internal error (logged by the server)' });
    }
    const message =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `the body is larger than the limit of ${options.bodyLimit} bytes (mlpipe serve --max-body)`
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type: send application/json (MLflow scoring format) or text/csv'
          : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty: send a JSON object with one of dataframe_split, dataframe_records, instances, inputs'
            : error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
              ? `malformed JSON: ${error.message}`
              : error.message;
    const e = clientError(status, message);
    metrics.error(e.body.error_code.toLowerCase());
    return reply.code(status).send(e.body);
  });

  app.setNotFoundHandler((req, reply) => {
    metrics.error('not_found');
    reply.code(404).send({ error_code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}: POST /invocations, GET /ping, /health, /version, /metrics` });
  });

  const ok = async () => '\n';
  app.get('/ping', ok);
  app.get('/health', ok);
  app.get('/version', async () => model.info);
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.text();
  });

  app.post('/invocations', async (req, reply) => {
    const frame = typeof req.headers['content-type'] === 'string' && /csv/.test(req.headers['content-type']) ? (req.body as InputFrame) : frameOfJson(model.signature, req.body);
    const table = tableOf(model.signature, frame, MISSING_KEY);
    if ('error' in table) throw new PayloadError(table.error);
    const predictions = await model.predict(table);
    metrics.predictions(predictions);
    options.onScored?.(table, predictions);
    reply.header('content-type', 'application/json');
    return { predictions };
  });

  return { app, metrics };
}
