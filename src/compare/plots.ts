// Plots of one or more revisions: each chart definition (a stage's plots
// output, or an entry of a pipeline's top-level `plots:` as in DVC) becomes a
// Vega-Lite spec with its data inlined — series from CSV, TSV, JSON or YAML
// files, one colour per revision and field — from the templates linear,
// simple, scatter, smooth, bar, confusion and confusion_normalized. The page
// is self-contained: charts rendered to inline SVG by the report's chart code,
// the specs kept beside them as data (no script runs, nothing is fetched).
// The templates themselves live with the report's charts (html-report/charts.ts).
import { parse as parseCsv } from 'csv-parse/sync';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg, templateSpec } from '../html-report/charts.js';
import { isRecord } from '../pipeline/params.js';
import { parseData, type PlotDefinition, type Snapshot } from './snapshot.js';

/** Rows read from one data file, at most this many (a chart of more is unreadable anyway). */
export const MAX_PLOT_ROWS = 100_000;

export const TEMPLATES = ['linear', 'simple', 'scatter', 'smooth', 'bar', 'confusion', 'confusion_normalized'] as const;

type DataRow = Record<string, unknown>;

export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
  /** Files that could not be read or parsed, with why (shown under the chart). */
  readonly problems: readonly string[];
}

/** Rows of a data file: CSV/TSV with a header, or JSON/YAML as a list of records (or a mapping holding one). */
export function parseRows(bytes: Buffer, path: string): DataRow[] | { error: string } {
  if (/\.(csv|tsv)$/i.test(path)) {
    try {
      return parseCsv(bytes, { columns: true, skip_empty_lines: true, delimiter: /\.tsv$/i.test(path) ? '\t' : ',', cast: true, to: MAX_PLOT_ROWS, relax_column_count: true }) as DataRow[];
    } catch (e) {
      return { error: (e as Error).message.split('\n')[0]! };
    }
  }
  const parsed = parseData(bytes, path);
  if ('error' in parsed) return parsed;
  let data = parsed.data;
  if (isRecord(data)) {
    const lists = Object.values(data).filter(Array.isArray);
    if (lists.length === 1) data = lists[0];
  }
  if (!Array.isArray(data) || !data.every(isRecord)) return { error: 'expected a list of records (or a mapping holding one list of records)' };
  return (data as DataRow[]).slice(0, MAX_PLOT_ROWS);
}

interface Series {
  readonly file: string;
  readonly x?: string;
  readonly ys: readonly string[];
}

/** Which files and fields a definition plots. */
function seriesOf(def: PlotDefinition): Series[] {
  const xOf = (file: string) => (typeof def.x === 'string' ? def.x : def.x?.[file]);
  const list = (v: string | readonly string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);
  if (def.y !== undefined && typeof def.y === 'object' && !Array.isArray(def.y)) {
    return Object.entries(def.y as Record<string, string | readonly string[]>).map(([file, ys]) => ({ file, ...(xOf(file) ? { x: xOf(file)! } : {}), ys: list(ys) }));
  }
  const x = xOf(def.id);
  return [{ file: def.id, ...(x ? { x } : {}), ys: list(def.y as string | readonly string[] | undefined) }];
}

const STEP = 'step';

/** One chart over the given snapshots (one for show, several for diff). */
export async function chartOf(def: PlotDefinition, snapshots: readonly Snapshot[]): Promise<Chart> {
  const template = def.template ?? 'linear';
  const problems: string[] = [];
  const values: DataRow[] = [];
  const several = snapshots.length > 1;
  let xField: string | undefined;
  let yFields: string[] = [];
  for (const snap of snapshots) {
    for (const s of seriesOf(def)) {
      const bytes = await snap.readFile(s.file);
      if (!Buffer.isBuffer(bytes)) {
        problems.push(`${several ? `${snap.label}: ` : ''}${s.file}: ${bytes.error}`);
        continue;
      }
      const rows = parseRows(bytes, s.file);
      if (!Array.isArray(rows)) {
        problems.push(`${several ? `${snap.label}: ` : ''}${s.file}: ${rows.error}`);
        continue;
      }
      const columns = Object.keys(rows[0] ?? {});
      const x = s.x ?? [STEP, 'epoch'].find((c) => columns.includes(c));
      // Default y: the last column (DVC's choice); confusion templates need explicit fields.
      const ys = s.ys.length > 0 ? s.ys : columns.filter((c) => c !== x).slice(-1);
      xField ??= x;
      yFields = [...new Set([...yFields, ...ys])];
      for (const y of ys) if (rows.length > 0 && !columns.includes(y)) problems.push(`${several ? `${snap.label}: ` : ''}${s.file}: no field "${y}" (fields: ${columns.join(', ')})`);
      const files = seriesOf(def).length > 1;
      rows.forEach((row, i) => {
        for (const y of ys) {
          if (!(y in row)) continue;
          const name = [several ? snap.label : undefined, files ? s.file : undefined, ys.length > 1 || files ? y : undefined].filter((p) => p !== undefined).join(': ');
          values.push({ x: x ? row[x] : i, y: row[y], series: name || y, rev: snap.label });
        }
      });
    }
  }
  const title = def.title ?? def.id;
  const xTitle = def.xLabel ?? xField ?? STEP;
  const yTitle = def.yLabel ?? (yFields.length === 1 ? yFields[0]! : null);
  return { id: def.id, title, spec: templateSpec(template, title, values, xTitle, yTitle, several), problems };
}

/** The chart definitions of the snapshots (each id once, the last snapshot's definition winning), filtered by targets. */
export function definitionsOf(snapshots: readonly Snapshot[], targets: readonly string[]): PlotDefinition[] {
  const byId = new Map<string, PlotDefinition>();
  for (const s of snapshots) for (const d of s.plots) byId.set(d.id, d);
  const wanted = targets.map((t) => t.replace(/^\.\//, '').replace(/\/$/, ''));
  return [...byId.values()].filter((d) => wanted.length === 0 || wanted.some((t) => d.id === t || d.id.startsWith(`${t}/`) || seriesOf(d).some((s) => s.file === t)));
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The self-contained page: every chart as inline SVG, its Vega-Lite spec beside it as inert JSON. */
export async function plotsPage(title: string, charts: readonly Chart[]): Promise<string> {
  const figures: string[] = [];
  for (const c of charts) {
    const svg = (await renderSvg(c.spec)).replace(/^<\?xml[^>]*>/, '');
    const json = JSON.stringify(c.spec).replace(/</g, '\\u003c');
    figures.push(
      `<figure id="${esc(c.id)}">${svg}<figcaption>${esc(c.id)}</figcaption>${c.problems.map((p) => `<p class="problem">${esc(p)}</p>`).join('')}<script type="application/vnd.vegalite+json">${json}</script></figure>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#1f2933}h1{font-size:20px}.grid{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0;padding:12px;border:1px solid #e4e7eb;border-radius:6px}figcaption{color:#52606d;font-size:12px;margin-top:4px}.problem{color:#c92a2a;font-size:12px;margin:4px 0 0}</style>
</head><body><h1>${esc(title)}</h1>${charts.length === 0 ? '<p>No plots: declare them under a stage\'s <code>plots:</code> or a pipeline\'s top-level <code>plots:</code>.</p>' : ''}<div class="grid">${figures.join('\n')}</div></body></html>
`;
}
