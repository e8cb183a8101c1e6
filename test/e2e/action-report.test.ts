// mlpipe/report through the CLI, checked in headless Chromium (Debian's
// chromium driven by playwright-core): the page opens from file:// without a
// console error or any request beyond itself, shows every section and its
// charts as rendered SVG, and is byte-identical when rebuilt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openFile } from '../browser.js';
import { REPO, Rig, errorLines, IRIS_CSV, IRIS_SPLIT_STAGE } from '../rig.js';

const BATCH = readFileSync(join(REPO, 'data', 'iris-production.csv'), 'utf8');

const PIPELINE = `stages:
${IRIS_SPLIT_STAGE}  train:
    uses: mlpipe/train
    with: { train: data/split/train.csv, validation: data/split/validation.csv, label: species, epochs: 12, seed: 1, out: models/m, history: plots/history.csv, metrics: metrics/train.json }
    deps: [data/split/]
    outs: [models/m/]
    metrics: [metrics/train.json]
    plots: [plots/history.csv]
  evaluate:
    uses: mlpipe/evaluate
    with: { model: models/m, data: data/split/test.csv, metrics: metrics/eval.json }
    deps: [models/m/, data/split/]
    metrics: [metrics/eval.json]
  register:
    uses: mlpipe/register
    with: { name: flowers, model: models/m, metrics: metrics/eval.json, aliases: [production], out: models/registration.json }
    deps: [models/m/, metrics/eval.json]
    outs: [models/registration.json]
  monitor:
    uses: mlpipe/monitor
    with: { reference: data/split/train.csv, current: data/batch.csv, label: species, out: metrics/monitor.json }
    deps: [data/split/, data/batch.csv]
    metrics: [metrics/monitor.json]
  report:
    uses: mlpipe/report
    with:
      title: Flowers <report>
      metrics: [metrics/eval.json, metrics/train.json]
      evaluation: metrics/eval.json
      history: plots/history.csv
      monitor: metrics/monitor.json
      registry: registry/flowers.yaml
      out: reports/flowers.html
    deps: [metrics/, plots/history.csv, registry/flowers.yaml, models/registration.json]
    outs: [reports/flowers.html]
`;

const rig = new Rig().write({ 'data/iris.csv': IRIS_CSV, 'data/batch.csv': BATCH, 'pipelines/p.yaml': PIPELINE });
let browser: Browser;
beforeAll(async () => {
  const r = rig.runJson();
  expect(r.code, r.stderr).toBe(0);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  rig.cleanup();
});

describe('mlpipe/report', () => {
  it('opens in Chromium offline without console errors and shows every section with its charts', async () => {
    const { page, url, errors, requests } = await openFile(browser, join(rig.dir, 'reports', 'flowers.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await page.title()).toBe('Flowers <report>');
    expect(await page.locator('h2').allTextContents()).toEqual(['Metrics', 'Training', 'Evaluation', 'Drift and data quality', 'Registry: flowers']);
    // Loss and accuracy curves, the confusion matrix, one histogram per feature.
    const charts = page.locator('figure svg');
    expect(await charts.count()).toBe(2 + 1 + 4);
    for (const svg of await charts.all()) {
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      expect(box!.height).toBeGreaterThan(100);
      expect(await svg.locator('path, rect, line').count()).toBeGreaterThan(5);
    }
    expect(await page.locator('#drift').textContent()).toMatch(/dataset drift\s*3 of 4 features drifted/);
    expect(await page.locator('#registry td').first().textContent()).toBe('1');
    expect(await page.locator('#registry').textContent()).toContain('production');
    await page.close();
  }, 60_000);

  it('rebuilds byte-identical, and follows the registry (a retirement reruns it)', () => {
    const first = rig.read('reports/flowers.html');
    expect(rig.runJson(['--force', 'p:report']).code).toBe(0);
    expect(rig.read('reports/flowers.html')).toBe(first);
    expect(rig.run(['models', 'retire', 'flowers:1', '--reason', 'superseded']).code).toBe(0);
    const r = rig.runJson();
    expect(r.outcomes['p:report']).toBe('ran');
    expect(rig.read('reports/flowers.html')).toContain('superseded');
  });

  it('a report input that is not a dep is rejected at validation with file:line:col', () => {
    const other = new Rig().write({ 'metrics/a.json': '{"x": 1}', 'pipelines/p.yaml': `stages:\n  report:\n    uses: mlpipe/report\n    with: { metrics: [metrics/a.json, metrics/b.json], out: r.html }\n    deps: [metrics/a.json]\n    outs: [r.html]\n` });
    const r = other.run(['validate']);
    other.cleanup();
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p\.yaml:4:39: error: with\.metrics\.1 "metrics\/b\.json" is not among the stage's deps/);
  });
});

describe('report escaping', () => {
  it('escapes a column name from a CSV that looks like markup, in every table cell', () => {
    const name = '<img src=x onerror=alert(1)>';
    const csv = (shift: number) => `"${name}",y\n${Array.from({ length: 40 }, (_, i) => `${i + shift},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
    const r = new Rig().write({
      'data/ref.csv': csv(0),
      'data/cur.csv': csv(30),
      'pipelines/p.yaml': `stages:
  monitor:
    uses: mlpipe/monitor
    with: { reference: data/ref.csv, current: data/cur.csv, label: y, out: metrics/monitor.json }
    deps: [data/ref.csv, data/cur.csv]
    metrics: [metrics/monitor.json]
  report:
    uses: mlpipe/report
    with: { monitor: metrics/monitor.json, out: reports/r.html }
    deps: [metrics/monitor.json]
    outs: [reports/r.html]
`,
    });
    try {
      const run = r.runJson();
      expect(run.code, run.stderr).toBe(0);
      const html = r.read('reports/r.html');
      expect(html).not.toContain(name);
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    } finally {
      r.cleanup();
    }
  });
});
