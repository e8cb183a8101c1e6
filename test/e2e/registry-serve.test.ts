// The model registry, packaging and serving through the CLI: mlpipe/register
// (versions, idempotence, aliases, provenance), `mlpipe models
// list|show|promote|retire`, concurrent writers, gc keeping registered bytes,
// mlpipe/package, and `mlpipe serve` answering MLflow-style requests, checking
// inputs (4xx with a message, never a 500), exposing Prometheus metrics,
// logging predictions, refusing retired versions and shutting down gracefully.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import fc from 'fast-check';
import { BIN, REPO, Rig, IRIS_CSV, IRIS_SPLIT_STAGE, ServeProcess } from '../rig.js';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

const PIPELINE = `stages:
${IRIS_SPLIT_STAGE}  train:
    uses: mlpipe/train
    with:
      train: data/split/train.csv
      validation: data/split/validation.csv
      label: species
      epochs: \${epochs}
      seed: \${seed}
      out: models/m
    deps: [data/split/]
    outs: [models/m/]
  evaluate:
    uses: mlpipe/evaluate
    with: { model: models/m, data: data/split/test.csv, metrics: metrics/m.json }
    deps: [models/m/, data/split/]
    metrics: [metrics/m.json]
  register:
    uses: mlpipe/register
    with: { name: flowers, model: models/m, metrics: metrics/m.json, aliases: ["\${alias}"], out: models/registration.json }
    deps: [models/m/, metrics/m.json]
    outs: [models/registration.json]
  package:
    uses: mlpipe/package
    with: { model: models/m, example: data/split/test.csv, registration: models/registration.json, out: build/flowers }
    deps: [models/m/, data/split/, models/registration.json]
    outs: [build/flowers/]
`;

const rig = new Rig().write({ 'data/iris.csv': IRIS_CSV, 'params.yaml': 'epochs: 15\nseed: 1\nalias: production\n', 'pipelines/p.yaml': PIPELINE });
afterAll(() => rig.cleanup());

const registry = () => parseYaml(rig.read('registry/flowers.yaml'));

/** `mlpipe serve` in the project of these tests. */
class Server extends ServeProcess {
  constructor(args: string[]) {
    super(rig.dir, args);
  }
}

