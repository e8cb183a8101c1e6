// Runs the experiments of one `exp run` together: each in its own working
// copy with its own engine, all sharing one pool of --jobs capacity and one
// table of the stage keys being executed. A stage whose key is the same in
// several experiments therefore runs once — the others wait for it and then
// restore its outputs from the shared run-cache — and stages of different
// experiments run side by side. Events are forwarded with the experiment's
// name in front of each stage ("exp-1/iris:train").
import { join } from 'node:path';
import { analyze } from '../analysis.js';
import { selectStages } from '../graph/select.js';
import { hasErrors } from '../pipeline/diagnostic.js';
import { ParseCache } from '../pipeline/parse-cache.js';
import { STATE_DIR } from '../pipeline/project.js';
import type { RunEvent, RunReporter } from '../report/events.js';
import { formatDiagnostic } from '../report/diagnostic-text.js';
import { Engine, KeyGate, Resources, type RunSummary } from '../run/engine.js';
import { openState } from '../run/state.js';
import type { WorkingCopy } from './working-copy.js';
import pc from 'picocolors';

export interface PreparedExperiment {
  readonly name: string;
  readonly copy: WorkingCopy;
}

export interface ExperimentResult {
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed: the failed stage and its message, or the diagnostics that kept it from running. */
  readonly failure?: string;
  readonly summary?: RunSummary;
}

/** Prefixes stage ids with the experiment's name; the runner reports the run's start and end itself. */
class ExperimentReporter implements RunReporter {
  constructor(
    private readonly name: string,
    private readonly inner: RunReporter,
  ) {}

  event(e: RunEvent): void {
    if (e.type === 'run-started' || e.type === 'run-finished') return;
    this.inner.event('stage' in e ? ({ ...e, stage: `${this.name}/${e.stage}` } as RunEvent) : e);
  }
}

export interface RunExperimentsOptions {
  readonly projectRoot: string;
  readonly targets: readonly string[];
  readonly jobs: number;
  readonly argv: readonly string[];
  readonly reporter: RunReporter;
  /** Called with a function that interrupts every engine (Ctrl-C). */
  readonly onInterrupt?: (interrupt: (signal: NodeJS.Signals) => void) => void;
}

export async function runExperiments(experiments: readonly PreparedExperiment[], o: RunExperimentsOptions): Promise<{ results: ExperimentResult[]; interrupted?: NodeJS.Signals }> {
  const shared = { resources: new Resources(o.jobs, Math.max(1, Number(process.env.MLPIPE_GPUS ?? 1))), gate: new KeyGate() };
  const historyDir = join(o.projectRoot, STATE_DIR);
  const engines: Engine[] = [];
  let interrupted: NodeJS.Signals | undefined;
  o.onInterrupt?.((signal) => {
    interrupted ??= signal;
    for (const e of engines) e.interrupt(signal);
  });
  const started = Date.now();
  const planned: { exp: PreparedExperiment; engine?: Engine; failure?: string }[] = [];
  let stages = 0;
  for (const exp of experiments) {
    const analysis = analyze(exp.copy.root, undefined, undefined, ParseCache.none());
    const selection = analysis.graph ? selectStages(analysis.graph, o.targets, 'upstream') : undefined;
    const problems = [...analysis.diagnostics, ...(selection?.diagnostics ?? [])];
    if (!analysis.graph || !selection || hasErrors(problems)) {
      const noColor = pc.createColors(false);
      planned.push({ exp, failure: problems.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, noColor)).join('\n') });
      continue;
    }
    const state = await openState(exp.copy.root, analysis.pipelines, ParseCache.none(), o.projectRoot);
    const engine = new Engine(exp.copy.root, analysis.graph, selection.ids, state, new ExperimentReporter(exp.name, o.reporter), {
      jobs: o.jobs,
      force: false,
      forced: new Set(),
      keepGoing: false,
      argv: o.argv,
      shared,
      historyDir,
      experiment: exp.name,
    });
    engines.push(engine);
    stages += selection.ids.length;
    planned.push({ exp, engine });
  }
  o.reporter.event({ type: 'run-started', runId: engines[0]?.runId ?? 'exp', stages, jobs: o.jobs });
  if (interrupted) for (const e of engines) e.interrupt(interrupted);
  const results = await Promise.all(
    planned.map(async ({ exp, engine, failure }): Promise<ExperimentResult> => {
      if (!engine) return { name: exp.name, ok: false, failure: failure ?? 'invalid' };
      const summary = await engine.run();
      const failed = summary.stages.find((s) => s.outcome === 'failed');
      return {
        name: exp.name,
        ok: summary.ok,
        summary,
        ...(summary.ok ? {} : { failure: failed ? `${failed.id} failed: ${failed.message ?? ''}` : summary.interrupted ? `interrupted by ${summary.interrupted}` : 'stages were skipped' }),
      };
    }),
  );
  const counts: Record<string, number> = {};
  for (const r of results) for (const s of r.summary?.stages ?? []) counts[s.outcome] = (counts[s.outcome] ?? 0) + 1;
  o.reporter.event({ type: 'run-finished', runId: engines[0]?.runId ?? 'exp', ok: results.every((r) => r.ok), counts, durationMs: Date.now() - started, ...(interrupted ? { interrupted } : {}) });
  return { results, ...(interrupted ? { interrupted } : {}) };
}
