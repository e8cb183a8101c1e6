// Request bodies of MLflow's scoring protocol, turned into a frame (column
// names and rows of values, without an object per row) for the signature check: JSON with exactly one of
// `dataframe_split` ({columns, data}), `dataframe_records` ([{col: value}]),
// `instances` or `inputs` (rows as objects, or as arrays in the signature's
// column order; `inputs` may also be columnar: {col: [values]}), or CSV
// (text/csv with a header row). Anything else is a client error with a message.
import { parse } from 'csv-parse/sync';
import { shown, tableOf, type InputFrame, type Signature } from '../ml/signature.js';
import type { InputTable } from '../ml/predict.js';

/** A client's mistake: answered with `status` (400 unless said otherwise) and the message. */
export class PayloadError extends Error {
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/** What an empty JSON body is told. */
export const EMPTY_BODY = `the body is empty: send a JSON object with one of ${FORMATS.join(', ')}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Marks a column a record did not have (as opposed to a null value). */
export const MISSING_KEY: unique symbol = Symbol('missing key');

/**
 * Rows given as objects keyed by column. Only the signature's columns are
 * taken (extra keys are ignored, as extra columns are): a body whose records
 * each bring new keys never builds a table wider than the model.
 */
function fromRecords(sig: Signature, records: readonly Record<string, unknown>[]): InputFrame {
  const columns = sig.inputs.map((c) => c.name);
  return { columns, rows: records.map((r) => columns.map((c) => (Object.hasOwn(r, c) ? r[c] : MISSING_KEY))) };
}

/** Rows given as arrays in the signature's column order (or one value for a one-column model). */
function fromArrays(sig: Signature, rows: readonly unknown[], key: string): InputFrame {
  const columns = sig.inputs.map((c) => c.name);
  return {
    columns,
    rows: rows.map((row, i) => {
      const values = Array.isArray(row) ? row : [row];
      if (values.length !== columns.length) {
        throw new PayloadError(`${key}[${i}] has ${values.length} value${values.length === 1 ? '' : 's'}; the model takes ${columns.length} (${columns.join(', ')}), or send objects keyed by column`);
      }
      return values;
    }),
  };
}

function fromSplit(split: unknown): InputFrame {
  if (!isObject(split) || !Array.isArray(split.columns) || !Array.isArray(split.data)) throw new PayloadError('dataframe_split must be {"columns": [...], "data": [[...], ...]}');
  const columns = split.columns as unknown[];
  if (!columns.every((c) => typeof c === 'string')) throw new PayloadError('dataframe_split.columns must be column names (strings)');
  const rows = split.data as unknown[];
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) throw new PayloadError(`dataframe_split.data[${i}] must be a list of ${columns.length} values (one per column)`);
  });
  return { columns: columns as string[], rows: rows as unknown[][] };
}

/** Columnar inputs ({col: [values]}); as with records, only the signature's columns are read. */
function fromColumns(sig: Signature, inputs: Record<string, unknown>): InputFrame {
  const columns = sig.inputs.map((c) => c.name).filter((c) => Object.hasOwn(inputs, c));
  const lists = columns.map((c) => inputs[c]);
  const lengths = new Set(lists.map((v) => (Array.isArray(v) ? v.length : -1)));
  if (lengths.has(-1) || lengths.size > 1) throw new PayloadError('columnar inputs must map every column to a list of values, all of the same length');
  const n = lists.length === 0 ? 0 : (lists[0] as unknown[]).length;
  return { columns, rows: Array.from({ length: n }, (_, i) => lists.map((v) => (v as unknown[])[i])) };
}

/** The frame of a parsed JSON body. */
export function frameOfJson(sig: Signature, body: unknown): InputFrame {
  if (!isObject(body)) throw new PayloadError(`the body must be a JSON object with one of ${FORMATS.join(', ')}`);
  const given = FORMATS.filter((f) => f in body);
  if (given.length !== 1) {
    throw new PayloadError(given.length === 0 ? `the body needs one of ${FORMATS.join(', ')} (got ${Object.keys(body).slice(0, 5).map((k) => shown(k).slice(1, -1)).join(', ') || 'an empty object'})` : `the body has ${given.join(' and ')}; send exactly one`);
  }
  const key = given[0]!;
  const value = body[key];
  switch (key) {
    case 'dataframe_split':
      return fromSplit(value);
    case 'dataframe_records':
      if (!Array.isArray(value) || !value.every(isObject)) throw new PayloadError('dataframe_records must be a list of objects keyed by column');
      return fromRecords(sig, value);
    case 'inputs':
    case 'instances':
      if (key === 'inputs' && isObject(value)) return fromColumns(sig, value);
      if (!Array.isArray(value)) throw new PayloadError(`${key} must be a list of rows${key === 'inputs' ? ' or an object of columns' : ''}`);
      return value.every(isObject) && value.length > 0 ? fromRecords(sig, value as Record<string, unknown>[]) : fromArrays(sig, value, key);
  }
}

/** The frame of a CSV body with a header row. */
export function frameOfCsv(text: string): InputFrame {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, bom: true, trim: true }) as string[][];
  } catch (e) {
    throw new PayloadError(`CSV body: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new PayloadError('CSV body: empty; expected a header row and data rows');
  const [columns, ...rows] = records as [string[], ...string[][]];
  return { columns, rows };
}

export type BodyKind = 'json' | 'csv';

/**
 * A request body (JSON or CSV text) to the checked input table the model
 * takes: parsed, turned into a frame, bounded in rows and checked against the
 * signature. Throws PayloadError (a 4xx) or SyntaxError (malformed JSON). The
 * same function runs on the main thread for small bodies and in the parse
 * worker for large ones.
 */
export function tableOfBody(sig: Signature, kind: BodyKind, text: string, maxRows: number): InputTable {
  if (kind === 'json' && text.trim() === '') throw new PayloadError(EMPTY_BODY);
  const frame = kind === 'csv' ? frameOfCsv(text) : frameOfJson(sig, JSON.parse(text));
  if (frame.rows.length === 0) throw new PayloadError('the request has no rows to score');
  if (frame.rows.length > maxRows) throw new PayloadError(`the request has ${frame.rows.length} rows; this server scores at most ${maxRows} per request (mlpipe serve --max-rows)`, 413);
  const table = tableOf(sig, frame, MISSING_KEY);
  if ('error' in table) throw new PayloadError(table.error);
  return table;
}
