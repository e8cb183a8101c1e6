// mlpipe/monitor: current data against the reference — drift per feature
// (tests and thresholds as Evidently's defaults, see monitor/stats.ts), the
// dataset verdict (drifts when at least drift_share of the features do), data
// quality (missing values, values outside the reference range, new
// categories, schema changes) and, when a model is given and current rows have
// labels, the model's quality on them. Writes one JSON report (with per-feature
// histograms for mlpipe/report); dataset drift, breached thresholds and schema
// changes fail the stage or only warn, as configured.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError } from './errors.js';
import { writeOutput } from './output.js';
import type { BackendName } from '../ml/backend.js';
import { encode, isMissing, numeric } from '../ml/features.js';
import { classificationMetrics, meets, regressionMetrics, round6 } from '../ml/metrics.js';
import { readTable, type Table } from '../ml/table.js';
import { binEdges, chiSquareTest, counts, histogram, jensenShannon, ksTest, psi, wassersteinNormed } from '../monitor/stats.js';

export interface MonitorInputs {
  readonly reference: string;
  readonly current: string;
  readonly label?: string;
  readonly columns?: readonly string[];
  readonly model?: string;
  readonly method?: 'auto' | 'ks' | 'chisquare' | 'wasserstein' | 'jensenshannon' | 'psi';
  readonly threshold?: number;
  readonly drift_share?: number;
  readonly on_drift?: 'fail' | 'warn';
  readonly thresholds?: Readonly<Record<string, string>>;
  readonly on_breach?: 'fail' | 'warn';
  readonly out: string;
}

/** Reference rows up to which Evidently uses statistical tests, above which distances. */
const SMALL = 1000;

type Method = Exclude<MonitorInputs['method'], 'auto' | undefined>;
const P_VALUE_METHODS: ReadonlySet<Method> = new Set(['ks', 'chisquare']);
const DEFAULT_THRESHOLD: Record<Method, number> = { ks: 0.05, chisquare: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1 };

export interface FeatureDrift {
  readonly type: 'numeric' | 'categorical';
  readonly method: Method;
  /** p-value for tests, distance for the others. */
  readonly score: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly psi: number;
  readonly histogram: { readonly bins: readonly string[]; readonly reference: readonly number[]; readonly current: readonly number[] };
}

function column(table: Table, name: string): string[] {
  const i = table.columns.indexOf(name);
  return table.rows.map((r) => r[i]!);
}

function methodFor(requested: MonitorInputs['method'], type: 'numeric' | 'categorical', referenceRows: number, name: string): Method {
  if (!requested || requested === 'auto') {
    if (referenceRows <= SMALL) return type === 'numeric' ? 'ks' : 'chisquare';
    return type === 'numeric' ? 'wasserstein' : 'jensenshannon';
  }
  if ((requested === 'ks' || requested === 'wasserstein') && type === 'categorical') throw new ActionError(`method ${requested} compares numbers, but column "${name}" is categorical (use chisquare, jensenshannon, psi or auto)`);
  return requested;
}

const fmt = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toFixed(2));

function featureDrift(name: string, ref: readonly string[], cur: readonly string[], inputs: MonitorInputs): FeatureDrift {
  const refPresent = ref.filter((c) => !isMissing(c));
  const curPresent = cur.filter((c) => !isMissing(c));
  const refNums = refPresent.map(numeric);
  const type = refNums.every((n) => n !== undefined) ? 'numeric' : 'categorical';
  const method = methodFor(inputs.method, type, ref.length, name);
  const threshold = inputs.threshold ?? DEFAULT_THRESHOLD[method];
  let bins: string[];
  let refBins: number[];
  let curBins: number[];
  let score: number;
  if (type === 'numeric') {
    const a = refNums as number[];
    // Non-numeric current cells are a quality problem (reported there), not part of the distribution.
    const b = curPresent.map(numeric).filter((n): n is number => n !== undefined);
    if (b.length === 0) throw new ActionError(`${inputs.current}: column "${name}" has no numeric values to compare`);
    const edges = binEdges(a, b);
    bins = edges.slice(0, -1).map((e, k) => `${fmt(e)}–${fmt(edges[k + 1]!)}`);
    refBins = histogram(a, edges);
    curBins = histogram(b, edges);
    const scores: Record<Method, () => number> = {
      ks: () => ksTest(a, b).pValue,
      wasserstein: () => wassersteinNormed(a, b),
      psi: () => psi(refBins, curBins),
      jensenshannon: () => jensenShannon(refBins, curBins),
      // Asked for on a numeric column: its distinct values as categories (a 0/1 flag, a small count).
      chisquare: () => chiSquareTest(refPresent, curPresent).pValue,
    };
    score = scores[method]();
  } else {
    const rc = counts(refPresent);
    const cc = counts(curPresent);
    bins = [...new Set([...rc.keys(), ...cc.keys()])].sort();
    refBins = bins.map((k) => rc.get(k) ?? 0);
    curBins = bins.map((k) => cc.get(k) ?? 0);
    score = method === 'chisquare' ? chiSquareTest(refPresent, curPresent).pValue : method === 'psi' ? psi(refBins, curBins) : jensenShannon(refBins, curBins);
  }
  const drifted = P_VALUE_METHODS.has(method) ? score < threshold : score >= threshold;
  return { type, method, score: round6(score), threshold, drifted, psi: round6(psi(refBins, curBins)), histogram: { bins, reference: refBins, current: curBins } };
}

