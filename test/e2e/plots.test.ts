// plots show and plots diff through the CLI, in a temp git repository: every
// template, series from CSV, TSV, JSON and YAML files, several revisions in one
// chart; the page checked in headless Chromium (each chart drawn, no console
// error, no request beyond the file itself), --json specs, bad definitions.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openFile } from '../browser.js';
import { errorLines, Rig } from '../rig.js';


const TRAIN = `const fs = require('fs');
const lr = Number(process.argv[2]);
fs.mkdirSync('plots', { recursive: true });
let csv = 'epoch,loss,val_loss\\n';
const rows = [];
for (let e = 1; e <= 20; e++) { csv += e + ',' + (1 / (e * lr)).toFixed(4) + ',' + (1.1 / (e * lr)).toFixed(4) + '\\n'; rows.push({ step: e, acc: Math.min(1, e * lr / 4) }); }
fs.writeFileSync('plots/history.csv', csv);
fs.writeFileSync('plots/acc.json', JSON.stringify({ train: rows }));
fs.writeFileSync('plots/acc.yaml', rows.map((r) => '- {step: ' + r.step + ', acc: ' + r.acc + '}').join('\\n') + '\\n');
let tsv = 'actual\\tpredicted\\n';
const classes = ['a', 'b', 'c'];
for (let i = 0; i < 30; i++) tsv += classes[i % 3] + '\\t' + classes[(i + (i % 7 === 0 ? 1 : 0) + Math.round(lr)) % 3] + '\\n';
fs.writeFileSync('plots/preds.tsv', tsv);
`;

const PIPELINE = `plots:
  - loss:
      title: Loss
      x: epoch
      y: { plots/history.csv: [loss, val_loss] }
  - plots/history.csv:
      template: smooth
      x: epoch
      y: val_loss
  - plots/acc.json: { template: scatter, x: step, y: acc }
  - plots/acc.yaml: { template: bar, x: step, y: acc, x_label: Step, y_label: Accuracy }
  - plots/preds.tsv: { template: confusion, x: actual, y: predicted }
  - normalized:
      template: confusion_normalized
      x: { plots/preds.tsv: actual }
      y: { plots/preds.tsv: predicted }
stages:
  train:
    cmd: node train.js \${lr}
    deps: [train.js]
    outs: [plots/acc.yaml]
    plots:
      - plots/history.csv: { cache: false }
      - plots/acc.json: { cache: false }
      - plots/preds.tsv: { cache: false }
`;

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const rig = new Rig().write({ '.gitignore': '/.mlpipe/\n/mlpipe_plots/\n', 'params.yaml': 'lr: 0.5\n', 'train.js': TRAIN, 'pipelines/p.yaml': PIPELINE });
let browser: Browser;
beforeAll(async () => {
  git(rig.dir, 'init', '-q', '-b', 'main');
  expect(rig.runJson().code).toBe(0);
  git(rig.dir, 'add', '-A');
  git(rig.dir, 'commit', '-qm', 'lr 0.5');
  rig.write({ 'params.yaml': 'lr: 1\n' });
  expect(rig.runJson().code).toBe(0);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  rig.cleanup();
});

const openPage = (file: string) => openFile(browser, file, { width: 1400, height: 1000 });

describe('plots', () => {
  it('plots diff overlays HEAD and the working tree in every template, rendered offline', async () => {
    const r = rig.run(['plots', 'diff']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(rig.dir, 'mlpipe_plots', 'index.html'));
    const { errors, requests, page, url } = await openPage(r.stdout.trim());
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    const ids = await page.locator('figure').evaluateAll((fs) => fs.map((f) => f.id));
    expect(ids).toEqual(['loss', 'plots/history.csv', 'plots/acc.json', 'plots/acc.yaml', 'plots/preds.tsv', 'normalized']);
    for (const svg of await page.locator('figure svg').all()) {
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      expect(box!.height).toBeGreaterThan(100);
      expect(await svg.locator('path, rect, line').count()).toBeGreaterThan(5);
    }
    // One colour per revision (and field): the legend names both sides.
    const legend = await page.locator('#loss svg').textContent();
    expect(legend).toContain('HEAD: loss');
    expect(legend).toContain('workspace: val_loss');
    expect(await page.locator('.problem').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('plots show --json prints the Vega-Lite specs with the data inlined; targets filter them', () => {
    const r = rig.run(['plots', 'show', '--json', 'plots/acc.json']);
    expect(r.code, r.stderr).toBe(0);
    const charts = JSON.parse(r.stdout) as { id: string; spec: { mark: unknown; data: { values: { x: number; y: number }[] } } }[];
    expect(charts.map((c) => c.id)).toEqual(['plots/acc.json']);
    expect(charts[0]!.spec.data.values).toHaveLength(20);
    expect(charts[0]!.spec.data.values[3]).toMatchObject({ x: 4, y: 1 });
    expect(rig.run(['plots', 'show', 'nope.csv']).code).toBe(2);
  });

  it('a chart over a missing field or an unreadable file says so under the chart and still writes the page', async () => {
    const other = new Rig().write({
      'make.js': "const fs = require('fs'); fs.mkdirSync('plots', { recursive: true }); fs.writeFileSync('plots/h.csv', 'x,y\\n1,2\\n'); fs.writeFileSync('plots/bad.csv', 'a,b\\n1,2\\n\"x\\n');\n",
      'pipelines/p.yaml': 'plots:\n  - plots/bad.csv\n  - plots/none.csv\n  - plots/h.csv: { y: nosuch }\nstages:\n  s:\n    cmd: node make.js\n    deps: [make.js]\n    outs: [plots/h.csv, plots/bad.csv]\n',
    });
    try {
      expect(other.runJson().code).toBe(0);
      const r = other.run(['plots', 'show']);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('warning: plots/none.csv: plots/none.csv: not found');
      expect(r.stderr).toContain('warning: plots/h.csv: plots/h.csv: no field "nosuch" (fields: x, y)');
      expect(r.stderr).toMatch(/warning: plots\/bad\.csv: plots\/bad\.csv: .*quote/i);
      const { errors, page } = await openPage(r.stdout.trim());
      expect(errors).toEqual([]);
      expect(await page.locator('.problem').count()).toBe(3);
      await page.close();
    } finally {
      other.cleanup();
    }
  }, 60_000);

  it('a bad plots definition is a located error with a suggestion', () => {
    const other = new Rig().write({ 'pipelines/p.yaml': 'plots:\n  - loss: { template: liner, y: { a.csv: loss } }\nstages:\n  s: { cmd: "true" }\n' });
    try {
      const r = other.run(['validate']);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p\.yaml:2:23: error: .*liner/);
      expect(r.stderr).toContain('"linear"');
    } finally {
      other.cleanup();
    }
  });
});
