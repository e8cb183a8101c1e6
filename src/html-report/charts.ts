// Charts of the HTML report and of `mlpipe plots`: Vega-Lite specs (the plots
// templates, training curves, confusion matrix, drift histograms) compiled to
// Vega and rendered headless to SVG strings, so neither page needs a script
// or the network to show them.
import type { TopLevelSpec } from 'vega-lite';

export type Row = Record<string, string | number>;

const FONT = { config: { font: 'system-ui, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } } };

/** Renders a Vega-Lite spec to an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile({ ...FONT, ...spec } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Training curves: one line per series (loss, val_loss, …) over epochs — the plots' linear template. */
export function curvesSpec(title: string, rows: readonly Row[], series: readonly string[]): TopLevelSpec {
  const values = rows.flatMap((r) => series.filter((s) => typeof r[s] === 'number').map((s) => ({ x: r.epoch!, y: r[s]!, series: s, rev: '' })));
  return templateSpec('linear', title, values, 'epoch', null, false);
}

/**
 * A chart of {x, y, series, rev} rows in one of the plots templates: linear
 * (and simple), scatter, smooth, bar, confusion, confusion_normalized. Used by
 * `mlpipe plots` and by the report's training curves.
 */
export function templateSpec(template: string, title: string, values: readonly Record<string, unknown>[], xTitle: string, yTitle: string | null, several: boolean): TopLevelSpec {
  const color = { field: 'series', type: 'nominal', title: null, legend: { orient: 'top', labelLimit: 300 } };
  const base = { title, width: 420, height: 240, data: { values } };
  const xy = {
    x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } },
    y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
  };
  switch (template) {
    case 'scatter':
      return { ...base, mark: { type: 'point', filled: true, size: 30 }, encoding: { ...xy, color } } as TopLevelSpec;
    case 'smooth':
      return {
        ...base,
        layer: [
          { mark: { type: 'line', opacity: 0.25 }, encoding: { ...xy, color } },
          { transform: [{ loess: 'y', on: 'x', groupby: ['series'], bandwidth: 0.3 }], mark: 'line', encoding: { ...xy, color } },
        ],
      } as TopLevelSpec;
    case 'bar':
      return { ...base, mark: 'bar', encoding: { x: { field: 'x', type: 'nominal', title: xTitle, axis: { labelAngle: 0 } }, xOffset: { field: 'series' }, y: { field: 'y', type: 'quantitative', title: yTitle }, color } } as TopLevelSpec;
    case 'confusion':
    case 'confusion_normalized': {
      // x holds the actual class and y the predicted one; cells count the rows of each pair.
      const normalized = template === 'confusion_normalized';
      const cell = normalized ? 'share' : 'count';
      return {
        title,
        data: { values },
        transform: [
          { aggregate: [{ op: 'count', as: 'count' }], groupby: ['x', 'y', 'rev'] },
          ...(normalized ? [{ joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: ['x', 'rev'] }, { calculate: 'datum.count / datum.total', as: 'share' }] : []),
        ],
        ...(several ? { facet: { column: { field: 'rev', type: 'nominal', title: null } }, spec: confusionLayers(cell, xTitle, yTitle, normalized) } : confusionLayers(cell, xTitle, yTitle, normalized)),
      } as TopLevelSpec;
    }
    default: // linear, simple
      return { ...base, mark: { type: 'line', point: values.length <= 60 ? { size: 18 } : false }, encoding: { ...xy, color } } as TopLevelSpec;
  }
}

function confusionLayers(cell: string, xTitle: string, yTitle: string | null, normalized: boolean): object {
  return {
    width: 240,
    height: 240,
    encoding: { x: { field: 'x', type: 'nominal', title: xTitle, axis: { labelAngle: 0 } }, y: { field: 'y', type: 'nominal', title: yTitle } },
    layer: [
      { mark: 'rect', encoding: { color: { field: cell, type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
      { mark: { type: 'text', fontSize: 13 }, encoding: { text: { field: cell, type: 'quantitative', ...(normalized ? { format: '.0%' } : {}) } } },
    ],
  };
}

/** Confusion matrix as a heatmap with counts (rows: truth, columns: prediction). */
export function confusionSpec(labels: readonly string[], matrix: readonly (readonly number[])[]): TopLevelSpec {
  const values = matrix.flatMap((row, i) => row.map((count, j) => ({ truth: labels[i]!, predicted: labels[j]!, count })));
  const axis = { sort: labels as string[] };
  return {
    title: 'Confusion matrix',
    width: 60 * labels.length,
    height: 60 * labels.length,
    data: { values },
    encoding: { x: { field: 'predicted', type: 'nominal', ...axis, axis: { labelAngle: 0 } }, y: { field: 'truth', type: 'nominal', ...axis } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
      { mark: { type: 'text', fontSize: 14 }, encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: `datum.count > ${Math.max(...values.map((v) => v.count)) / 2}`, value: 'white' }, value: 'black' } } },
    ],
  } as TopLevelSpec;
}

/** Reference and current shares per bin of one feature, side by side. */
export function driftSpec(feature: string, subtitle: string, bins: readonly string[], reference: readonly number[], current: readonly number[]): TopLevelSpec {
  const total = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) || 1;
  const values = bins.flatMap((bin, k) => [
    { bin, k, data: 'reference', share: reference[k]! / total(reference) },
    { bin, k, data: 'current', share: current[k]! / total(current) },
  ]);
  return {
    title: { text: feature, subtitle },
    width: { step: Math.max(8, Math.floor(300 / Math.max(1, bins.length) / 2)) },
    height: 140,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'bin', type: 'nominal', sort: { field: 'k' }, title: null, axis: { labelAngle: -45, labelLimit: 80 } },
      xOffset: { field: 'data', sort: ['reference', 'current'] },
      y: { field: 'share', type: 'quantitative', axis: { format: '%' }, title: null },
      color: { field: 'data', type: 'nominal', sort: ['reference', 'current'], scale: { range: ['#9aa5b1', '#d9480f'] }, title: null, legend: { orient: 'top' } },
    },
  } as TopLevelSpec;
}
