// Request bodies to checked input tables without blocking the event loop:
// small bodies (most requests: a few rows) are handled inline, larger ones in
// a worker thread (see parse-worker.ts) with its own memory limit. A body
// that makes the worker run out of memory or crash costs that request a 413,
// and the next large body gets a fresh worker; the server itself never waits
// on, or dies of, one request's parsing.
import { Worker } from 'node:worker_threads';
import type { InputTable } from '../ml/predict.js';
import type { Signature } from '../ml/signature.js';
import { bundledScript } from '../util/bundled.js';
import type { ParseReply, ParseRequest } from './parse-worker.js';
import { PayloadError, tableOfBody, type BodyKind } from './payload.js';

/** Bodies up to this size are parsed on the main thread (well under a millisecond). */
const INLINE_BYTES = 64 * 1024;
/** The worker's heap: several times the largest body's parsed size. */
const WORKER_HEAP_MB = 512;

export class BodyParser {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (t: InputTable) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly signature: Signature,
    private readonly maxRows: number,
  ) {}

  table(kind: BodyKind, text: string): Promise<InputTable> | InputTable {
    if (text.length <= INLINE_BYTES) return tableOfBody(this.signature, kind, text, this.maxRows);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      this.ensureWorker().postMessage({ id, kind, text } satisfies ParseRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(bundledScript('serve-parse-worker'), {
      workerData: { signature: this.signature, maxRows: this.maxRows },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    worker.on('message', (reply: ParseReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if ('table' in reply) w.resolve(reply.table);
      else w.reject(reply.syntax ? new SyntaxError(reply.error) : new PayloadError(reply.error, reply.status));
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(new PayloadError(`the body could not be parsed within the server's limits (${why}); send fewer or simpler rows per request`, 413));
      this.waiting.clear();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`parser exited with ${code}`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
