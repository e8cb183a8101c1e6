// mlpipe/report: one self-contained HTML file about a pipeline's model — its
// metrics, training curves, confusion matrix, drift per feature with
// histograms, data and model quality on current data, and the registry's
// versions and aliases. Charts are Vega-Lite specs rendered to inline SVG
// (html-report/charts.ts); styles are inline; there is no script and nothing
// is fetched, so the file opens anywhere, offline. Deterministic: the same
// inputs give the same bytes.
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { ActionContext } from './launch.js';
import { ActionError } from './errors.js';
import { readJsonObject, topLevelNumbers } from './json-files.js';
import { writeOutput } from './output.js';
import { confusionSpec, curvesSpec, driftSpec, renderSvg, templateSpec, type Row } from '../html-report/charts.js';
import { aliasesOf, parseRegistryFile, type ModelRecord } from '../registry/registry.js';
import { mlpipeVersion } from '../util/version.js';

export interface ReportInputs {
  readonly title?: string;
  readonly metrics?: readonly string[];
  readonly evaluation?: string;
  readonly history?: string;
  readonly monitor?: string;
  readonly registry?: string;
  readonly out: string;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Markup made here (a badge), placed in a table cell as it is; every other cell is text and escaped. */
interface Html {
  readonly html: string;
}
const isHtml = (c: unknown): c is Html => typeof c === 'object' && c !== null && typeof (c as Html).html === 'string';

function table(head: readonly string[], rows: readonly (readonly unknown[])[], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${isHtml(c) ? c.html : esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const figure = (svg: string, caption?: string) => `<figure>${svg.replace(/^<\?xml[^>]*>/, '')}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ''}</figure>`;
const badge = (ok: boolean, text: string): Html => ({ html: `<span class="badge ${ok ? 'ok' : 'bad'}">${esc(text)}</span>` });

function metricsSection(files: readonly string[]): string {
  const parts = files.map((f) => `<h3>${esc(f)}</h3>${table(['metric', 'value'], Object.entries(topLevelNumbers(readJsonObject(f, 'the report\'s metrics'))))}`);
  return `<section id="metrics"><h2>Metrics</h2><div class="grid">${parts.map((p) => `<div>${p}</div>`).join('')}</div></section>`;
}

async function historySection(file: string): Promise<string> {
  let rows: Row[];
  try {
    rows = (parseCsv(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true, cast: true }) as Row[]).filter((r) => typeof r.epoch === 'number');
  } catch (e) {
    throw new ActionError(`${file} is not a training history CSV: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new ActionError(`${file} has no epochs (expected the history CSV mlpipe/train wrote)`);
  const series = Object.keys(rows[0]!).filter((k) => k !== 'epoch');
  const losses = series.filter((s) => /loss|mse|mae/.test(s));
  const others = series.filter((s) => !losses.includes(s));
  const charts = [await renderSvg(curvesSpec('Loss', rows, losses))];
  if (others.length) charts.push(await renderSvg(curvesSpec(others.join(', '), rows, others)));
  return `<section id="training"><h2>Training</h2><p>${rows.length} epochs (${esc(file)}).</p><div class="grid">${charts.map((c) => figure(c)).join('')}</div></section>`;
}

async function evaluationSection(file: string): Promise<string> {
  const data = readJsonObject(file, 'the report\'s evaluation (the metrics mlpipe/evaluate wrote)');
  const parts: string[] = [];
  const cm = data.confusion_matrix as { labels: string[]; matrix: number[][] } | undefined;
  if (cm?.labels && cm.matrix) parts.push(figure(await renderSvg(confusionSpec(cm.labels, cm.matrix)), 'rows: true class, columns: predicted class'));
  const perClass = data.per_class as Record<string, Record<string, number>> | undefined;
  if (perClass) parts.push(`<div>${table(['class', 'precision', 'recall', 'F1', 'support'], Object.entries(perClass).map(([c, m]) => [c, m.precision, m.recall, m.f1, m.support]))}</div>`);
  const headline = Object.entries(topLevelNumbers(data)).filter(([k]) => k !== 'rows');
  return `<section id="evaluation"><h2>Evaluation</h2><p>${headline.map(([k, v]) => `<b>${esc(k)}</b> ${esc(v)}`).join(' · ')} on ${esc(data.rows ?? '?')} rows (${esc(file)}).</p>${championTable(data)}<div class="grid">${parts.join('')}</div></section>`;
}

/** mlpipe/evaluate's compare_to: the challenger and the champion, metric by metric, on the same rows. */
function championTable(data: Record<string, unknown>): string {
  if (!('champion' in data)) return '';
  const champion = data.champion as Record<string, unknown> | null;
  if (!champion || typeof champion !== 'object') return '<h3>Champion vs challenger</h3><p>No champion yet: this model had nothing to beat.</p>';
  const lower = new Set(['log_loss', 'mse', 'rmse', 'mae']);
  const rows = Object.entries(topLevelNumbers(data))
    .filter(([k]) => k !== 'rows' && typeof champion[k] === 'number')
    .map(([k, v]) => {
      const c = champion[k] as number;
      const better = lower.has(k) ? v < c : v > c;
      return [k, v, c, Number((v - c).toPrecision(6)), v === c ? 'tie' : badge(better, better ? 'challenger' : 'champion')];
    });
  const who = `${String(champion.model ?? '')}${champion.alias ? `@${String(champion.alias)}` : ''} (version ${String(champion.version ?? '?')})`;
  return `<h3>Champion vs challenger</h3><p>The champion ${esc(who)} and this model on the same ${esc(champion.rows ?? data.rows ?? '?')} rows.</p>${table(['metric', 'challenger', 'champion', 'difference', 'better'], rows)}`;
}

interface MonitorReport {
  verdict: string;
  dataset_drift: boolean;
  drifted_features: number;
  features: number;
  drift_share: number;
  drift_share_threshold: number;
  rows: { reference: number; current: number };
  reference: string;
  current: string;
  feature_drift: Record<string, { type: string; method: string; score: number; threshold: number; drifted: boolean; psi: number; histogram: { bins: string[]; reference: number[]; current: number[] } }>;
  data_quality: { schema: { missing_columns: string[]; extra_columns: string[] }; features: Record<string, Record<string, unknown>> };
  model_quality?: Record<string, unknown>;
  breaches: string[];
  batches?: { batch: string; rows: number; drift_share: number; dataset_drift: boolean }[];
}

async function monitorSection(file: string): Promise<string> {
  const m = readJsonObject(file, 'the report\'s drift section (the report mlpipe/monitor wrote)') as unknown as MonitorReport;
  if (!m.feature_drift || !m.rows) throw new ActionError(`${file} is not a report mlpipe/monitor wrote (no feature_drift)`);
  const rows = Object.entries(m.feature_drift).map(([f, d]) => {
    const q = m.data_quality.features[f] ?? {};
    const p = d.method === 'ks' || d.method === 'chisquare';
    return [f, d.type, d.method, `${p ? 'p = ' : ''}${d.score}`, `${p ? '< ' : '≥ '}${d.threshold}`, badge(!d.drifted, d.drifted ? 'drift' : 'ok'), d.psi, q.missing_share ?? '', q.out_of_range_share ?? q.new_category_share ?? ''];
  });
  const charts: string[] = [];
  for (const [f, d] of Object.entries(m.feature_drift)) {
    charts.push(figure(await renderSvg(driftSpec(f, `${d.method} ${d.score} — ${d.drifted ? 'drift' : 'no drift'}`, d.histogram.bins, d.histogram.reference, d.histogram.current))));
  }
  if (m.batches && m.batches.length > 0) {
    const values = m.batches.map((b, i) => ({ x: i + 1, y: b.drift_share, series: 'drift share', rev: '' }));
    const threshold = m.batches.map((_, i) => ({ x: i + 1, y: m.drift_share_threshold, series: 'threshold', rev: '' }));
    charts.unshift(figure(await renderSvg(templateSpec('linear', 'Drift share by batch', [...values, ...threshold], 'batch', 'share of features drifted', false)), m.batches.map((b, i) => `${i + 1}: ${b.batch.replace(/^.*\//, '')}`).join(' · ')));
  }
  const schema = m.data_quality.schema;
  const quality = m.model_quality ? `<h3>Model quality on current data</h3>${table(['metric', 'value'], Object.entries(topLevelNumbers(m.model_quality)))}` : '';
  return `<section id="drift"><h2>Drift and data quality</h2>
<p>${badge(!m.dataset_drift, m.dataset_drift ? 'dataset drift' : 'no dataset drift').html} ${esc(m.drifted_features)} of ${esc(m.features)} features drifted (share ${esc(m.drift_share)}, threshold ${esc(m.drift_share_threshold)}) — current ${esc(m.current)} (${esc(m.rows.current)} rows) against reference ${esc(m.reference)} (${esc(m.rows.reference)} rows).</p>
${schema.missing_columns.length || schema.extra_columns.length ? `<p>${badge(false, 'schema change').html} missing: ${esc(schema.missing_columns.join(', ') || 'none')}; extra: ${esc(schema.extra_columns.join(', ') || 'none')}</p>` : ''}
${m.breaches.length ? `<ul class="breaches">${m.breaches.map((b) => `<li>${esc(b)}</li>`).join('')}</ul>` : ''}
${m.batches ? table(['batch', 'rows', 'drift share', 'verdict'], m.batches.map((b) => [b.batch, b.rows, b.drift_share, badge(!b.dataset_drift, b.dataset_drift ? 'dataset drift' : 'ok')])) : ''}
${table(['feature', 'type', 'test', 'score', 'drift when', 'verdict', 'PSI', 'missing', 'out of range / new'], rows)}
<div class="grid">${charts.join('')}</div>${quality}</section>`;
}

function registrySection(file: string): string {
  const name = file.replace(/^.*\//, '').replace(/\.yaml$/, '');
  let record: ModelRecord;
  try {
    record = parseRegistryFile(file, file, name);
  } catch (e) {
    throw new ActionError((e as Error).message);
  }
  const rows = [...record.versions].reverse().map((v) => [
    v.version,
    aliasesOf(record, v.version).join(', ') || '–',
    v.retired ? badge(false, 'retired') : badge(true, 'live'),
    v.retired ? `${v.retired.at.slice(0, 10)}: ${v.retired.reason}` : '',
    v.registered_at.slice(0, 19).replace('T', ' '),
    Object.entries(v.metrics ?? {})
      .filter(([k]) => k !== 'rows')
      .slice(0, 3)
      .map(([k, x]) => `${k} ${x}`)
      .join(', '),
    v.dirty ? { html: `${esc(v.hash.slice(0, 12))}… ${badge(false, 'uncommitted changes').html}` } : `${v.hash.slice(0, 12)}…`,
  ]);
  const decisions = [...record.versions].reverse().filter((v) => v.promotion).map((v) => {
    const p = v.promotion!;
    return [v.version, `${p.alias} by ${p.metric} (${p.goal}${p.min_delta ? `, min_delta ${p.min_delta}` : ''})`, p.challenger, p.champion ? `${p.champion.value} (version ${p.champion.version})` : '–', badge(p.decision === 'promoted', p.decision), p.reason];
  });
  const promotions = decisions.length > 0 ? `<h3>Promotion decisions</h3>${table(['version', 'alias and metric', 'challenger', 'champion', 'decision', 'why'], decisions)}` : '';
  return `<section id="registry"><h2>Registry: ${esc(record.name)}</h2>${table(['version', 'aliases', 'status', 'retired', 'registered (UTC)', 'metrics', 'hash'], rows)}${promotions}</section>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1f2933}
h1{margin:0 0 4px}h2{border-bottom:1px solid #d9e2ec;padding-bottom:4px;margin-top:32px}.meta{color:#627d98;margin:0}
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:left}th{background:#f5f7fa}
.grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}figure{margin:0}figcaption{color:#627d98;font-size:12px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}.ok{background:#e3f9e5;color:#207227}.bad{background:#ffe3e3;color:#a61b1b}
.breaches{color:#a61b1b}nav a{margin-right:12px}`;

export async function report(inputs: ReportInputs, context: ActionContext, log: (line: string) => void): Promise<void> {
  const sections: [string, string][] = [];
  if (inputs.metrics) sections.push(['metrics', metricsSection(inputs.metrics)]);
  if (inputs.history) sections.push(['training', await historySection(inputs.history)]);
  if (inputs.evaluation) sections.push(['evaluation', await evaluationSection(inputs.evaluation)]);
  if (inputs.monitor) sections.push(['drift', await monitorSection(inputs.monitor)]);
  if (inputs.registry) sections.push(['registry', registrySection(inputs.registry)]);
  if (sections.length === 0) throw new ActionError('the report has nothing to show: give metrics, history, evaluation, monitor or registry');
  const title = inputs.title ?? `${context.pipeline.replace(/^.*\//, '').replace(/\.ya?ml$/, '')} report`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="mlpipe ${esc(mlpipeVersion())}"><title>${esc(title)}</title><style>${STYLE}</style></head>
<body><header><h1>${esc(title)}</h1><p class="meta">${esc(context.pipeline)} · stage ${esc(context.stage)} · mlpipe ${esc(mlpipeVersion())}</p>
<nav>${sections.map(([id]) => `<a href="#${id}">${id}</a>`).join('')}</nav></header>
${sections.map(([, s]) => s).join('\n')}
</body></html>
`;
  writeOutput(inputs.out, html);
  log(`wrote ${inputs.out} (${sections.map(([id]) => id).join(', ')}; ${(html.length / 1024).toFixed(0)} KiB)`);
}
