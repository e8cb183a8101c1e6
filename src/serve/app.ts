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
import type { Signature } from '../ml/signature.js';
import { BodyParser } from './body-parser.js';
import { ServeMetrics } from './metrics.js';
import { EMPTY_BODY, PayloadError, type BodyKind } from './payload.js';

export interface ServedModel {
  readonly signature: Signature;
  /** What GET /version reports about the model. */
  readonly info: Record<string, unknown>;
  predict(table: InputTable): Promise<(string | number)[]>;
}

export interface AppOptions {
  /** Largest accepted body in bytes. */
  readonly bodyLimit: number;
  /** Most rows one request may ask to score (more: 413). */
  readonly maxRows: number;
  /** Milliseconds a client has to send a whole request (headers within at most 10 s of it); an idle connection is closed after it too. */
  readonly requestTimeoutMs: number;
  /** Most open connections; more are refused until some close. */
  readonly maxConnections: number;
  /** Called with every scored request's checked input columns and predictions (the request log). */
  readonly onScored?: (inputs: InputTable, predictions: readonly (string | number)[]) => void;
}

const REASONS: Record<number, string> = { 400: 'BAD_REQUEST', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

export function buildApp(model: ServedModel, options: AppOptions): { app: FastifyInstance; metrics: ServeMetrics } {
  const metrics = new ServeMetrics(model.signature);
  // Bounds on what one client can hold: headers within 10 s (or the request
  // timeout if shorter), the whole request within the request timeout, idle
  // keep-alive connections closed after 5 s and any silent socket after the
  // request timeout, timeouts checked every second, and a connection limit.
  const headersTimeout = Math.min(10_000, options.requestTimeoutMs);
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.requestTimeoutMs,
    keepAliveTimeout: Math.min(5_000, options.requestTimeoutMs),
    http: { headersTimeout, connectionsCheckingInterval: Math.min(1_000, headersTimeout) },
  });
  app.server.maxConnections = options.maxConnections;
  // CONNECT (a proxy tunnel) and protocol upgrades are not part of the scoring protocol: answered and closed.
  const refuse = (_req: unknown, socket: import('node:stream').Duplex) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  };
  app.server.on('connect', refuse);
  app.server.on('upgrade', refuse);

  // Bodies become checked input tables while being received: JSON and CSV
  // text is parsed inline when small, in a worker thread when large.
  const parser = new BodyParser(model.signature, options.maxRows);
  app.addHook('onClose', () => parser.close());
  app.removeContentTypeParser(['text/plain', 'application/json']);
  const kinds: [string[], BodyKind][] = [
    [['application/json'], 'json'],
    [['text/csv', 'application/csv'], 'csv'],
  ];
  for (const [types, kind] of kinds) {
    app.addContentTypeParser(types, { parseAs: 'string' }, async (_req: unknown, body: string | Buffer) => parser.table(kind, body as string));
  }

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
          : error instanceof SyntaxError
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
    const table = req.body as InputTable | undefined;
    if (table === undefined) throw new PayloadError(EMPTY_BODY);
    const predictions = await model.predict(table);
    metrics.predictions(predictions);
    options.onScored?.(table, predictions);
    reply.header('content-type', 'application/json');
    return { predictions };
  });

  return { app, metrics };
}
