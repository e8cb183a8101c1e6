// mlpipe/train through the CLI on the shipped data: byte-identical models for
// the same inputs and backend, the backend in the key, a tensor count that
// does not grow across epochs, preprocessing fitted on training rows (missing
// values and categories of the penguins data), and clear errors naming row
// and column.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, Rig, errorLines } from '../rig.js';

const IRIS = readFileSync(join(REPO, 'data', 'iris.csv'), 'utf8');
const PENGUINS = readFileSync(join(REPO, 'data', 'penguins.csv'), 'utf8');
let rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs) r.cleanup();
  rigs = [];
});

function project(data: Record<string, string>, trainWith: string, splitWith = 'data: data/in.csv, out: data/split, label: species, seed: 7'): Rig {
  const rig = new Rig().write({
    ...data,
    'pipelines/p.yaml': `stages:
  split:
    uses: mlpipe/split
    with: { ${splitWith} }
    deps: [data/in.csv]
    outs: [data/split/]
  train:
    uses: mlpipe/train
    with:
${trainWith}
    deps: [data/split/]
    outs: [models/m/]
    metrics: [metrics/train.json]
    plots: [plots/history.csv]
`,
  });
  rigs.push(rig);
  return rig;
}

const IRIS_TRAIN = `      train: data/split/train.csv
      validation: data/split/validation.csv
      label: species
      layers: [{ type: dense, units: 8, activation: relu }, { type: dropout, rate: 0.1 }]
      epochs: 15
      batchSize: 16
      seed: 1
      out: models/m
      history: plots/history.csv
      metrics: metrics/train.json`;

