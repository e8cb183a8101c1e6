// Champion/challenger through the CLI with models any language could train:
// a cmd stage writes a model file and its metrics, mlpipe/register with promote
// moves production only when the challenger wins, records both scores and the
// decision, writes the decision as a metric an `if:` reads, retires by policy,
// records a dirty working tree; serve refuses flavors it cannot serve, serves
// ONNX models (with MLflow's models:/ URIs), and a kill -9 at any moment never
// leaves the registry half-written.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, REPO, Rig, ServeProcess } from '../rig.js';

const TRAIN = `import fs from 'node:fs';
const [acc, tag] = process.argv.slice(2);
fs.mkdirSync('models', { recursive: true });
fs.writeFileSync('models/model.pkl', 'a pickled model ' + tag);
fs.writeFileSync('metrics/eval.json', JSON.stringify({ accuracy: Number(acc), rmse: 1 - Number(acc) }));
`;

const PIPELINE = (promote = '{ alias: production, metric: accuracy, min_delta: "${gate.min_delta}" }') => `stages:
  train:
    cmd: node train.mjs \${model.accuracy} \${model.tag}
    deps: [train.mjs]
    outs: [models/model.pkl]
    metrics: [metrics/eval.json]
  register:
    uses: mlpipe/register
    with:
      name: churn
      model: models/model.pkl
      flavor: sklearn
      metrics: metrics/eval.json
      promote: ${promote}
      retire: { keep_last: 2 }
      out: metrics/decision.json
    deps: [models/model.pkl, metrics/eval.json]
    metrics: [metrics/decision.json]
  deploy:
    if: \${stages.register.metrics.promoted}
    cmd: cp metrics/decision.json deployed.json
    deps: [metrics/decision.json]
    outs: [deployed.json]
`;

let rig: Rig;
afterEach(() => rig?.cleanup());

const params = (accuracy: number, tag: string, minDelta = 0) => `model:\n  accuracy: ${accuracy}\n  tag: ${tag}\ngate:\n  min_delta: ${minDelta}\n`;
const registry = () => parse(rig.read('registry/churn.yaml')) as { aliases: Record<string, number>; versions: Record<string, any>[] };
const git = (...args: string[]) => spawnSync('git', args, { cwd: rig.dir, encoding: 'utf8' });

function project(): Rig {
  rig = new Rig().write({ 'train.mjs': TRAIN, 'params.yaml': params(0.8, 'a'), 'pipelines/churn.yaml': PIPELINE() });
  git('init', '-q');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '-A');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  return rig;
}

