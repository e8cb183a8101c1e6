// Model quality metrics, computed from labels and predictions (plain arrays,
// no TensorFlow.js): classification — accuracy, precision/recall/F1 per class
// and macro, one-vs-rest ROC-AUC (macro), log loss, confusion matrix;
// regression — MSE, RMSE, MAE, R². Rounded to 6 significant digits, so metric
// files are stable text.

/** Six significant digits, so metric files are stable, readable text. */
export const round6 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);
const r6 = round6;

export interface ClassificationMetrics {
  readonly accuracy: number;
  readonly precision_macro: number;
  readonly recall_macro: number;
  readonly f1_macro: number;
  readonly roc_auc: number;
  readonly log_loss: number;
  readonly per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  readonly confusion_matrix: { readonly labels: readonly string[]; readonly matrix: readonly (readonly number[])[] };
}

/** Area under the ROC curve of scores for a binary target (ties get half credit). */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const nPos = positive.filter(Boolean).length;
  const nNeg = positive.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  const sumPos = ranks.reduce((a, r, i) => a + (positive[i] ? r : 0), 0);
  return (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function classificationMetrics(classes: readonly string[], truth: readonly number[], probabilities: readonly (readonly number[])[]): ClassificationMetrics {
  const k = classes.length;
  const predicted = probabilities.map((p) => p.indexOf(Math.max(...p)));
  const matrix = classes.map(() => new Array<number>(k).fill(0));
  truth.forEach((t, i) => matrix[t]![predicted[i]!]!++);
  const per_class: ClassificationMetrics['per_class'] = {};
  let p = 0;
  let r = 0;
  let f = 0;
  classes.forEach((name, c) => {
    const tp = matrix[c]![c]!;
    const predictedC = matrix.reduce((a, row) => a + row[c]!, 0);
    const support = matrix[c]!.reduce((a, b) => a + b, 0);
    const precision = predictedC === 0 ? 0 : tp / predictedC;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    per_class[name] = { precision: r6(precision), recall: r6(recall), f1: r6(f1), support };
    p += precision;
    r += recall;
    f += f1;
  });
  const eps = 1e-15;
  const logLoss = -truth.reduce((a, t, i) => a + Math.log(Math.min(1 - eps, Math.max(eps, probabilities[i]![t]!))), 0) / truth.length;
  const aucs = classes.map((_, c) => rocAuc(probabilities.map((q) => q[c]!), truth.map((t) => t === c))).filter((x) => !Number.isNaN(x));
  return {
    accuracy: r6(truth.filter((t, i) => t === predicted[i]).length / truth.length),
    precision_macro: r6(p / k),
    recall_macro: r6(r / k),
    f1_macro: r6(f / k),
    roc_auc: r6(aucs.reduce((a, b) => a + b, 0) / Math.max(1, aucs.length)),
    log_loss: r6(logLoss),
    per_class,
    confusion_matrix: { labels: classes, matrix },
  };
}

export function regressionMetrics(truth: readonly number[], predicted: readonly number[]): { mse: number; rmse: number; mae: number; r2: number } {
  const n = truth.length;
  const mean = truth.reduce((a, b) => a + b, 0) / n;
  const sse = truth.reduce((a, t, i) => a + (t - predicted[i]!) ** 2, 0);
  const sst = truth.reduce((a, t) => a + (t - mean) ** 2, 0);
  const mae = truth.reduce((a, t, i) => a + Math.abs(t - predicted[i]!), 0) / n;
  return { mse: r6(sse / n), rmse: r6(Math.sqrt(sse / n)), mae: r6(mae), r2: r6(sst === 0 ? 0 : 1 - sse / sst) };
}

/** "accuracy >= 0.9": whether a value meets a threshold like ">= 0.9". */
export function meets(value: number, condition: string): boolean {
  const m = /^\s*(>=|<=|>|<|==)\s*(\S+)\s*$/.exec(condition)!;
  const limit = Number(m[2]);
  switch (m[1]) {
    case '>=':
      return value >= limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '<':
      return value < limit;
    default:
      return value === limit;
  }
}
