// Conditional stages (`if:`) through the CLI: skipped stages and their
// downstream in events, status and the lock file; a skip that is cached like a
// run; a condition's value change reruns exactly what it gates; located
// diagnostics for bad conditions; a missing metric fails the stage.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const MONITOR = `import fs from 'node:fs';
fs.writeFileSync('metrics/monitor.json', JSON.stringify({ drift_share: Number(fs.readFileSync('data/batch.txt', 'utf8')), dataset_drift: Number(fs.readFileSync('data/batch.txt', 'utf8')) > 0.5 }));
`;

const PIPELINE = `stages:
  monitor:
    cmd: node monitor.mjs
    deps: [monitor.mjs, data/batch.txt]
    metrics: [metrics/monitor.json]
  retrain:
    if: \${stages.monitor.metrics.drift_share} > \${loop.threshold} && \${loop.enabled}
    cmd: node -e "require('fs').writeFileSync('model.txt', 'trained on ' + require('fs').readFileSync('data/batch.txt', 'utf8'))"
    deps: [data/batch.txt]
    outs: [model.txt]
  deploy:
    cmd: cp model.txt deployed.txt
    deps: [model.txt]
    outs: [deployed.txt]
  report:
    cmd: cp metrics/monitor.json report.json
    deps: [metrics/monitor.json]
    outs: [report.json]