/** Missing, out-of-range and unseen-category shares of a current column. */
function quality(ref: readonly string[], cur: readonly string[], type: 'numeric' | 'categorical') {
  const present = cur.filter((c) => !isMissing(c));
  const missing = cur.length === 0 ? 0 : (cur.length - present.length) / cur.length;
  const refPresent = ref.filter((c) => !isMissing(c));
  if (type === 'numeric') {
    // A loop, not Math.min(...values): spreading a large column overflows the stack.
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of refPresent) {
      const v = numeric(c)!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const curNums = present.map(numeric);
    const notNumbers = curNums.filter((n) => n === undefined).length;
    const outside = curNums.filter((n) => n !== undefined && (n < lo || n > hi)).length;
    return { missing_share: round6(missing), out_of_range_share: round6(present.length ? outside / present.length : 0), non_numeric_share: round6(present.length ? notNumbers / present.length : 0), reference_range: [lo, hi] };
  }
  const known = new Set(refPresent);
  const unseen = present.filter((c) => !known.has(c));
  return { missing_share: round6(missing), new_category_share: round6(present.length ? unseen.length / present.length : 0), new_categories: [...new Set(unseen)].sort().slice(0, 20) };
}

/** The model's metrics on current rows that have every feature and a label; undefined when it cannot score them. */
async function modelQuality(inputs: MonitorInputs, current: Table, backend: BackendName, log: (line: string) => void): Promise<Record<string, unknown> | undefined> {
  if (!inputs.model || !inputs.label) return undefined;
  if (!current.columns.includes(inputs.label)) {
    log(`model quality: ${inputs.current} has no "${inputs.label}" column (no labels yet), skipped`);
    return undefined;
  }
  const { loadTf } = await import('../ml/tf.js');
  const { loadModel } = await import('../ml/model-files.js');
  const { modelOutputs } = await import('../ml/predict.js');
  const tf = await loadTf(backend);
  const { model, pre } = await loadModel(tf, inputs.model);
  const at = [...pre.features.map((f) => f.name), pre.label].map((n) => current.columns.indexOf(n));
  if (at.some((i) => i === -1)) throw new ActionError(`${inputs.current} lacks columns the model takes (${pre.features.map((f) => f.name).join(', ')})`);
  const usable = current.rows.filter((r) =>
    at.every((i, k) => {
      const cell = r[i]!;
      if (isMissing(cell)) return false;
      const f = pre.features[k];
      if (!f) return pre.task === 'regression' ? numeric(cell) !== undefined : pre.classes!.includes(cell);
      return f.kind === 'numeric' ? numeric(cell) !== undefined : f.categories.includes(cell);
    }),
  );
  if (usable.length === 0) {
    log('model quality: no current row has every feature and a known label, skipped');
    return undefined;
  }
  const encoded = encode(pre, { columns: current.columns, rows: usable }, inputs.current);
  const outputs = await modelOutputs(tf, model, encoded);
  model.dispose();
  const truth = Array.from(encoded.y);
  const metrics = pre.task === 'classification' ? classificationMetrics(pre.classes!, truth, outputs) : regressionMetrics(truth, outputs.map((o) => o[0]!));
  return { rows: usable.length, skipped_rows: current.rows.length - usable.length, ...metrics };
}

/** Files a batch directory may hold. */
const BATCH_FILE = /\.(csv|tsv|jsonl|ndjson|json)$/i;

/**
 * `current` as given: a file, or a directory of batches in name order whose
 * last one is the current batch (the others are the history the report draws).
 */
function batchesOf(current: string): { current: string; earlier: string[] } {
  if (!statSync(current, { throwIfNoEntry: false })?.isDirectory()) return { current, earlier: [] };
  const files = readdirSync(current)
    .filter((f) => BATCH_FILE.test(f) && statSync(join(current, f)).isFile())
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new ActionError(`${current} holds no batches (CSV or JSON-lines files)`);
  const paths = files.map((f) => join(current, f).split('\\').join('/'));
  return { current: paths[paths.length - 1]!, earlier: paths.slice(0, -1) };
}

/** Drift of one earlier batch, for the history of the batches. */
function batchDrift(reference: Table, file: string, features: readonly string[], inputs: MonitorInputs): Record<string, unknown> {
  const table = readTable(file);
  const compared = features.filter((f) => table.columns.includes(f));
  const drifted = compared.filter((f) => featureDrift(f, column(reference, f), column(table, f), inputs).drifted).length;
  const share = compared.length ? drifted / compared.length : 0;
  return { batch: file, rows: table.rows.length, drift_share: round6(share), drifted_features: drifted, dataset_drift: compared.length > 0 && share >= (inputs.drift_share ?? 0.5) };
}

