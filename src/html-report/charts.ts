// Charts of the HTML report: Vega-Lite specs (training curves, confusion
// matrix, drift histograms) compiled to Vega and rendered headless to SVG
// strings, so the report needs no script and no network to show them.
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

/** Training curves: one line per series (loss, val_loss, …) over epochs. */
export function curvesSpec(title: string, rows: readonly Row[], series: readonly string[]): TopLevelSpec {
  return {
    title,
    width: 360,
    height: 200,
    data: { values: rows.flatMap((r) => series.filter((s) => typeof r[s] === 'number').map((s) => ({ epoch: r.epoch!, series: s, value: r[s]! }))) },
    mark: { type: 'line', point: { size: 18 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
    },
  } as TopLevelSpec;
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