describe('mlpipe/train', () => {
  it('trains reproducibly: the same inputs on the same backend give byte-identical model files', () => {
    const a = project({ 'data/in.csv': IRIS }, IRIS_TRAIN);
    const b = project({ 'data/in.csv': IRIS }, IRIS_TRAIN);
    const ra = a.run(['run']);
    expect(ra.code, ra.stderr).toBe(0);
    expect(b.run(['run']).code).toBe(0);
    for (const f of ['models/m/model.json', 'models/m/weights.bin', 'models/m/preprocess.json', 'plots/history.csv', 'metrics/train.json']) expect(b.read(f)).toBe(a.read(f));
    const metrics = JSON.parse(a.read('metrics/train.json'));
    expect(metrics).toMatchObject({ task: 'classification', epochs: 15, trainRows: 105 });
    expect(metrics.accuracy).toBeGreaterThan(0.7);
    const model = JSON.parse(a.read('models/m/model.json'));
    expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(JSON.parse(a.read('models/m/preprocess.json')).classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(a.read('plots/history.csv').split('\n')[0]).toBe('epoch,val_loss,val_accuracy,loss,accuracy');
    // The tensor count is the same after every epoch: nothing leaks.
    const counts = [...ra.stdout.matchAll(/epoch \d+\/15: .* · tensors (\d+)/g)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(15);
    expect(new Set(counts).size).toBe(1);
  });

  it('applies class weights (balanced or per class): the weights change the model', () => {
    const weighted = (cw: string) => project({ 'data/in.csv': IRIS }, `${IRIS_TRAIN.replace('epochs: 15', 'epochs: 5')}${cw ? `\n      classWeights: ${cw}` : ''}`);
    const plain = weighted('');
    const balanced = weighted('balanced');
    const custom = weighted('{ setosa: 1, versicolor: 5, virginica: 1 }');
    for (const rig of [plain, balanced, custom]) expect(rig.run(['run']).code).toBe(0);
    // Stratified splits are balanced already: "balanced" weighs every class 1, like none.
    expect(balanced.read('models/m/weights.bin')).toBe(plain.read('models/m/weights.bin'));
    expect(custom.read('models/m/weights.bin')).not.toBe(plain.read('models/m/weights.bin'));
  });

  it('puts the backend in the key: another backend reruns the stage and says why', () => {
    const rig = project({ 'data/in.csv': IRIS }, IRIS_TRAIN.replace('epochs: 15', 'epochs: 3'));
    expect(rig.run(['run'], { env: { MLPIPE_TF_BACKEND: 'wasm' } }).code).toBe(0);
    expect(JSON.parse(rig.read('metrics/train.json')).backend).toBe('wasm');
    expect(rig.runJson([], { env: { MLPIPE_TF_BACKEND: 'wasm' } }).outcomes['p:train']).toBe('fresh');
    const cpu = rig.runJson([], { env: { MLPIPE_TF_BACKEND: 'cpu' } });
    expect(cpu.outcomes['p:train']).toBe('ran');
    expect(cpu.events.find((e) => e.type === 'stage-started' && e.stage === 'p:train')!.reasons).toEqual([{ kind: 'backend', message: 'TensorFlow.js backend: wasm → cpu' }]);
    expect(JSON.parse(rig.read('metrics/train.json')).backend).toBe('cpu');
    expect(rig.read('pipelines/p.lock')).toContain('backend: cpu');
    // --backend is the same choice on the command line; an unknown one stops before anything runs.
    expect(rig.runJson(['--backend', 'cpu']).outcomes['p:train']).toBe('fresh');
    const bad = rig.run(['run', '--backend', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: unknown TensorFlow.js backend "gpu"; choose one of tensorflow, wasm, cpu');
  });

  it('handles missing values and categorical columns as with.missing says, naming row and column otherwise', () => {
    const penguins = (missing: string) => `      train: data/split/train.csv
      validation: data/split/validation.csv
      label: species
      ${missing}
      epochs: 5
      seed: 2
      out: models/m
      history: plots/history.csv
      metrics: metrics/train.json`;
    const strict = project({ 'data/in.csv': PENGUINS }, penguins(''));
    const r = strict.run(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: data\/split\/train\.csv:\d+: column "bill_length_mm" is missing a value \(set with\.missing to impute or drop\)/);
    const imputed = project({ 'data/in.csv': PENGUINS }, penguins('missing: impute'));
    expect(imputed.run(['run']).code).toBe(0);
    const pre = JSON.parse(imputed.read('models/m/preprocess.json'));
    expect(pre.features.find((f: { name: string }) => f.name === 'island')).toMatchObject({ kind: 'categorical', categories: ['Biscoe', 'Dream', 'Torgersen'] });
    expect(pre.features.find((f: { name: string }) => f.name === 'sex')).toMatchObject({ kind: 'categorical', categories: ['female', 'male'] });
    expect(pre.features.find((f: { name: string }) => f.name === 'body_mass_g')).toMatchObject({ kind: 'numeric' });
    const dropped = project({ 'data/in.csv': PENGUINS }, penguins('missing: drop'));
    expect(dropped.run(['run']).code).toBe(0);
    expect(JSON.parse(dropped.read('metrics/train.json')).droppedRows).toBeGreaterThan(0);
  });

  it('fails clearly on non-numeric cells and unknown categories, and rejects bad layers at validation', () => {
    const direct = (train: string, valid: string) => {
      const rig = new Rig().write({
        'data/train.csv': train,
        'data/valid.csv': valid,
        'pipelines/p.yaml': `stages:
  train:
    uses: mlpipe/train
    with: { train: data/train.csv, validation: data/valid.csv, label: species, missing: impute, epochs: 1, out: models/m }
    deps: [data/train.csv, data/valid.csv]
    outs: [models/m/]
`,
      });
      rigs.push(rig);
      return rig.run(['run']);
    };
    const header = IRIS.split('\n')[0];
    const numeric = direct(IRIS, `${header}\n5.1,three,1.4,0.2,setosa\n`);
    expect(numeric.code).toBe(1);
    expect(numeric.stderr).toContain('error: data/valid.csv:2: column "sepal_width" is "three", not a number');
    const penguinHeader = PENGUINS.split('\n')[0];
    const category = direct(PENGUINS, `${penguinHeader}\nAdelie,Atlantis,39.1,18.7,181,3750,male\n`);
    expect(category.code).toBe(1);
    expect(category.stderr).toContain('error: data/valid.csv:2: column "island" has the unknown category "Atlantis" (known: Biscoe, Dream, Torgersen)');
    const layers = project({ 'data/in.csv': IRIS }, IRIS_TRAIN.replace('type: dropout', 'type: dropuot'));
    const v = layers.run(['validate']);
    expect(v.code).toBe(2);
    expect(errorLines(v.stderr)[0]).toMatch(/^pipelines\/p\.yaml:\d+:\d+: error: .*layers\[1\]\.type/);
  });
});

describe('mlpipe/evaluate', () => {
  const pipeline = (thresholds: string) => `stages:
  split:
    uses: mlpipe/split
    with: { data: data/in.csv, out: data/split, label: species, seed: 7 }
    deps: [data/in.csv]
    outs: [data/split/]
  train:
    uses: mlpipe/train
    with: { train: data/split/train.csv, validation: data/split/validation.csv, label: species, epochs: 30, batchSize: 16, optimizer: { learningRate: 0.03 }, seed: 1, out: models/m }
    deps: [data/split/]
    outs: [models/m/]
  evaluate:
    uses: mlpipe/evaluate
    with: { model: models/m, data: data/split/test.csv, metrics: metrics/eval.json, thresholds: { ${thresholds} } }
    deps: [models/m/, data/split/]
    metrics: [metrics/eval.json]
`;

  it('scores the model with the saved preprocessing and gates on thresholds', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline('accuracy: ">= 0.8", log_loss: "< 1"') });
    rigs.push(rig);
    const r = rig.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('gate passed: accuracy');
    const m = JSON.parse(rig.read('metrics/eval.json'));
    expect(m).toMatchObject({ task: 'classification', rows: 21 });
    expect(m.confusion_matrix.labels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(m.confusion_matrix.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(21);
    expect(Object.keys(m.per_class)).toEqual(['setosa', 'versicolor', 'virginica']);
    // An impossible gate fails the stage, naming metric, value and threshold.
    rig.write({ 'pipelines/p.yaml': pipeline('accuracy: "> 1"') });
    const gate = rig.run(['run']);
    expect(gate.code).toBe(1);
    expect(gate.stderr).toMatch(/error: quality gate failed: accuracy is [0-9.]+, the threshold is > 1/);
    expect(gate.stderr).toContain('3 stages: 2 fresh, 1 failed');
  });

  it('rejects an unknown metric or a malformed threshold at validation', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline('acuracy: ">= 0.8", f1_macro: "at least 0.8"') });
    rigs.push(rig);
    const v = rig.run(['validate']);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/pipelines\/p\.yaml:14:\d+: error: unknown key "acuracy" in "with.thresholds" — did you mean "accuracy"\?/);
    expect(v.stderr).toMatch(/pipelines\/p\.yaml:14:\d+: error: .*f1_macro.*"at least 0.8"/);
  });
});

