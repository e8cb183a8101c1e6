// Feature preprocessing for tabular data, fitted on the training rows only
// and saved with the model (preprocess.json) so that prediction applies
// exactly the same transforms: numeric columns standardised, categorical
// columns one-hot encoded (categories sorted), missing cells imputed (mean or
// most frequent) or their rows dropped, as the stage's `with.missing` says.
// Column types are inferred from the training rows. Errors name file, row
// (file line) and column.
import { ActionError } from '../actions/errors.js';
import type { Table } from './table.js';

export type MissingPolicy = 'error' | 'impute' | 'drop';

export interface NumericColumn {
  readonly name: string;
  readonly kind: 'numeric';
  readonly mean: number;
  readonly std: number;
}

export interface CategoricalColumn {
  readonly name: string;
  readonly kind: 'categorical';
  readonly categories: readonly string[];
  readonly mostFrequent: string;
}

export type FeatureColumn = NumericColumn | CategoricalColumn;

export interface Preprocess {
  readonly version: 1;
  readonly features: readonly FeatureColumn[];
  readonly label: string;
  readonly task: 'classification' | 'regression';
  /** Classification: the classes in output order. */
  readonly classes?: readonly string[];
  readonly missing: MissingPolicy;
}

const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']);
/** A cell of a table: text from a file, or a number a request already sent as one. */
export type Cell = string | number;

export const isMissing = (cell: Cell) => typeof cell === 'string' && MISSING.has(cell);

export function numeric(cell: Cell): number | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell)) return undefined;
  return Number(cell);
}

/** Fits the transforms on the training table. */
export function fitPreprocess(table: Table, file: string, options: { label: string; features?: readonly string[]; task?: 'classification' | 'regression'; missing: MissingPolicy }): Preprocess {
  const col = (name: string, what: string) => {
    const i = table.columns.indexOf(name);
    if (i === -1) throw new ActionError(`${what} column "${name}" is not in ${file} (columns: ${table.columns.join(', ')})`);
    return i;
  };
  const labelAt = col(options.label, 'label');
  const names = options.features ?? table.columns.filter((c) => c !== options.label);
  const features: FeatureColumn[] = names.map((name) => {
    const i = col(name, 'feature');
    const present = table.rows.map((r) => r[i]!).filter((c) => !isMissing(c));
    if (present.length === 0) throw new ActionError(`${file}: column "${name}" has no values`);
    const nums = present.map(numeric);
    if (nums.every((n) => n !== undefined)) {
      const values = nums as number[];
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) || 1;
      return { name, kind: 'numeric', mean, std };
    }
    const counts = new Map<string, number>();
    for (const c of present) counts.set(c, (counts.get(c) ?? 0) + 1);
    const categories = [...counts.keys()].sort();
    const mostFrequent = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    return { name, kind: 'categorical', categories, mostFrequent };
  });
  const labels = table.rows.map((r, k) => {
    const v = r[labelAt]!;
    if (isMissing(v)) throw new ActionError(`${file}:${k + 2}: the label "${options.label}" is missing`);
    return v;
  });
  const task = options.task ?? (labels.every((l) => numeric(l) !== undefined) && new Set(labels).size > 20 ? 'regression' : 'classification');
  if (task === 'regression') {
    const bad = labels.findIndex((l) => numeric(l) === undefined);
    if (bad >= 0) throw new ActionError(`${file}:${bad + 2}: the label "${options.label}" is "${labels[bad]}", not a number (task: regression)`);
  }
  return { version: 1, features, label: options.label, task, ...(task === 'classification' ? { classes: [...new Set(labels)].sort() } : {}), missing: options.missing };
}

/** Width of the encoded feature vector. */
export function inputWidth(p: Preprocess): number {
  return p.features.reduce((a, f) => a + (f.kind === 'numeric' ? 1 : f.categories.length), 0);
}

export interface Encoded {
  readonly x: Float32Array;
  /** Class index (classification) or value (regression) per row. */
  readonly y: Float32Array;
  readonly rows: number;
  /** Rows dropped for missing values (missing: drop). */
  readonly dropped: number;
}

/** Applies the fitted transforms to a table (training, validation or new data). */
export function encode(p: Preprocess, table: { readonly columns: readonly string[]; readonly rows: readonly (readonly Cell[])[] }, file: string, withLabels = true): Encoded {
  const index = (name: string) => {
    const i = table.columns.indexOf(name);
    if (i === -1) throw new ActionError(`${file} has no column "${name}", which the model was trained with (columns: ${table.columns.join(', ')})`);
    return i;
  };
  const at = p.features.map((f) => index(f.name));
  const labelAt = withLabels ? index(p.label) : -1;
  const width = inputWidth(p);
  // Written in place (no array per row): serving encodes every request with this.
  const x = new Float32Array(table.rows.length * width);
  const y = new Float32Array(withLabels ? table.rows.length : 0);
  let rows = 0;
  let dropped = 0;
  rows: for (let k = 0; k < table.rows.length; k++) {
    const row = table.rows[k]!;
    const line = k + 2;
    let o = rows * width;
    for (let j = 0; j < p.features.length; j++) {
      const f = p.features[j]!;
      let cell = row[at[j]!]!;
      if (isMissing(cell)) {
        if (p.missing === 'drop') {
          x.fill(0, rows * width, (rows + 1) * width);
          dropped++;
          continue rows;
        }
        if (p.missing === 'error') throw new ActionError(`${file}:${line}: column "${f.name}" is missing a value (set with.missing to impute or drop)`);
        cell = f.kind === 'numeric' ? f.mean : f.mostFrequent;
      }
      if (f.kind === 'numeric') {
        const v = numeric(cell);
        if (v === undefined) throw new ActionError(`${file}:${line}: column "${f.name}" is "${cell}", not a number`);
        x[o++] = (v - f.mean) / f.std;
      } else {
        const c = f.categories.indexOf(String(cell));
        if (c === -1) throw new ActionError(`${file}:${line}: column "${f.name}" has the unknown category "${cell}" (known: ${f.categories.join(', ')})`);
        x[o + c] = 1;
        o += f.categories.length;
      }
    }
    if (withLabels) {
      const l = row[labelAt]!;
      if (isMissing(l)) throw new ActionError(`${file}:${line}: the label "${p.label}" is missing`);
      if (p.task === 'classification') {
        const c = p.classes!.indexOf(String(l));
        if (c === -1) throw new ActionError(`${file}:${line}: the label "${l}" is not a class seen in training (${p.classes!.join(', ')})`);
        y[rows] = c;
      } else {
        const v = numeric(l);
        if (v === undefined) throw new ActionError(`${file}:${line}: the label "${p.label}" is "${l}", not a number`);
        y[rows] = v;
      }
    }
    rows++;
  }
  const complete = rows === table.rows.length;
  return { x: complete ? x : x.slice(0, rows * width), y: complete || !withLabels ? y : y.slice(0, rows), rows, dropped };
}
