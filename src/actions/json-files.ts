// The JSON files actions take as inputs (metrics, receipts, a model's
// preprocessing): read as one JSON object, or one error line saying what the
// file should have been and what is wrong with it.
import { readFileSync } from 'node:fs';
import { ActionError } from './errors.js';

/** The JSON object in `file`; `what` leads the error ("models/m is not a model directory mlpipe/train wrote"). */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ActionError(`${what}: ${file} is ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(e as Error).message})`}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ActionError(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ActionError(`${what}: ${file} is not a JSON object`);
  return data as Record<string, unknown>;
}

/** The finite numbers at the top level of a metrics object (per-class tables and matrices left out). */
export function topLevelNumbers(data: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(data).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}
