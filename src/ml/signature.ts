// A model's input/output signature, in MLflow's column-based form: input
// columns with their types ("double" for numeric features, "string" for
// categorical ones, with the categories seen in training) and the output
// (class labels or a number). Derived from the preprocessing saved with the
// model, written into packages, and used by `mlpipe serve` to check every
// request before it reaches the model.
import type { Preprocess } from './features.js';
import type { InputTable } from './predict.js';

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

/**
 * A value as an error message may echo it: short, and built without
 * recursion (a cell of 10,000 nested lists must not overflow the stack).
 */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** A value a client sent, checked against a column: the cell (numbers stay numbers), or why it does not fit. */
function cellOf(col: SignatureColumn, value: unknown, missing: Signature['missing']): string | number | { error: string } {
  if (value === null || value === undefined || value === '' || (typeof value === 'number' && Number.isNaN(value))) {
    return missing === 'impute' ? '' : { error: `is missing (the model was trained with missing: ${missing}; only impute fills gaps)` };
  }
  if (col.type === 'double') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    return { error: `is ${shown(value)}, not a number (type double)` };
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return { error: `is ${shown(value)}, not a string` };
  const text = String(value);
  if (col.categories && !col.categories.includes(text)) return { error: `has the unknown category ${shown(text)} (known: ${col.categories.join(', ')})` };
  return text;
}

/** Rows of values in named columns, as a request brings them. */
export interface InputFrame {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Checks a frame against the signature and returns the model's input columns
 * in its order. Extra columns are ignored (a client may send the label or
 * ids); a missing column or a wrong type is an error naming the row and
 * column. `absent` marks a value a row did not have at all.
 */
export function tableOf(sig: Signature, frame: InputFrame, absent?: unknown): InputTable | { error: string } {
  const model = () => sig.inputs.map((c) => `${c.name} (${c.type})`).join(', ');
  const at = sig.inputs.map((c) => frame.columns.indexOf(c.name));
  const lacking = at.indexOf(-1);
  if (lacking !== -1 && frame.rows.length > 0) return { error: `row 0: column "${sig.inputs[lacking]!.name}" is missing (the model's columns: ${model()})` };
  const rows: (string | number)[][] = new Array(frame.rows.length);
  for (let i = 0; i < frame.rows.length; i++) {
    const row = frame.rows[i]!;
    const cells: (string | number)[] = new Array(at.length);
    for (let j = 0; j < at.length; j++) {
      const col = sig.inputs[j]!;
      const value = row[at[j]!];
      if (value === absent && absent !== undefined) return { error: `row ${i}: column "${col.name}" is missing (the model's columns: ${model()})` };
      const cell = cellOf(col, value, sig.missing);
      if (typeof cell === 'object') return { error: `row ${i}: column "${col.name}" ${cell.error}` };
      cells[j] = cell;
    }
    rows[i] = cells;
  }
  return { columns: sig.inputs.map((c) => c.name), rows };
}