describe('JSON lines input', () => {
  it('trains and evaluates from .jsonl files like CSV, and names the line of a bad record', () => {
    const [header, ...lines] = IRIS.trim().split('\n');
    const keys = header!.split(',');
    const jsonl = (rows: string[]) => rows.map((r) => JSON.stringify(Object.fromEntries(r.split(',').map((v, i) => [keys[i], i < 4 ? Number(v) : v])))).join('\n') + '\n';
    const rig = new Rig().write({
      'data/train.jsonl': jsonl(lines.filter((_, i) => i % 5 !== 0)),
      'data/test.jsonl': jsonl(lines.filter((_, i) => i % 5 === 0)),
      'pipelines/p.yaml': `stages:
  train:
    uses: mlpipe/train
    with: { train: data/train.jsonl, label: species, epochs: 20, optimizer: { learningRate: 0.05 }, seed: 3, out: models/m }
    deps: [data/train.jsonl]
    outs: [models/m/]
  evaluate:
    uses: mlpipe/evaluate
    with: { model: models/m, data: data/test.jsonl, metrics: eval.json }
    deps: [models/m/, data/test.jsonl]
    metrics: [eval.json]
`,
    });
    rigs.push(rig);
    const r = rig.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(rig.read('eval.json'))).toMatchObject({ task: 'classification', rows: 30 });
    rig.write({ 'data/test.jsonl': `${rig.read('data/test.jsonl')}{"sepal_length": 5.0,\n` });
    const bad = rig.run(['run']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: data/test.jsonl:31: not valid JSON');
  });
});

