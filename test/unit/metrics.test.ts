// Quality metrics against values worked out by hand (and scikit-learn's
// definitions): ROC-AUC with ties, precision/recall/F1 per class and macro,
// log loss, confusion matrix, regression errors and R², threshold conditions.
import { describe, expect, it } from 'vitest';
import { classificationMetrics, meets, regressionMetrics, rocAuc } from '../../src/ml/metrics.js';

describe('metrics', () => {
  it('ROC-AUC: perfect, inverted, random-with-ties', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, true, false, true])).toBe(1);
    expect(rocAuc([0.9, 0.1], [false, true])).toBe(0);
    // sklearn.metrics.roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
    expect(rocAuc([0.5, 0.5], [false, true])).toBe(0.5);
    expect(rocAuc([0.5, 0.5], [true, true])).toBeNaN();
  });

  it('classification: per-class and macro scores, log loss, confusion matrix', () => {
    const classes = ['a', 'b'];
    const truth = [0, 0, 1, 1];
    const probs = [
      [0.9, 0.1],
      [0.4, 0.6],
      [0.2, 0.8],
      [0.3, 0.7],
    ];
    const m = classificationMetrics(classes, truth, probs);
    expect(m.accuracy).toBe(0.75);
    expect(m.confusion_matrix.matrix).toEqual([
      [1, 1],
      [0, 2],
    ]);
    expect(m.per_class.a).toEqual({ precision: 1, recall: 0.5, f1: 0.666667, support: 2 });
    expect(m.per_class.b).toEqual({ precision: 0.666667, recall: 1, f1: 0.8, support: 2 });
    expect(m.f1_macro).toBe(0.733333);
    // -(ln .9 + ln .4 + ln .8 + ln .7) / 4
    expect(m.log_loss).toBe(0.400367);
    expect(m.roc_auc).toBe(1);
  });

  it('regression: MSE, RMSE, MAE, R²', () => {
    // sklearn: mse 0.375, mae 0.5, r2 0.948608
    expect(regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8])).toEqual({ mse: 0.375, rmse: 0.612372, mae: 0.5, r2: 0.948608 });
  });

  it('threshold conditions', () => {
    expect(meets(0.9, '>= 0.9')).toBe(true);
    expect(meets(0.89, '>=0.9')).toBe(false);
    expect(meets(0.2, ' < 0.3 ')).toBe(true);
    expect(meets(1, '== 1')).toBe(true);
    expect(meets(1e-4, '<= 1e-3')).toBe(true);
  });
});