export async function monitor(inputs: MonitorInputs, backend: BackendName, log: (line: string) => void): Promise<void> {
  const reference = readTable(inputs.reference);
  const batches = batchesOf(inputs.current);
  const current = readTable(batches.current);
  const features = inputs.columns ?? reference.columns.filter((c) => c !== inputs.label && !c.startsWith('_'));
  for (const f of features) if (!reference.columns.includes(f)) throw new ActionError(`column "${f}" is not in the reference ${inputs.reference} (columns: ${reference.columns.join(', ')})`);
  const currentColumns = current.columns.filter((c) => !c.startsWith('_'));
  const schema = {
    missing_columns: features.filter((f) => !currentColumns.includes(f)),
    extra_columns: currentColumns.filter((c) => !reference.columns.includes(c)),
  };
  const compared = features.filter((f) => currentColumns.includes(f));

  const drift: Record<string, FeatureDrift> = {};
  const perFeatureQuality: Record<string, ReturnType<typeof quality>> = {};
  for (const f of compared) {
    const ref = column(reference, f);
    const cur = column(current, f);
    drift[f] = featureDrift(f, ref, cur, inputs);
    perFeatureQuality[f] = quality(ref, cur, drift[f].type);
  }
  const drifted = compared.filter((f) => drift[f]!.drifted);
  const share = compared.length ? drifted.length / compared.length : 0;
  const shareThreshold = inputs.drift_share ?? 0.5;
  const datasetDrift = compared.length > 0 && share >= shareThreshold;
  const worst = (key: 'missing_share' | 'out_of_range_share' | 'new_category_share') => Math.max(0, ...Object.values(perFeatureQuality).map((q) => (q as Record<string, unknown>)[key]).filter((v): v is number => typeof v === 'number'));
  const model = await modelQuality(inputs, current, backend, log);

  const summary: Record<string, number> = {
    drift_share: round6(share),
    drifted_features: drifted.length,
    missing_share: worst('missing_share'),
    out_of_range_share: worst('out_of_range_share'),
    new_category_share: worst('new_category_share'),
  };
  for (const [k, v] of Object.entries(model ?? {})) if (typeof v === 'number' && k !== 'rows' && k !== 'skipped_rows') summary[k] = v;

  const history = batches.earlier.map((b) => batchDrift(reference, b, compared, inputs));
  if (batches.earlier.length > 0 || batches.current !== inputs.current) {
    history.push({ batch: batches.current, rows: current.rows.length, drift_share: round6(share), drifted_features: drifted.length, dataset_drift: datasetDrift });
    log(`batches: ${history.map((b) => `${String(b.batch).replace(/^.*\//, '')} ${b.drift_share}`).join(', ')} (drift share; the current batch is ${batches.current})`);
  }

  const breaches: string[] = [];
  for (const [name, condition] of Object.entries(inputs.thresholds ?? {})) {
    const value = summary[name];
    if (value === undefined) throw new ActionError(`threshold on ${name}: the monitor has no ${name} here (it has ${Object.keys(summary).join(', ')})`);
    if (!meets(value, condition)) breaches.push(`${name} is ${value}, the threshold is ${condition.trim()}`);
  }
  if (schema.missing_columns.length) breaches.push(`schema change: ${batches.current} lacks ${schema.missing_columns.map((c) => `"${c}"`).join(', ')}`);

  for (const f of compared) {
    const d = drift[f]!;
    log(`${d.drifted ? 'DRIFT' : 'ok   '} ${f}: ${d.method} ${P_VALUE_METHODS.has(d.method) ? `p=${d.score}` : `distance=${d.score}`} (threshold ${d.threshold}), PSI ${d.psi}`);
  }
  const verdict = `${datasetDrift ? 'dataset drift' : 'no dataset drift'}: ${drifted.length} of ${compared.length} features drifted (share ${round6(share)}, threshold ${shareThreshold})`;
  log(verdict);
  if (model) log(`model quality on ${model.rows} labelled current rows: ${Object.entries(summary).filter(([k]) => k in model).map(([k, v]) => `${k} ${v}`).join(', ')}`);

  const report = {
    verdict: datasetDrift ? 'drift' : breaches.length ? 'breach' : 'ok',
    dataset_drift: datasetDrift,
    ...summary,
    features: compared.length,
    drift_share_threshold: shareThreshold,
    rows: { reference: reference.rows.length, current: current.rows.length },
    reference: inputs.reference,
    current: batches.current,
    ...(history.length > 0 ? { batches: history } : {}),
    feature_drift: drift,
    data_quality: { schema, features: perFeatureQuality },
    ...(model ? { model_quality: model } : {}),
    breaches,
  };
  writeOutput(inputs.out, `${JSON.stringify(report, null, 2)}\n`);

  const failures: string[] = [];
  if (datasetDrift) {
    if (inputs.on_drift === 'fail') failures.push(verdict);
    else log(`warning: ${verdict} (on_drift: warn)`);
  }
  for (const b of breaches) {
    if ((inputs.on_breach ?? 'fail') === 'fail') failures.push(b);
    else log(`warning: ${b} (on_breach: warn)`);
  }
  if (failures.length) throw new ActionError(`monitor: ${failures.join('; ')}`);
}