describe('mlpipe/tune', () => {
  const pipeline = (budget: number, method = 'bayes') => `stages:
  split:
    uses: mlpipe/split
    with: { data: data/in.csv, out: data/split, label: species, seed: 7 }
    deps: [data/in.csv]
    outs: [data/split/]
  tune:
    uses: mlpipe/tune
    with:
      train: data/split/train.csv
      validation: data/split/validation.csv
      label: species
      base: { layers: [{ type: dense, units: 8, activation: relu }], epochs: 8, batchSize: 16 }
      method: ${method}
      metric: { name: val_loss, goal: minimize }
      parameters:
        optimizer.learningRate: { min: 0.001, max: 0.1, distribution: log_uniform }
        layers.0.units: { values: [4, 16] }
      budget: ${budget}
      early_terminate: { min_epochs: 3 }
      seed: 5
      out: tune/best.json
      trials: tune/trials.jsonl
    deps: [data/split/]
    outs: [tune/]
  train:
    uses: mlpipe/train
    with: { train: data/split/train.csv, validation: data/split/validation.csv, label: species, hyperparameters: tune/best.json, epochs: 8, seed: 1, out: models/m, metrics: metrics/train.json }
    deps: [data/split/, tune/best.json]
    outs: [models/m/]
    metrics: [metrics/train.json]
`;

  it('searches, writes every trial and the best params that train then uses; a larger budget reuses finished trials', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline(6) });
    rigs.push(rig);
    const r = rig.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    const trials = rig.read('tune/trials.jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(trials).toHaveLength(6);
    const best = JSON.parse(rig.read('tune/best.json'));
    expect(best).toMatchObject({ metric: 'val_loss', goal: 'minimize' });
    const finished = trials.filter((t) => !t.stoppedEarly);
    expect(best.value).toBe(Math.min(...finished.map((t) => t.val_loss)));
    expect(Object.keys(best.params).sort()).toEqual(['layers.0.units', 'optimizer.learningRate']);
    expect(r.stdout).toContain('hyperparameters from tune/best.json: optimizer.learningRate=');
    const model = JSON.parse(rig.read('models/m/model.json'));
    expect(model.modelTopology.config.layers[0].config.units).toBe(best.params['layers.0.units']);
    // A larger budget: the first six trials come from the cache.
    rig.write({ 'pipelines/p.yaml': pipeline(9) });
    const second = rig.run(['run']);
    expect(second.code).toBe(0);
    expect(second.stdout.match(/trial \d+\/9: .*\(cached\)/g)).toHaveLength(6);
    const more = rig.read('tune/trials.jsonl').trim().split('\n');
    expect(more).toHaveLength(9);
    // Cached trials are written exactly as when they ran: the file does not depend on the cache.
    expect(more.slice(0, 6).map((l) => JSON.parse(l))).toEqual(trials);
  });

  it('trains trials on every slot of --jobs with exactly the trials and best params of -j 1', () => {
    let stopped = 0;
    for (const method of ['bayes', 'random']) {
      const files = (jobs: string) => {
        const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline(8, method).replace('min: 0.001, max: 0.1', 'min: 0.0005, max: 0.3') });
        rigs.push(rig);
        const r = rig.run(['run', 'p:tune', '-j', jobs]);
        expect(r.code, r.stderr).toBe(0);
        return { out: r.stdout, trials: rig.read('tune/trials.jsonl'), best: rig.read('tune/best.json'), lock: rig.read('pipelines/p.lock') };
      };
      const one = files('1');
      const three = files('3');
      expect(one.out).not.toContain('trials at once');
      // Up to the machine's cores.
      if (availableParallelism() >= 2) expect(three.out).toContain(`training up to ${Math.min(3, availableParallelism())} trials at once`);
      expect(three.trials).toBe(one.trials);
      expect(three.best).toBe(one.best);
      expect(three.lock).toBe(one.lock);
      stopped += one.trials.split('"stoppedEarly":true').length - 1;
    }
    // Median stopping compared the same curves: some trials stopped early, the same ones.
    expect(stopped).toBeGreaterThan(0);
  });

  it('grid search tries every combination up to the budget; a range in a grid is rejected', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline(10, 'grid').replace('{ min: 0.001, max: 0.1, distribution: log_uniform }', '{ values: [0.01, 0.05] }') });
    rigs.push(rig);
    expect(rig.run(['run', 'p:tune']).code).toBe(0);
    const trials = rig.read('tune/trials.jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(trials.map((t) => [t.params['optimizer.learningRate'], t.params['layers.0.units']])).toEqual([[0.01, 4], [0.01, 16], [0.05, 4], [0.05, 16]]);
    rig.write({ 'pipelines/p.yaml': pipeline(10, 'grid') });
    const bad = rig.run(['run', 'p:tune']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: parameters.optimizer.learningRate: grid search needs a list of values');
  });
});

describe('mlpipe/evaluate cross-validation', () => {
  const pipeline = (extra = '') => `stages:
  folds:
    uses: mlpipe/split
    with: { data: data/in.csv, out: data/folds, label: species, folds: 3, seed: 2 }
    deps: [data/in.csv]
    outs: [data/folds/]
  cv:
    uses: mlpipe/evaluate
    with:
      folds: data/folds${extra}
      train: { label: species, epochs: 10, batchSize: 16, optimizer: { learningRate: 0.05 }, seed: 1 }
      metrics: metrics/cv.json
      thresholds: { accuracy: ">= 0.7" }
    deps: [data/folds/]
    metrics: [metrics/cv.json]
`;

  it('trains a model per fold and reports each metric as mean ± std, gating on the mean', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline() });
    rigs.push(rig);
    const r = rig.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(rig.read('metrics/cv.json'));
    expect(m).toMatchObject({ task: 'classification', folds: 3 });
    expect(m.per_fold).toHaveLength(3);
    const accs = m.per_fold.map((f: { accuracy: number }) => f.accuracy);
    expect(m.accuracy).toBeCloseTo(accs.reduce((a: number, b: number) => a + b, 0) / 3, 5);
    expect(m.accuracy_std).toBeGreaterThanOrEqual(0);
    expect(r.stdout).toMatch(/3-fold cross-validation \(mean\): accuracy [0-9.]+ ± [0-9.]+/);
  });

  it('takes model and data, or folds and train — not a mix', () => {
    const rig = new Rig().write({ 'data/in.csv': IRIS, 'pipelines/p.yaml': pipeline('\n      model: models/m') });
    rigs.push(rig);
    const v = rig.run(['validate']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('error: mlpipe/evaluate takes model and data, or folds and train, not both');
  });
});