describe('registry', () => {
  beforeAll(() => {
    const r = rig.runJson();
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('register records the version with its hash, metrics, params and provenance, and moves the aliases', () => {
    const reg = registry();
    expect(reg.name).toBe('flowers');
    expect(reg.aliases).toEqual({ production: 1 });
    expect(reg.versions).toHaveLength(1);
    const v = reg.versions[0];
    const lock = parseYaml(rig.read('pipelines/p.lock'));
    expect(v.hash).toBe(lock.stages.train.outs['models/m'].hash);
    expect(v.produced_by).toEqual({ stage: 'p:train', key: lock.stages.train.key });
    expect(v).toMatchObject({ version: 1, pipeline: 'pipelines/p.yaml', stage: 'register', lock: 'pipelines/p.lock', source: 'models/m', params: { epochs: 15, seed: 1, alias: 'production' } });
    expect(v.metrics.accuracy).toBeGreaterThan(0.5);
    expect(JSON.parse(rig.read('models/registration.json'))).toEqual({ name: 'flowers', version: 1, hash: v.hash, flavor: 'tfjs' });
  });

  it('registering the same bytes again is idempotent: same version, registry file unchanged', () => {
    const before = rig.read('registry/flowers.yaml');
    const r = rig.runJson(['--force', 'p:register']);
    expect(r.code, r.stderr).toBe(0);
    expect(rig.read('registry/flowers.yaml')).toBe(before);
  });

  it('a retrained model becomes version 2 and the alias moves to it', () => {
    const r = rig.runJson(['--set', 'seed=2', '--set', 'alias=staging']);
    expect(r.code, r.stderr).toBe(0);
    const reg = registry();
    expect(reg.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(reg.aliases).toEqual({ production: 1, staging: 2 });
    expect(reg.versions[1].params.seed).toBe(2);
    // Back to the first params: train comes back from the run-cache, but register
    // (a change outside its outputs) runs again and finds version 1.
    const back = rig.runJson();
    expect(back.outcomes).toMatchObject({ 'p:train': 'restored', 'p:register': 'ran' });
    expect(registry().versions).toHaveLength(2);
  });

  it('models list and show print versions, aliases and provenance (text and --json)', () => {
    const list = rig.run(['models', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^MODEL\s+VERSION\s+ALIASES\s+STATUS/m);
    expect(list.stdout).toMatch(/^flowers\s+1\s+production\s+live/m);
    expect(list.stdout).toMatch(/^flowers\s+2\s+staging\s+live/m);
    const json = JSON.parse(rig.run(['models', 'list', '--json']).stdout);
    expect(json.models[0].versions).toHaveLength(2);
    const show = rig.run(['models', 'show', 'flowers@staging']);
    expect(show.stdout).toContain('flowers:2 (staging) — live');
    expect(show.stdout).toContain('pipelines/p.yaml stage register');
    expect(JSON.parse(rig.run(['models', 'show', 'flowers', '--json']).stdout).version).toBe(1);
  });

  it('promote moves an alias; unknown versions and bad references are usage errors', () => {
    const r = rig.run(['models', 'promote', 'flowers:2', 'production']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('flowers@production → 2 (was 1)');
    expect(registry().aliases).toEqual({ production: 2, staging: 2 });
    const missing = rig.run(['models', 'promote', 'flowers:9', 'production']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('flowers has no version 9 (versions: 1, 2)');
    const bad = rig.run(['models', 'show', 'Flowers!']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a model reference');
    const unknown = rig.run(['models', 'show', 'trees']);
    expect(unknown.stderr).toContain('no model named "trees" in the registry');
    expect(unknown.stderr).toContain('registered models: flowers');
  });

  it('concurrent writers never lose a change or corrupt the file', async () => {
    const aliases = Array.from({ length: 8 }, (_, i) => `canary-${i}`);
    const codes = await Promise.all(
      aliases.map(
        (a, i) =>
          new Promise<number | null>((resolve) => {
            const c = spawn(process.execPath, [BIN, 'models', 'promote', `flowers:${(i % 2) + 1}`, a], { cwd: rig.dir, stdio: 'ignore' });
            c.on('close', resolve);
          }),
      ),
    );
    expect(codes).toEqual(aliases.map(() => 0));
    const reg = registry();
    for (const [i, a] of aliases.entries()) expect(reg.aliases[a]).toBe((i % 2) + 1);
    expect(reg.versions).toHaveLength(2);
  }, 60_000);

  it('parallel register stages of one model all land, each as its own version', () => {
    const n = 6;
    const files: Record<string, string> = {};
    let stages = 'stages:\n';
    for (let i = 0; i < n; i++) {
      files[`dirs/m${i}/weights.bin`] = `model ${i}`;
      files[`dirs/m${i}/model.json`] = '{}';
      files[`dirs/m${i}/preprocess.json`] = '{}';
      stages += `  reg${i}:\n    uses: mlpipe/register\n    with: { name: many, model: dirs/m${i}, aliases: [a${i}], out: out/r${i}.json }\n    deps: [dirs/m${i}/]\n    outs: [out/r${i}.json]\n`;
    }
    const many = new Rig().write({ ...files, 'pipelines/p.yaml': stages });
    try {
      const r = many.runJson(['-j', String(n)]);
      expect(r.code, r.stderr).toBe(0);
      const reg = parseYaml(many.read('registry/many.yaml'));
      expect(reg.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
      for (let i = 0; i < n; i++) {
        const receipt = JSON.parse(many.read(`out/r${i}.json`));
        expect(reg.aliases[`a${i}`]).toBe(receipt.version);
        expect(reg.versions.find((v: { version: number }) => v.version === receipt.version).source).toBe(`dirs/m${i}`);
      }
    } finally {
      many.cleanup();
    }
  }, 60_000);

  it('register and package refuse a directory that is not a model, naming what is missing', () => {
    const bad = new Rig().write({
      'dirs/x/notes.txt': 'not a model',
      'pipelines/p.yaml': `stages:\n  reg:\n    uses: mlpipe/register\n    with: { name: x, model: dirs/x, out: r.json }\n    deps: [dirs/x/]\n    outs: [r.json]\n  pkg:\n    uses: mlpipe/package\n    with: { model: dirs/x, out: pk }\n    deps: [dirs/x/]\n    outs: [pk/]\n`,
    });
    try {
      const r = bad.run(['run', '--keep-going', '--reporter', 'plain']);
      expect(r.code).toBe(1);
      const out = r.stdout + r.stderr;
      expect(out).toContain('error: dirs/x is not a model directory mlpipe/train or mlpipe/package wrote (model.json, weights.bin, preprocess.json missing): another kind of model? declare it with flavor: onnx, sklearn, pytorch or custom');
      expect(out).toContain('error: dirs/x is not a model directory mlpipe/train wrote: dirs/x/preprocess.json is missing');
      expect(bad.exists('registry/x.yaml')).toBe(false);
    } finally {
      bad.cleanup();
    }
  });

  it('a merge conflict in the registry is reported with file:line:col, and gc then deletes nothing', () => {
    const good = rig.read('registry/flowers.yaml');
    rig.write({ 'registry/flowers.yaml': good.replace('aliases:\n', 'aliases:\n<<<<<<< HEAD\n=======\n>>>>>>> other\n') });
    const r = rig.run(['models', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/registry\/flowers\.yaml:\d+:1: error: unresolved merge conflict/);
    const gc = rig.run(['gc']);
    expect(gc.code).toBe(2);
    expect(gc.stderr).toContain('gc deletes nothing');
    rig.write({ 'registry/flowers.yaml': good });
  });

  it('gc keeps the bytes of registered versions; serve restores them from the cache', async () => {
    rmSync(join(rig.dir, '.mlpipe', 'run-cache'), { recursive: true, force: true });
    // Back to version 1's params: the lock no longer references version 2's model.
    expect(rig.runJson().code).toBe(0);
    const gc = rig.run(['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    rmSync(join(rig.dir, 'models', 'm'), { recursive: true, force: true });
    const server = await new Server(['flowers:2']).ready();
    const res = await server.post(JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }));
    expect(res.status).toBe(200);
    expect((await res.json()).predictions).toHaveLength(1);
    expect(await server.stop()).toBe(143);
    expect(rig.exists(`.mlpipe/models/${registry().versions[1].hash}/model.json`)).toBe(true);
    // gc removes the restored copy; serving restores it again from the cache.
    expect(rig.run(['gc']).code).toBe(0);
    expect(rig.exists('.mlpipe/models')).toBe(false);
    const again = await new Server(['flowers:2']).ready();
    expect((await again.post(JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }))).status).toBe(200);
    expect(await again.stop()).toBe(143);
  }, 60_000);
});

describe('package', () => {
  it('writes model, preprocessing, signature, input example and metadata, nothing else', () => {
    const files = ['input_example.json', 'metadata.json', 'model.json', 'preprocess.json', 'signature.json', 'weights.bin'];
    expect(readdirSync(join(rig.dir, 'build', 'flowers')).sort()).toEqual(files);
    const sig = JSON.parse(rig.read('build/flowers/signature.json'));
    expect(sig.inputs).toEqual(COLUMNS.map((name) => ({ name, type: 'double' })));
    expect(sig.outputs[0]).toEqual({ name: 'species', type: 'string', classes: ['setosa', 'versicolor', 'virginica'] });
    const example = JSON.parse(rig.read('build/flowers/input_example.json'));
    expect(example.dataframe_split.columns).toEqual(COLUMNS);
    expect(example.dataframe_split.data).toHaveLength(3);
    const meta = JSON.parse(rig.read('build/flowers/metadata.json'));
    expect(meta).toMatchObject({ format: 'mlpipe-package', name: 'flowers', version: 1, task: 'classification', flavor: 'tfjs-layers' });
  });
});

describe('serve', () => {
  let server: Server;
  beforeAll(async () => {
    rig.run(['models', 'promote', 'flowers:1', 'production']);
    server = await new Server(['flowers@production', '--log', 'serve-log.jsonl', '--max-body', '2kb']).ready();
  }, 30_000);
  afterAll(async () => {
    if (server.child.exitCode === null) await server.stop();
  });

  it('answers ping, health and version', async () => {
    for (const path of ['/ping', '/health']) expect((await fetch(`${server.url}${path}`)).status).toBe(200);
    const version = await (await fetch(`${server.url}/version`)).json();
    expect(version).toMatchObject({ name: 'flowers', version: 1 });
    expect(version.aliases).toContain('production');
    expect(version.backend).toMatch(/^(tensorflow|wasm|cpu)$/);
  });

  it('scores every MLflow input format and CSV the same way', async () => {
    const rows = [
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.0, 5.2, 2.3],
    ];
    const records = rows.map((r) => Object.fromEntries(COLUMNS.map((c, i) => [c, r[i]])));
    const bodies = [
      { dataframe_split: { columns: COLUMNS, data: rows } },
      { dataframe_records: records },
      { instances: rows },
      { instances: records },
      { inputs: rows },
      { inputs: Object.fromEntries(COLUMNS.map((c, i) => [c, rows.map((r) => r[i])])) },
    ];
    const answers = [];
    for (const b of bodies) {
      const res = await server.post(JSON.stringify(b));
      expect(res.status, JSON.stringify(b)).toBe(200);
      answers.push((await res.json()).predictions);
    }
    const csv = await server.post(`${COLUMNS.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`, 'text/csv');
    expect(csv.status).toBe(200);
    answers.push((await csv.json()).predictions);
    expect(answers[0]).toEqual(['setosa', 'virginica']);
    for (const a of answers) expect(a).toEqual(answers[0]);
  });

  it('rejects bad input with a 4xx and a message, never a 500', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['{"dataframe_split": {"columns": ["sepal_length"], "data": [[5.1]]}}', 'application/json', 400, /column "sepal_width" is missing/],
      [JSON.stringify({ dataframe_records: [{ sepal_length: 'tall', sepal_width: 3, petal_length: 1, petal_width: 0.2 }] }), 'application/json', 400, /"sepal_length" is "tall", not a number/],
      ['{"instances": [[1, 2]]}', 'application/json', 400, /has 2 values; the model takes 4/],
      ['{"dataframe_split": ', 'application/json', 400, /malformed JSON/],
      ['{"rows": []}', 'application/json', 400, /needs one of dataframe_split, dataframe_records, instances, inputs/],
      ['[1, 2]', 'application/json', 400, /must be a JSON object/],
      ['', 'application/json', 400, /empty/],
      ['hello', 'text/plain', 415, /unsupported content type/],
      [JSON.stringify({ instances: Array.from({ length: 200 }, () => [5.1, 3.5, 1.4, 0.2]) }), 'application/json', 413, /larger than the limit of 2048 bytes/],
      ['a,b\n1', 'text/csv', 400, /CSV body/],
    ];
    for (const [body, type, status, message] of cases) {
      const res = await server.post(body, type);
      const json = await res.json();
      expect(res.status, `${body.slice(0, 40)} → ${JSON.stringify(json)}`).toBe(status);
      expect(json.message).toMatch(message);
      expect(json.error_code).toBeTypeOf('string');
    }
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  });

  it('answers any body with a prediction or a 4xx, never a 500 (property test)', async () => {
    const fresh = await new Server(['flowers:2']).ready();
    const value = fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.boolean(), fc.constantFrom(5.1, '3.5', 'setosa', ''));
    const row = fc.oneof(fc.array(value, { maxLength: 6 }), fc.dictionary(fc.constantFrom(...COLUMNS, 'species', 'x'), value));
    const structured = fc.oneof(
      fc.record({ dataframe_split: fc.oneof(fc.record({ columns: fc.array(fc.constantFrom(...COLUMNS, 'x'), { maxLength: 5 }), data: fc.array(fc.array(value, { maxLength: 5 }), { maxLength: 4 }) }), fc.jsonValue()) }),
      fc.record({ dataframe_records: fc.oneof(fc.array(row, { maxLength: 4 }), fc.jsonValue()) }),
      fc.record({ instances: fc.oneof(fc.array(row, { maxLength: 4 }), fc.jsonValue()) }),
      fc.record({ inputs: fc.oneof(fc.array(row, { maxLength: 4 }), fc.dictionary(fc.constantFrom(...COLUMNS), fc.array(value, { maxLength: 3 })), fc.jsonValue()) }),
    );
    const body = fc.oneof(
      structured.map((b) => ({ text: JSON.stringify(b), type: 'application/json' })),
      fc.jsonValue().map((b) => ({ text: JSON.stringify(b) ?? 'null', type: 'application/json' })),
      fc.string({ maxLength: 40 }).map((t) => ({ text: t, type: 'application/json' })),
      fc.string({ maxLength: 60 }).map((t) => ({ text: `${COLUMNS.join(',')}\n${t}`, type: 'text/csv' })),
    );
    try {
      await fc.assert(
        fc.asyncProperty(body, async ({ text, type }) => {
          const res = await fresh.post(text, type);
          const json = await res.json();
          if (res.status === 200) return Array.isArray(json.predictions);
          return res.status >= 400 && res.status < 500 && typeof json.message === 'string' && json.message.length > 0;
        }),
        { numRuns: Number(process.env.FC_RUNS ?? 300), seed: 7 },
      );
      expect((await fetch(`${fresh.url}/ping`)).status).toBe(200);
      expect(await (await fetch(`${fresh.url}/metrics`)).text()).not.toMatch(/reason="internal"/);
    } finally {
      await fresh.stop();
    }
  }, 60_000);

  it('exposes Prometheus metrics: requests, errors, latency histogram, predictions by class', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/mlpipe_serve_requests_total\{route="\/invocations",method="POST",status="200"\} 7/);
    expect(text).toMatch(/mlpipe_serve_errors_total\{reason="bad_request"\} \d+/);
    expect(text).toMatch(/mlpipe_serve_errors_total\{reason="payload_too_large"\} 1/);
    expect(text).toMatch(/mlpipe_serve_request_duration_seconds_bucket\{le="\+Inf",route="\/invocations"\} \d+/);
    expect(text).toMatch(/mlpipe_serve_predictions_total\{class="setosa"\} 7/);
    expect(text).toMatch(/mlpipe_serve_predictions_total\{class="virginica"\} 7/);
    expect(text).toMatch(/mlpipe_serve_rows_total 14/);
  });

  it('shuts down gracefully on SIGTERM: a request in flight is answered, then exit 143 with every scored row in the request log', async () => {
    // Half a request on a raw socket, then SIGTERM, then the rest of the body.
    const { hostname: host, port } = new URL(server.url);
    const body = JSON.stringify({ instances: [[6.7, 3.0, 5.2, 2.3]] });
    const socket = connect(Number(port), host);
    await new Promise((r) => socket.once('connect', r));
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    socket.write(`POST /invocations HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 100));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    socket.end(body.slice(10));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('{"predictions":["virginica"]}');
    expect(await server.exit).toBe(143);
    expect(server.stderr).toContain('SIGTERM: closing');
    const lines = rig.read('serve-log.jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(15);
    expect(Object.keys(lines[0]).sort()).toEqual([...COLUMNS, '_prediction', '_time'].sort());
    expect(lines[0]._prediction).toBe('setosa');
  });

  it('mlpipe/monitor reads the request log as current data', () => {
    rig.write({
      'pipelines/watch.yaml': `stages:\n  monitor:\n    uses: mlpipe/monitor\n    with: { reference: data/split/train.csv, current: serve-log.jsonl, label: species, out: metrics/serving.json }\n    deps: [data/split/, serve-log.jsonl]\n    metrics: [metrics/serving.json]\n`,
    });
    const r = rig.runJson(['watch:monitor']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(rig.read('metrics/serving.json'));
    expect(report.rows.current).toBe(15);
    expect(Object.keys(report.feature_drift)).toEqual(COLUMNS);
    expect(report.data_quality.schema).toEqual({ missing_columns: [], extra_columns: [] });
  });

  it('serves a package directory', async () => {
    const s = await new Server(['build/flowers']).ready();
    const example = rig.read('build/flowers/input_example.json');
    const res = await s.post(example);
    expect(res.status).toBe(200);
    expect((await res.json()).predictions).toHaveLength(3);
    expect(await (await fetch(`${s.url}/version`)).json()).toMatchObject({ name: 'flowers', version: 1 });
    await s.stop();
  }, 30_000);

  it('serves a regression model with a categorical column: numbers out, unknown categories refused, a summary of predicted values', async () => {
    const rows = Array.from({ length: 240 }, (_, i) => {
      const x = (i % 40) / 4;
      const city = ['north', 'south', 'east'][i % 3]!;
      return `${x},${city},${(2 * x + (city === 'north' ? 5 : city === 'south' ? -3 : 0)).toFixed(3)}`;
    });
    const reg = new Rig().write({
      'data/r.csv': `x,city,y\n${rows.join('\n')}\n`,
      'pipelines/p.yaml': `stages:\n  train:\n    uses: mlpipe/train\n    with: { train: data/r.csv, label: y, task: regression, epochs: 20, seed: 1, out: models/r }\n    deps: [data/r.csv]\n    outs: [models/r/]\n`,
    });
    try {
      expect(reg.runJson().code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'serve', 'models/r', '--port', '0'], { cwd: reg.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exit = new Promise((r) => child.on('close', r));
      const end = Date.now() + 20_000;
      while (!/ on (http:\/\/\S+) /.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      const url = / on (http:\/\/\S+) /.exec(err)![1]!;
      const post = (body: unknown) => fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const ok = await post({ dataframe_records: [{ x: 2, city: 'north' }, { x: 2, city: 'south' }] });
      expect(ok.status).toBe(200);
      const [north, south] = (await ok.json()).predictions;
      expect(typeof north).toBe('number');
      expect(north).toBeGreaterThan(south);
      const unknown = await post({ dataframe_records: [{ x: 2, city: 'west' }] });
      expect(unknown.status).toBe(400);
      expect((await unknown.json()).message).toBe('row 0: column "city" has the unknown category "west" (known: east, north, south)');
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/mlpipe_serve_prediction_value_count 2/);
      child.kill('SIGTERM');
      expect(await exit).toBe(143);
    } finally {
      reg.cleanup();
    }
  }, 60_000);

  it('a retired version is refused with the reason, and cannot be promoted', async () => {
    const r = rig.run(['models', 'retire', 'flowers@production', '--reason', 'drift on the spring batch']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('flowers:1 retired');
    const s = new Server(['flowers@production']);
    expect(await s.exit).toBe(2);
    expect(s.stderr).toContain('flowers@production → flowers:1, which is retired');
    expect(s.stderr).toContain('drift on the spring batch');
    expect(s.stderr).toContain('nothing serves a retired version');
    const promote = rig.run(['models', 'promote', 'flowers:1', 'staging']);
    expect(promote.code).toBe(2);
    expect(promote.stderr).toContain('nothing promotes a retired version');
    expect(rig.run(['models', 'list']).stdout).toMatch(/^flowers\s+1\s+\S+\s+retired/m);
    expect(rig.run(['models', 'retire', 'flowers:1']).code).toBe(2);
    const unknown = new Server(['trees@production']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr).toContain('no model named "trees" in the registry');
    const badLog = new Server(['build/flowers', '--log', 'no/such/dir/log.jsonl']);
    expect(await badLog.exit).toBe(2);
    expect(badLog.stderr).toContain('error: cannot open the request log no/such/dir/log.jsonl: ENOENT');
  }, 30_000);
});