describe('champion/challenger from a cmd stage', () => {
  it('promotes the first version, then moves production only when the challenger wins, recording both scores', () => {
    project();
    const first = rig.runJson();
    expect(first.code, first.stderr).toBe(0);
    expect(first.outcomes['churn:deploy']).toBe('ran');
    let r = registry();
    expect(r.aliases).toEqual({ production: 1 });
    expect(r.versions[0]).toMatchObject({ version: 1, flavor: 'sklearn', file: true, dirty: false, promotion: { alias: 'production', metric: 'accuracy', challenger: 0.8, champion: null, decision: 'promoted' } });
    expect(r.versions[0]!.promotion.reason).toContain('no champion yet');

    // A worse challenger: registered, production stays, the deploy stage is skipped by its condition.
    rig.write({ 'params.yaml': params(0.7, 'b') });
    const worse = rig.runJson();
    expect(worse.outcomes).toMatchObject({ 'churn:register': 'ran', 'churn:deploy': 'condition-false' });
    r = registry();
    expect(r.aliases).toEqual({ production: 1 });
    expect(r.versions[1]).toMatchObject({ version: 2, dirty: true, changed: ['params.yaml'], promotion: { challenger: 0.7, champion: { version: 1, value: 0.8, source: 'registry' }, decision: 'kept' } });
    expect(JSON.parse(rig.read('metrics/decision.json'))).toMatchObject({ version: 2, promoted: false, challenger: 0.7, champion: 0.8, champion_version: 1 });
    expect(rig.read('deployed.json')).toContain('"version": 1');

    // A tie keeps the champion; a win by less than min_delta too.
    rig.write({ 'params.yaml': params(0.8, 'c') });
    expect(rig.runJson().outcomes['churn:deploy']).toBe('condition-false');
    rig.write({ 'params.yaml': params(0.85, 'd', 0.1) });
    expect(rig.runJson().outcomes['churn:deploy']).toBe('condition-false');
    r = registry();
    expect(r.versions[3]!.promotion.reason).toContain('less than min_delta 0.1');
    expect(r.aliases.production).toBe(1);

    // A clear win moves it.
    rig.write({ 'params.yaml': params(0.95, 'e', 0.1) });
    const better = rig.runJson();
    expect(better.outcomes['churn:deploy']).toBe('ran');
    r = registry();
    expect(r.aliases).toEqual({ production: 5 });
    expect(r.versions[4]!.promotion).toMatchObject({ challenger: 0.95, champion: { version: 1, value: 0.8 }, decision: 'promoted' });

    // Retirement by policy: the last 2 versions are kept, older ones without an alias are retired with a reason.
    const retired = r.versions.filter((v) => v.retired).map((v) => v.version);
    expect(retired).toEqual([1, 2, 3]);
    expect(r.versions[0]!.retired.reason).toBe('retired by policy: holds no alias, not among the last 2 versions');
    // metrics diff sees the decision as a metric.
    const diff = rig.run(['metrics', 'diff', '--json']);
    expect(JSON.parse(diff.stdout)['metrics/decision.json'].champion_version).toBeDefined();

    // A retired version is refused by serve with its reason; a sklearn model is not served, and serve says why.
    const old = rig.run(['serve', 'churn:1']);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('retired by policy: holds no alias');
    const sk = rig.run(['serve', 'models:/churn@production']);
    expect(sk.code).toBe(2);
    expect(sk.stderr).toContain('churn:5 is a sklearn model (models/model.pkl): mlpipe serve serves tfjs and onnx models');
    expect(sk.stderr).toContain('skl2onnx');
  });

  it('minimizes with goal: minimize, and rejects a metric the metrics file lacks at run time', () => {
    project();
    rig.write({ 'pipelines/churn.yaml': PIPELINE('{ alias: production, metric: rmse, goal: minimize }') });
    expect(rig.runJson().code).toBe(0);
    rig.write({ 'params.yaml': params(0.9, 'b') }); // rmse 0.1 < 0.2: better
    rig.runJson();
    expect(registry().aliases).toEqual({ production: 2 });
    rig.write({ 'pipelines/churn.yaml': PIPELINE('{ alias: production, metric: auc }') });
    const r = rig.run(['run', '--reporter', 'plain']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('promote: metrics/eval.json has no auc (it has accuracy, rmse)');
  });

  it('a kill -9 at any moment never leaves the registry half-written, and the next run completes', async () => {
    project();
    rig.runJson();
    for (const [i, delay] of [150, 300, 450, 600, 750].entries()) {
      rig.write({ 'params.yaml': params(0.81 + i / 100, `k${i}`) });
      const child = spawn(process.execPath, [BIN, 'run', '--reporter', 'plain'], { cwd: rig.dir, detached: true, stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, delay));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // it had finished
      }
      await new Promise((r) => child.on('close', r));
      // The registry parses, every alias points at a version, validate accepts the project.
      const models = rig.run(['models', 'list', 'churn', '--json']);
      expect(models.code, models.stderr).toBe(0);
      expect(rig.run(['validate']).code).toBe(0);
    }
    const last = rig.runJson();
    expect(last.code, last.stderr).toBe(0);
    const r = registry();
    expect(r.aliases.production).toBe(Math.max(...r.versions.map((v) => v.version)));
    expect(rig.run(['status', '--check']).code).toBe(0);
    // The version behind production is the one the lock file's register entry registered.
    expect(JSON.parse(rig.read('metrics/decision.json')).version).toBe(r.aliases.production);
  });
});

