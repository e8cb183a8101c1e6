// Comparing snapshots: rows of Path, Key, one value per side and Change (B − A
// for numbers), only the changed ones unless all are asked for; and the forms
// they are printed in (table, Markdown, CSV, DVC-shaped JSON).
import type { Colors } from 'picocolors/types.js';
import { renderTable, type Cell, type TableFormat } from '../report/table.js';
import type { FileValues, Value } from './snapshot.js';

export interface DiffRow {
  readonly path: string;
  /** Dotted key; "" for a row saying a whole file could not be read. */
  readonly key: string;
  /** One value per side: undefined when absent there, {error} when the file could not be read. */
  readonly values: readonly (Value | undefined | { error: string })[];
  /** B − A when both are numbers. */
  readonly change?: number;
  readonly changed: boolean;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Rows for any number of sides (show: one per revision; diff: two). */
export function compareFiles(sides: readonly ReadonlyMap<string, FileValues>[]): DiffRow[] {
  const paths = [...new Set(sides.flatMap((s) => [...s.keys()]))].sort();
  const rows: DiffRow[] = [];
  for (const path of paths) {
    const files = sides.map((s) => s.get(path));
    const errors = files.map((f) => (f && 'error' in f ? { error: f.error } : undefined));
    if (errors.some((e) => e)) rows.push({ path, key: '', values: errors.map((e) => e ?? undefined), changed: true });
    const keys = [...new Set(files.flatMap((f) => (f && 'values' in f ? [...f.values.keys()] : [])))].sort();
    for (const key of keys) {
      const values = files.map((f) => (f && 'values' in f ? f.values.get(key) : undefined));
      const [a, b] = [values[0], values[values.length - 1]];
      const change = values.length === 2 && typeof a === 'number' && typeof b === 'number' ? b - a : undefined;
      rows.push({ path, key, values, ...(change !== undefined ? { change } : {}), changed: values.some((v) => !same(v, values[0])) });
    }
  }
  return rows;
}

/** Rounds to `precision` digits after the decimal point, without trailing zeros. */
export function formatNumber(n: number, precision: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Number(n.toFixed(Math.min(100, Math.max(0, precision))));
  return String(Object.is(r, -0) ? 0 : r);
}

export function formatValue(v: Value | undefined | { error: string }, precision: number): string {
  if (v === undefined) return '-';
  if (v !== null && typeof v === 'object') return `error: ${v.error}`;
  if (typeof v === 'number') return formatNumber(v, precision);
  return String(v);
}

export interface PrintOptions {
  readonly format: TableFormat;
  readonly precision: number;
  readonly colors?: Colors;
  /** Print the Change column (diffs). */
  readonly change: boolean;
}

export function renderRows(labels: readonly string[], rows: readonly DiffRow[], o: PrintOptions): string {
  const head = ['Path', 'Key', ...labels, ...(o.change ? ['Change'] : [])];
  const body = rows.map((r) => {
    const cells: (string | Cell)[] = [r.path, r.key, ...r.values.map((v) => (v !== null && typeof v === 'object' ? { text: formatValue(v, o.precision), ...(o.colors ? { paint: o.colors.red } : {}) } : formatValue(v, o.precision)))];
    if (o.change) {
      const text = r.change === undefined ? '' : `${r.change > 0 ? '+' : ''}${formatNumber(r.change, o.precision)}`;
      const paint = o.colors && r.change ? (r.change > 0 ? o.colors.green : o.colors.red) : undefined;
      cells.push(paint ? { text, paint } : text);
    }
    return cells;
  });
  return renderTable(head, body, o.format, o.colors);
}

/** DVC's `--json` shape for diffs: {path: {key: {old, new, diff}}}; an unreadable file is {path: {error: {old, new}}}. */
export function diffJson(rows: readonly DiffRow[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of rows) {
    const [a, b] = [r.values[0], r.values[r.values.length - 1]];
    const file = (out[r.path] ??= {});
    if (r.key === '') file.error = { old: a ?? null, new: b ?? null };
    else file[r.key] = { old: a ?? null, new: b ?? null, ...(r.change !== undefined ? { diff: r.change } : {}) };
  }
  return out;
}
