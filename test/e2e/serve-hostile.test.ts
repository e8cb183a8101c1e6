// Issue 13, one request cannot take `mlpipe serve` down: a body whose records
// bring thousands of distinct keys, a deeply nested cell, CONNECT requests,
// slow-drip and idle clients, too many connections, too many or zero rows.
// Meanwhile /ping keeps answering quickly, nothing is a 5xx, memory stays bounded.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_CSV, IRIS_SPLIT_STAGE, Rig, ServeProcess } from '../rig.js';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

const rig = new Rig().write({
  'data/iris.csv': IRIS_CSV,
  'pipelines/p.yaml': `stages:
${IRIS_SPLIT_STAGE}  train:
    uses: mlpipe/train
    with: { train: data/split/train.csv, label: species, epochs: 3, seed: 1, out: models/m }
    deps: [data/split/]
    outs: [models/m/]
`,
});
let server: ServeProcess;

beforeAll(async () => {
  const r = rig.runJson();
  expect(r.code, r.stderr).toBe(0);
  server = await new ServeProcess(rig.dir, ['models/m', '--request-timeout', '2', '--max-connections', '40']).ready();
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rig.cleanup();
});

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1]) / 1024;

/** Pings every 20 ms while `work` runs; the slowest ping's latency in ms. */
async function slowestPingDuring(work: Promise<unknown>): Promise<number> {
  let done = false;
  let slowest = 0;
  void work.finally(() => (done = true));
  while (!done) {
    const t = performance.now();
    const res = await fetch(`${server.url}/ping`);
    expect(res.status).toBe(200);
    slowest = Math.max(slowest, performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  return slowest;
}

/** A raw connection: what the server sends back, and when it closes it. */
function rawClient(): { socket: Socket; received: () => string; closed: Promise<number> } {
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  let data = '';
  const started = Date.now();
  socket.on('data', (d) => (data += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  return { socket, received: () => data, closed };
}

describe('serve under hostile requests', () => {
  it('a dataframe_records body whose 6,000 records each bring 20 new keys is answered quickly; /ping stays responsive', async () => {
    const rssBefore = rssMb();
    const records = (withColumns: boolean) =>
      Array.from({ length: 6000 }, (_, i) => ({
        ...(withColumns ? Object.fromEntries(COLUMNS.map((c) => [c, 1 + (i % 5)])) : {}),
        ...Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`junk_${i}_${k}`, k])),
      }));
    const scored = server.post(JSON.stringify({ dataframe_records: records(true) }));
    const slowest = await slowestPingDuring(scored);
    const res = await scored;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { predictions: string[] }).predictions).toHaveLength(6000);
    expect(slowest).toBeLessThan(200);
    const junk = server.post(JSON.stringify({ dataframe_records: records(false).slice(0, 5000) }));
    expect(await slowestPingDuring(junk)).toBeLessThan(200);
    const bad = await junk;
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/row 0: column "sepal_length" is missing/);
    expect(rssMb() - rssBefore).toBeLessThan(300);
  }, 60_000);

  it('more rows than --max-rows is a 413, zero rows a 400', async () => {
    const row = Object.fromEntries(COLUMNS.map((c) => [c, 1]));
    const many = await server.post(JSON.stringify({ dataframe_records: Array.from({ length: 10_001 }, () => row) }));
    expect(many.status).toBe(413);
    expect(((await many.json()) as { message: string }).message).toMatch(/10001 rows; this server scores at most 10000 per request \(mlpipe serve --max-rows\)/);
    for (const body of ['{"instances": []}', '{"dataframe_split": {"columns": [], "data": []}}', '{"inputs": {}}']) {
      const res = await server.post(body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe('the request has no rows to score');
    }
    const csv = await server.post(`${COLUMNS.join(',')}\n`, 'text/csv');
    expect(csv.status).toBe(400);
  });

  it('a cell of 10,000 nested lists is a 400 with a short message, not a 500', async () => {
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    for (const body of [`{"instances": [{"sepal_length": ${deep}, "sepal_width": 1, "petal_length": 1, "petal_width": 1}]}`, `{"instances": [[${deep}, 1, 1, 1]]}`]) {
      const res = await server.post(body);
      expect(res.status).toBe(400);
      const { message } = (await res.json()) as { message: string };
      expect(message).toBe('row 0: column "sepal_length" is a list of 1, not a number (type double)');
    }
  });

  it('CONNECT requests are answered 405 and closed', async () => {
    const clients = Array.from({ length: 10 }, () => rawClient());
    for (const c of clients) c.socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    const times = await Promise.all(clients.map((c) => c.closed));
    for (const c of clients) expect(c.received()).toMatch(/^HTTP\/1\.1 405 /);
    expect(Math.max(...times)).toBeLessThan(2000);
  });

  it('slow-drip and silent clients are closed after --request-timeout; a connection limit holds', async () => {
    const drip = Array.from({ length: 10 }, () => rawClient());
    const timer = setInterval(() => {
      for (const c of drip) if (!c.socket.destroyed) c.socket.write('x');
    }, 300);
    for (const c of drip) c.socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const silent = Array.from({ length: 10 }, () => rawClient());
    try {
      const closedAfter = await Promise.all([...drip, ...silent].map((c) => c.closed));
      expect(Math.max(...closedAfter)).toBeLessThan(6000);
    } finally {
      clearInterval(timer);
    }
    // 60 connections against a limit of 40: the extra ones are closed at once, and the server still answers.
    const crowd = Array.from({ length: 60 }, () => rawClient());
    await new Promise((r) => setTimeout(r, 500));
    const open = crowd.filter((c) => !c.socket.destroyed).length;
    expect(open).toBeLessThanOrEqual(40);
    for (const c of crowd) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
  }, 30_000);
});