describe('lifecycle references checked before anything runs', () => {
  it('rejects compare_to naming an unknown model or alias, and a promote metric mlpipe/evaluate does not write, located', () => {
    rig = new Rig().write({
      'data/test.csv': 'x,y\n1,a\n',
      'pipelines/p.yaml': `stages:
  train:
    cmd: mkdir -p models/m && echo x > models/m/model.json
    outs: [models/m/]
  ev:
    uses: mlpipe/evaluate
    with: { model: models/m, data: data/test.csv, compare_to: "\${model.ref}", metrics: m.json }
    deps: [models/m/, data/test.csv]
    metrics: [m.json]
  reg:
    uses: mlpipe/register
    with: { name: flowers, model: models/m, metrics: m.json, promote: { alias: production, metric: "\${model.metric}" }, out: r.json }
    deps: [models/m/, m.json]
    outs: [r.json]
`,
    });
    const check = (ref: string, metric: string) => {
      rig.write({ 'params.yaml': `model:\n  ref: "${ref}"\n  metric: ${metric}\n` });
      return rig.run(['validate']);
    };
    // A model and alias a register stage of the project makes are fine before they exist.
    expect(check('flowers@production', 'accuracy').code).toBe(0);
    const unknown = check('flower@production', 'accuracy');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/pipelines\/p\.yaml:7:\d+: error: compare_to flower@production: no model named "flower" in the registry, and no register stage makes one — did you mean "flowers"\?/);
    expect(check('flowers@staging', 'accuracy').stderr).toContain('compare_to flowers@staging: flowers has no alias "staging", and no register stage moves one');
    const metric = check('flowers@production', 'acuracy');
    expect(metric.stderr).toContain('error: promote.metric "acuracy" is not a metric p:ev (mlpipe/evaluate) writes — did you mean "accuracy"?');
    expect(rig.run(['run']).code).toBe(2);
  });
});

describe('ONNX models', () => {
  const fixture = (name: string) => readFileSync(join(REPO, 'test', 'fixtures', 'onnx', name));

  it('registers an ONNX file from a cmd stage and serves it by MLflow URI, with signature checks', async () => {
    rig = new Rig().write({
      'src/iris.onnx': fixture('iris-classifier.onnx'),
      'export.sh': `cp src/iris.onnx model.onnx\nprintf '{"accuracy": 0.98}' > m.json\n`,
      'pipelines/p.yaml': `stages:
  export:
    cmd: sh export.sh
    deps: [src/iris.onnx, export.sh]
    outs: [model.onnx]
    metrics: [m.json]
  register:
    uses: mlpipe/register
    with: { name: iris, model: model.onnx, flavor: onnx, metrics: m.json, promote: { alias: production, metric: accuracy }, out: reg.json }
    deps: [model.onnx, m.json]
    outs: [reg.json]
`,
    });
    expect(rig.runJson().code).toBe(0);
    for (const ref of ['models:/iris@production', 'models:/iris/1']) {
      const server = await new ServeProcess(rig.dir, [ref]).ready();
      try {
        expect(server.stderr).toContain('ONNX Runtime; columns sepal_length (double), sepal_width (double), petal_length (double), petal_width (double)');
        const res = await server.post(JSON.stringify({ dataframe_records: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 }] }));
        expect(await res.json()).toEqual({ predictions: ['setosa', 'virginica'] });
        const bad = await server.post(JSON.stringify({ dataframe_records: [{ sepal_length: 5.1 }] }));
        expect(bad.status).toBe(400);
        expect((await bad.json()).message).toContain('column "sepal_width" is missing');
        const version = await (await fetch(`${server.url}/version`)).json();
        expect(version).toMatchObject({ name: 'iris', version: 1, flavor: 'onnx', aliases: ['production'] });
        expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      } finally {
        await server.stop();
      }
    }
  });

  it('serves a model whose preprocessing is inside it, on raw columns (a string column included)', async () => {
    rig = new Rig().write({ 'price.onnx': fixture('price-pipeline.onnx') });
    const server = await new ServeProcess(rig.dir, ['price.onnx']).ready();
    try {
      expect(server.stderr).toContain('columns area (double), district (string)');
      const res = await server.post(JSON.stringify({ dataframe_split: { columns: ['area', 'district'], data: [[10, 'north'], [20, 'east']] } }));
      expect(await res.json()).toEqual({ predictions: [120, 40] });
    } finally {
      await server.stop();
    }
  });

  it('refuses, saying what to add, an ONNX model whose one tensor input does not name its columns', async () => {
    const { onnx } = await import('onnx-proto');
    const model = onnx.ModelProto.decode(fixture('iris-classifier.onnx'));
    model.metadataProps = [];
    rig = new Rig().write({ 'bare/model.onnx': onnx.ModelProto.encode(model).finish() });
    const r = rig.run(['serve', 'bare', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('takes one tensor "float_input" of 4 numbers per row but does not name its columns');
    expect(r.stderr).toContain('mlpipe.columns');
  });
});
