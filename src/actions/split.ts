// mlpipe/split: a CSV file into train/validation/test files by fractions, or
// into k folds (fold-N/train.csv + fold-N/validation.csv), stratified by the
// label when one is given. Seeded (xoroshiro128+ from pure-rand): the same
// inputs give byte-identical files. Rows keep their original order within
// each part. Also writes split.json: the row counts per part and label.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { closest } from '../util/suggest.js';
import { csvText, readTable, type Table } from '../ml/table.js';
import { ActionError } from './errors.js';
import { fractionsProblem, SPLIT_PARTS } from './split-fractions.js';

export interface SplitInputs {
  readonly data: string;
  readonly out: string;
  readonly label?: string;
  readonly stratify?: boolean;
  readonly fractions?: { train: number; validation?: number; test?: number };
  readonly folds?: number;
  readonly seed?: number;
}

const PARTS = SPLIT_PARTS;

/** Fisher–Yates with a seeded generator. */
function shuffled(items: number[], rng: ReturnType<typeof xoroshiro128plus>): number[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Shares of n by the largest-remainder method: they sum to n exactly. */
function apportion(n: number, shares: readonly number[]): number[] {
  const exact = shares.map((s) => s * n);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < n; k++) counts[order[k % order.length]![1]]!++;
  return counts;
}

/** Row indexes grouped by label value (one group without stratification), groups in sorted order. */
function groups(table: Table, inputs: SplitInputs): number[][] {
  const all = table.rows.map((_, i) => i);
  const stratify = inputs.stratify ?? inputs.label !== undefined;
  if (!stratify) return [all];
  if (inputs.label === undefined) throw new ActionError('stratify: true needs a label column (with.label)');
  const col = table.columns.indexOf(inputs.label);
  if (col === -1) {
    const near = closest(inputs.label, table.columns);
    throw new ActionError(`label column "${inputs.label}" is not in ${inputs.data}${near ? ` — did you mean "${near}"?` : ''} (columns: ${table.columns.join(', ')})`);
  }
  const by = new Map<string, number[]>();
  for (const i of all) {
    const v = table.rows[i]![col]!;
    if (v === '') throw new ActionError(`${inputs.data}:${i + 2}: the label "${inputs.label}" is empty`);
    by.set(v, [...(by.get(v) ?? []), i]);
  }
  return [...by.keys()].sort().map((k) => by.get(k)!);
}

export function split(inputs: SplitInputs, log: (line: string) => void): void {
  const table = readTable(inputs.data);
  const rng = xoroshiro128plus(inputs.seed ?? 0);
  const parts = new Map<string, number[]>();
  const put = (name: string, rows: number[]) => parts.set(name, [...(parts.get(name) ?? []), ...rows]);
  const groupList = groups(table, inputs).map((g) => shuffled(g, rng));

  if (inputs.folds !== undefined) {
    const k = inputs.folds;
    if (k > table.rows.length) throw new ActionError(`folds: ${k} folds need at least ${k} rows; ${inputs.data} has ${table.rows.length}`);
    const foldOf = new Map<number, number>();
    let dealt = 0;
    for (const g of groupList) for (const i of g) foldOf.set(i, dealt++ % k);
    for (let f = 0; f < k; f++) {
      put(`fold-${f + 1}/validation`, [...foldOf].filter(([, x]) => x === f).map(([i]) => i));
      put(`fold-${f + 1}/train`, [...foldOf].filter(([, x]) => x !== f).map(([i]) => i));
    }
  } else {
    const fr = inputs.fractions ?? { train: 0.7, validation: 0.15, test: 0.15 };
    const shares = PARTS.map((p) => fr[p] ?? 0);
    const problem = fractionsProblem(fr);
    if (problem) throw new ActionError(problem);
    for (const g of groupList) {
      const counts = apportion(g.length, shares);
      let at = 0;
      PARTS.forEach((p, i) => {
        if (shares[i]! > 0) put(p, g.slice(at, at + counts[i]!));
        at += counts[i]!;
      });
    }
    for (const [i, p] of PARTS.entries()) {
      if (shares[i]! > 0 && (parts.get(p)?.length ?? 0) === 0) throw new ActionError(`the ${p} part would be empty: ${table.rows.length} rows are too few for a ${p} fraction of ${shares[i]}`);
    }
  }

  const labelCol = inputs.label !== undefined ? table.columns.indexOf(inputs.label) : -1;
  const summary: Record<string, { rows: number; labels?: Record<string, number> }> = {};
  for (const [name, rows] of parts) {
    rows.sort((a, b) => a - b);
    const file = join(inputs.out, `${name}.csv`);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, csvText({ columns: table.columns, rows: rows.map((i) => table.rows[i]!) }));
    const labels: Record<string, number> = {};
    if (labelCol >= 0) for (const i of rows) labels[table.rows[i]![labelCol]!] = (labels[table.rows[i]![labelCol]!] ?? 0) + 1;
    summary[name] = { rows: rows.length, ...(labelCol >= 0 ? { labels: Object.fromEntries(Object.entries(labels).sort()) } : {}) };
    log(`${name}: ${rows.length} rows → ${file}`);
  }
  writeFileSync(join(inputs.out, 'split.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
