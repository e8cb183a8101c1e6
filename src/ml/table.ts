// Tabular data for the built-in actions: CSV files with a header row (read
// with csv-parse, written with csv-stringify) or JSON lines (`.jsonl`/`.ndjson`,
// one object per line; the columns are the keys of the first object). Cells
// stay strings here; typing is the job of the action that needs numbers.
// Errors name the file and line.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ActionError } from '../actions/errors.js';

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A CSV or JSON-lines file as a table (by extension). */
export function readTable(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ActionError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (/\.(jsonl|ndjson)$/i.test(path)) return jsonLines(path, text);
  if (/\.json$/i.test(path)) throw new ActionError(`${path}: a .json file is not a table; give CSV with a header row, or JSON lines (.jsonl: one object per line)`);
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, bom: true, trim: true }) as string[][];
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new ActionError(`${path}${err.lines ? `:${err.lines}` : ''}: ${err.message.replace(/^Invalid Record Length: /, '')}`);
  }
  if (records.length === 0) throw new ActionError(`${path} is empty: expected a header row and data rows`);
  const [columns, ...rows] = records as [string[], ...string[][]];
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') throw new ActionError(`${path}:1: a column has no name`);
    if (seen.has(c)) throw new ActionError(`${path}:1: column "${c}" appears twice`);
    seen.add(c);
  }
  if (rows.length === 0) throw new ActionError(`${path} has a header but no data rows`);
  return { columns, rows };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function jsonLines(path: string, text: string): Table {
  let columns: string[] | undefined;
  const rows: string[][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ActionError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ActionError(`${path}:${i + 1}: each line must be a JSON object`);
    const record = value as Record<string, unknown>;
    columns ??= Object.keys(record);
    const unknown = Object.keys(record).find((k) => !columns!.includes(k));
    if (unknown !== undefined) throw new ActionError(`${path}:${i + 1}: key "${unknown}" is not in the first line's keys (${columns.join(', ')})`);
    rows.push(columns.map((c) => cell(record[c])));
  });
  if (!columns || rows.length === 0) throw new ActionError(`${path} is empty: expected one JSON object per line`);
  return { columns, rows };
}

export function csvText(table: Table): string {
  return stringify([table.columns as string[], ...(table.rows as string[][])], { record_delimiter: '\n' });
}
