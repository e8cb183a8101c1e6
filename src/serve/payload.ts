// Request bodies of MLflow's scoring protocol, turned into rows (objects keyed
// by column) for the signature check: JSON with exactly one of
// `dataframe_split` ({columns, data}), `dataframe_records` ([{col: value}]),
// `instances` or `inputs` (rows as objects, or as arrays in the signature's
// column order; `inputs` may also be columnar: {col: [values]}), or CSV
// (text/csv with a header row). Anything else is a client error with a message.
import { parse } from 'csv-parse/sync';
import type { Signature } from '../ml/signature.js';

export type Rows = Record<string, unknown>[];
export class PayloadError extends Error {}

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function positional(sig: Signature, row: unknown, i: number, key: string): Record<string, unknown> {
  if (isObject(row)) return row;
  const names = sig.inputs.map((c) => c.name);
  const values = Array.isArray(row) ? row : [row];
  if (values.length !== names.length) {
    throw new PayloadError(`${key}[${i}] has ${values.length} value${values.length === 1 ? '' : 's'}; the model takes ${names.length} (${names.join(', ')}), or send objects keyed by column`);
  }
  return Object.fromEntries(names.map((n, j) => [n, values[j]]));
}

function fromSplit(split: unknown): Rows {
  if (!isObject(split) || !Array.isArray(split.columns) || !Array.isArray(split.data)) throw new PayloadError('dataframe_split must be {"columns": [...], "data": [[...], ...]}');
  const columns = split.columns as unknown[];
  if (!columns.every((c) => typeof c === 'string')) throw new PayloadError('dataframe_split.columns must be column names (strings)');
  return (split.data as unknown[]).map((row, i) => {
    if (!Array.isArray(row) || row.length !== columns.length) throw new PayloadError(`dataframe_split.data[${i}] must be a list of ${columns.length} values (one per column)`);
    return Object.fromEntries(columns.map((c, j) => [c as string, row[j]]));
  });
}

function fromColumns(inputs: Record<string, unknown>): Rows {
  const cols = Object.entries(inputs);
  const lengths = new Set(cols.map(([, v]) => (Array.isArray(v) ? v.length : -1)));
  if (lengths.has(-1) || lengths.size > 1) throw new PayloadError('columnar inputs must map every column to a list of values, all of the same length');
  const n = cols.length === 0 ? 0 : (cols[0]![1] as unknown[]).length;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([c, v]) => [c, (v as unknown[])[i]])));
}

/** Rows of a parsed JSON body. */
export function rowsOfJson(sig: Signature, body: unknown): Rows {
  if (!isObject(body)) throw new PayloadError(`the body must be a JSON object with one of ${FORMATS.join(', ')}`);
  const given = FORMATS.filter((f) => f in body);
  if (given.length !== 1) {
    throw new PayloadError(given.length === 0 ? `the body needs one of ${FORMATS.join(', ')} (got ${Object.keys(body).slice(0, 5).join(', ') || 'an empty object'})` : `the body has ${given.join(' and ')}; send exactly one`);
  }
  const key = given[0]!;
  const value = body[key];
  switch (key) {
    case 'dataframe_split':
      return fromSplit(value);
    case 'dataframe_records':
      if (!Array.isArray(value) || !value.every(isObject)) throw new PayloadError('dataframe_records must be a list of objects keyed by column');
      return value;
    case 'inputs':
    case 'instances':
      if (key === 'inputs' && isObject(value)) return fromColumns(value);
      if (!Array.isArray(value)) throw new PayloadError(`${key} must be a list of rows${key === 'inputs' ? ' or an object of columns' : ''}`);
      return value.map((row, i) => positional(sig, row, i, key));
  }
}

/** Rows of a CSV body with a header row. */
export function rowsOfCsv(text: string): Rows {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, bom: true, trim: true }) as Rows;
  } catch (e) {
    throw new PayloadError(`CSV body: ${(e as Error).message}`);
  }
}
