// Tabular data for the built-in actions: CSV files with a header row, read
// with csv-parse and written with csv-stringify. Cells stay strings here;
// typing is the job of the action that needs numbers. Errors name the file,
// line and column.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ActionError } from '../actions/errors.js';

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function readCsv(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ActionError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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

export function csvText(table: Table): string {
  return stringify([table.columns as string[], ...(table.rows as string[][])], { record_delimiter: '\n' });
}
