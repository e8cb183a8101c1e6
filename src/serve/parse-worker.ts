// The parse worker of `mlpipe serve`: large request bodies are parsed and
// checked here (tableOfBody), off the main thread, so that one request's
// JSON.parse of megabytes never keeps /ping or other requests waiting. It
// answers each message with the checked table or the client error.
import { parentPort, workerData } from 'node:worker_threads';
import type { Signature } from '../ml/signature.js';
import { PayloadError, tableOfBody, type BodyKind } from './payload.js';

export interface ParseRequest {
  readonly id: number;
  readonly kind: BodyKind;
  readonly text: string;
}

export type ParseReply =
  | { readonly id: number; readonly table: { columns: readonly string[]; rows: readonly (readonly (string | number)[])[] } }
  | { readonly id: number; readonly error: string; readonly status: number; readonly syntax: boolean };

const { signature, maxRows } = workerData as { signature: Signature; maxRows: number };

parentPort!.on('message', ({ id, kind, text }: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = { id, table: tableOfBody(signature, kind, text, maxRows) };
  } catch (e) {
    reply = { id, error: (e as Error).message, status: e instanceof PayloadError ? e.statusCode : 400, syntax: e instanceof SyntaxError };
  }
  parentPort!.postMessage(reply);
});
