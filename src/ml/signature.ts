// A model's input/output signature, in MLflow's column-based form: input
// columns with their types ("double" for numeric features, "string" for
// categorical ones, with the categories seen in training) and the output
// (class labels or a number). Derived from the preprocessing saved with the
// model, written into packages, and used by `mlpipe serve` to check every
// request before it reaches the model.
import type { Preprocess } from './features.js';
import type { Table } from './table.js';

export interface SignatureColumn {
  readonly name: string;
  readonly type: 'double' | 'string';
  /** string columns: the values the model knows. */
  readonly categories?: readonly string[];
  /** double columns: the range seen in training is not enforced, only the type. */
}

export interface Signature {
  readonly inputs: readonly SignatureColumn[];
  readonly outputs: readonly [{ readonly name: string; readonly type: 'string' | 'double'; readonly classes?: readonly string[] }];
  readonly task: 'classification' | 'regression';
  /** How training treated missing cells: only `impute` lets a prediction have them (a dropped row would have no prediction). */
  readonly missing: Preprocess['missing'];
}

export function signatureOf(pre: Preprocess): Signature {
  return {
    inputs: pre.features.map((f) => (f.kind === 'numeric' ? { name: f.name, type: 'double' } : { name: f.name, type: 'string', categories: f.categories })),
    outputs: [pre.task === 'classification' ? { name: pre.label, type: 'string', classes: pre.classes } : { name: pre.label, type: 'double' }],
    task: pre.task,
    missing: pre.missing,
  };
}

/** A value a client sent, checked against a column: its cell text, or why it does not fit. */
function cellOf(col: SignatureColumn, value: unknown, missing: Signature['missing']): string | { error: string } {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) {
    return missing === 'impute' ? '' : { error: `is missing (the model was trained with missing: ${missing}; only impute fills gaps)` };
  }
  if (col.type === 'double') {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return value.trim();
    return { error: `is ${JSON.stringify(value)}, not a number (type double)` };
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return { error: `is ${JSON.stringify(value)}, not a string` };
  const text = String(value);
  if (col.categories && !col.categories.includes(text)) return { error: `has the unknown category ${JSON.stringify(text)} (known: ${col.categories.join(', ')})` };
  return text;
}

/**
 * Checks rows (objects keyed by column) against the signature and turns them
 * into a table of the model's input columns. Extra columns are ignored (a
 * client may send the label or ids); a missing column or a wrong type is an
 * error naming the row and column.
 */
export function tableOf(sig: Signature, rows: readonly Record<string, unknown>[]): Table | { error: string } {
  const out: string[][] = [];
  for (const [i, row] of rows.entries()) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return { error: `row ${i}: expected an object of column values, got ${JSON.stringify(row)?.slice(0, 80)}` };
    const cells: string[] = [];
    for (const col of sig.inputs) {
      if (!(col.name in row)) {
        return { error: `row ${i}: column "${col.name}" is missing (the model's columns: ${sig.inputs.map((c) => `${c.name} (${c.type})`).join(', ')})` };
      }
      const cell = cellOf(col, row[col.name], sig.missing);
      if (typeof cell !== 'string') return { error: `row ${i}: column "${col.name}" ${cell.error}` };
      cells.push(cell);
    }
    out.push(cells);
  }
  return { columns: sig.inputs.map((c) => c.name), rows: out };
}