`;

let rig: Rig;
afterEach(() => rig?.cleanup());

function project(batch: string, threshold = 0.3): Rig {
  rig = new Rig().write({
    'monitor.mjs': MONITOR,
    'data/batch.txt': batch,
    'params.yaml': `loop:\n  threshold: ${threshold}\n  enabled: true\n`,
    'pipelines/loop.yaml': PIPELINE,
  });
  return rig;
}

describe('if: conditions', () => {
  it('skips the stage and its downstream when false, records the skip, and does nothing on a no-op', () => {
    project('0.1');
    const first = rig.runJson();
    expect(first.code).toBe(0);
    expect(first.outcomes).toEqual({ 'loop:monitor': 'ran', 'loop:retrain': 'condition-false', 'loop:deploy': 'condition-false', 'loop:report': 'ran' });
    const skip = first.events.find((e) => e.type === 'stage-finished' && e.stage === 'loop:retrain')!;
    expect(skip.condition).toEqual({ expr: '${stages.monitor.metrics.drift_share} > ${loop.threshold} && ${loop.enabled}', values: { 'stages.monitor.metrics.drift_share': 0.1, 'loop.threshold': 0.3, 'loop.enabled': true }, result: false });
    expect(String(skip.message)).toContain('stages.monitor.metrics.drift_share = 0.1');
    expect(rig.exists('model.txt')).toBe(false);
    const lock = rig.read('pipelines/loop.lock');
    expect(lock).toMatch(/retrain:[\s\S]*if:[\s\S]*result: false[\s\S]*stages.monitor.metrics.drift_share: 0.1/);

    // status shows the skip with its values; nothing is stale.
    const status = rig.run(['status', '--json']);
    const stages = JSON.parse(status.stdout).stages as { id: string; status: string; reasons: string[] }[];
    expect(stages.find((s) => s.id === 'loop:retrain')).toMatchObject({ status: 'skipped' });
    expect(stages.find((s) => s.id === 'loop:deploy')!.reasons).toEqual(['upstream loop:retrain skipped by its condition']);
    expect(rig.run(['status', '--check']).code).toBe(0);

    // A no-op writes nothing: the lock file is not rewritten.
    const before = statSync(join(rig.dir, 'pipelines/loop.lock')).mtimeMs;
    const again = rig.runJson();
    expect(again.outcomes).toEqual({ 'loop:monitor': 'fresh', 'loop:retrain': 'condition-false', 'loop:deploy': 'condition-false', 'loop:report': 'fresh' });
    expect(statSync(join(rig.dir, 'pipelines/loop.lock')).mtimeMs).toBe(before);
    expect(rig.run(['run', '--frozen']).code).toBe(0);

    // Plain text names the condition and its values.
    const plain = rig.run(['run', '--reporter', 'plain']);
    expect(plain.stderr).toContain('loop:retrain: skipped, condition false: if ${stages.monitor.metrics.drift_share} > ${loop.threshold} && ${loop.enabled} (stages.monitor.metrics.drift_share = 0.1, loop.threshold = 0.3, loop.enabled = true)');
    expect(plain.stderr).toContain('2 skipped by condition');
  });

  it('runs what the condition gates once it is true, and a value change reruns exactly that', () => {
    project('0.1');
    rig.runJson();
    rig.write({ 'data/batch.txt': '0.6' });
    const drifted = rig.runJson();
    expect(drifted.outcomes).toEqual({ 'loop:monitor': 'ran', 'loop:retrain': 'ran', 'loop:deploy': 'ran', 'loop:report': 'ran' });
    const started = drifted.events.find((e) => e.type === 'stage-started' && e.stage === 'loop:retrain')!;
    expect(JSON.stringify(started.reasons)).toContain('condition now true');
    expect(rig.read('deployed.txt')).toBe('trained on 0.6');

    // The threshold param gates the stage: raising it above the drift skips retrain (and deploy), nothing else.
    rig.write({ 'params.yaml': 'loop:\n  threshold: 0.7\n  enabled: true\n' });
    const raised = rig.runJson();
    expect(raised.outcomes).toEqual({ 'loop:monitor': 'fresh', 'loop:retrain': 'condition-false', 'loop:deploy': 'condition-false', 'loop:report': 'fresh' });
    expect(rig.read('deployed.txt')).toBe('trained on 0.6'); // outputs of the earlier run are left alone

    // Back to the earlier value: the run is restored from the run-cache, not run again.
    rig.write({ 'params.yaml': 'loop:\n  threshold: 0.3\n  enabled: true\n' });
    const back = rig.runJson();
    expect(back.outcomes['loop:retrain']).toBe('restored');
    expect(back.outcomes['loop:deploy']).toBe('fresh');
  });

  it('plans a condition whose metrics are still to change as decided after them', () => {
    project('0.1');
    rig.runJson();
    rig.write({ 'data/batch.txt': '0.9' });
    const dry = rig.run(['status']);
    expect(dry.stdout).toMatch(/loop:retrain\s+stale: if \$\{stages.monitor.metrics.drift_share\} > \$\{loop.threshold\} && \$\{loop.enabled\}: decided after loop:monitor runs/);
  });

  it('fails the stage, naming the file and key, when the metric is missing at run time', () => {
    project('0.1');
    rig.write({ 'pipelines/loop.yaml': PIPELINE.replace('metrics.drift_share}', 'metrics.drift_shares}') });
    const r = rig.run(['run', '--reporter', 'plain']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('loop:retrain failed: condition ${stages.monitor.metrics.drift_shares} > ${loop.threshold} && ${loop.enabled}: metrics/monitor.json (of loop:monitor) has no metric "drift_shares" — did you mean "drift_share"?');
  });

  it('reads a boolean metric, and rejects a number used as a condition at run time', () => {
    project('0.9');
    rig.write({ 'pipelines/loop.yaml': PIPELINE.replace(/if: .*/, 'if: ${stages.monitor.metrics.dataset_drift}') });
    expect(rig.runJson().outcomes['loop:retrain']).toBe('ran');
    rig.write({ 'pipelines/loop.yaml': PIPELINE.replace(/if: .*/, 'if: ${stages.monitor.metrics.drift_share}') });
    const r = rig.run(['run', '--reporter', 'plain']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is 0.9, not true or false');
  });

  it('rejects bad conditions before anything runs, located, with suggestions', () => {
    project('0.1');
    const cases: [string, RegExp][] = [
      ['${stages.monitr.metrics.drift_share} > 0.3', /loop.yaml:7:9: error: \$\{stages.monitr.metrics.drift_share\}: pipeline "loop" has no stage "monitr" — did you mean "monitor"\?/],
      ['${stages.deploy.metrics.x} > 0.3', /error: \$\{stages.deploy.metrics.x\}: stage loop:deploy declares no metrics file[\s\S]*suggestion: stages with metrics files: monitor; or list deploy's metrics file under its "metrics:"/],
      ['${loop.treshold} > 0.3', /loop.yaml:7:9: error: "loop" has no key "treshold" — did you mean "threshold"\?/],
      ['${loop.threshold} + 1', /error: the condition is a number, not true or false/],
      ['${loop.threshold} > "high"', /error: ">" compares two numbers or two strings, but \$\{loop.threshold\} is a number and "high" is a string/],
      ['${stages.monitor.metrics.drift_share} > 0.3 &&', /loop.yaml:7:54: error: cannot parse the condition: Expected expression after &&/],
      ['threshold > 1', /error: "threshold" is not something a condition can read[\s\S]*suggestion: write \$\{threshold\}/],
      ['process.exit(1)', /error: function calls cannot be used in a condition/],
    ];
    for (const [i, [condition, expected]] of cases.entries()) {
      rig.write({ 'pipelines/loop.yaml': PIPELINE.replace(/if: .*/, `if: ${condition}`) });
      const r = rig.run(['validate']);
      expect(r.code, condition).toBe(2);
      expect(r.stderr, condition).toMatch(expected);
      if (i === 0) expect(rig.run(['run']).code, condition).toBe(2);
    }
    expect(rig.exists('.mlpipe/runs')).toBe(false);
  });

  it('draws conditional edges in dag output', () => {
    project('0.1');
    const dot = rig.run(['dag', '--format', 'dot']).stdout;
    expect(dot).toContain('"loop:monitor" -> "loop:retrain" [style=dashed, label="if"];');
    const mermaid = rig.run(['dag', '--format', 'mermaid']).stdout;
    expect(mermaid).toMatch(/s0 -\. if \.-> s1/);
    const json = JSON.parse(rig.run(['dag', '--format', 'json']).stdout) as { stages: { id: string; if?: string }[]; edges: { from: string; to: string; via: unknown[] }[] };
    expect(json.stages.find((s) => s.id === 'loop:retrain')!.if).toContain('drift_share');
    expect(json.edges.find((e) => e.to === 'loop:retrain')!.via).toEqual([{ condition: 'stages.monitor.metrics.drift_share' }]);
  });
});
