// The event stream of a run (and of watch mode): every reporter — plain, tty,
// json, JUnit, GitHub — is fed by the same events, and the JSON reporter
// prints them as they are. schemas/events.schema.json documents them; keep the
// two in step (a test validates every event the end-to-end tests see).
import type { Reason } from '../run/freshness.js';
import type { ConditionRecord } from '../pipeline/condition.js';

/** How a stage ended: "fresh" is a cache hit with nothing to do, "restored" a hit that put outputs back. */
/** "condition-false": its `if:` (or an upstream stage's) was false, so it was skipped; not a failure. */
export type StageOutcome = 'fresh' | 'restored' | 'ran' | 'failed' | 'skipped' | 'condition-false' | 'frozen' | 'would-run' | 'would-restore';

/** A diagnostic as events and --json documents carry it (see diagnosticJson). */
export type DiagnosticJson = Readonly<Record<string, unknown>>;

export type RunEvent =
  | { readonly type: 'run-started'; readonly runId: string; readonly stages: number; readonly jobs: number }
  | { readonly type: 'waiting-for-lock'; readonly pid: number; readonly command: string }
  | { readonly type: 'stage-queued'; readonly stage: string; readonly reasons: readonly Reason[] }
  | { readonly type: 'stage-started'; readonly stage: string; readonly reasons: readonly Reason[]; readonly attempt: number }
  | { readonly type: 'stage-output'; readonly stage: string; readonly line: string }
  | {
      readonly type: 'stage-finished';
      readonly stage: string;
      readonly outcome: StageOutcome;
      readonly reasons: readonly Reason[];
      readonly durationMs?: number;
      readonly message?: string;
      readonly tail?: readonly string[];
      readonly log?: string;
      /** Failures: the pipeline file and line that declare the stage. */
      readonly definedAt?: { readonly file: string; readonly line: number };
      /** A stage with `if:`: what its condition read and came to. */
      readonly condition?: ConditionRecord;
    }
  | { readonly type: 'run-finished'; readonly runId: string; readonly ok: boolean; readonly counts: Readonly<Record<string, number>>; readonly durationMs: number; readonly interrupted?: string }
  | { readonly type: 'diagnostics'; readonly diagnostics: readonly DiagnosticJson[] }
  | { readonly type: 'watch-started'; readonly files: number }
  | { readonly type: 'watch-change'; readonly paths: readonly string[] }
  | { readonly type: 'watch-waiting'; readonly files: number; readonly heapUsed: number }
  | { readonly type: 'metrics-changed'; readonly against: string; readonly changes: readonly MetricChange[] }
  | { readonly type: 'experiment-recorded'; readonly name: string; readonly state: 'queued' | 'done' | 'failed'; readonly commit: string; readonly base: string; readonly sets: readonly string[]; readonly failure?: string };

export interface MetricChange {
  readonly path: string;
  readonly key: string;
  readonly old: unknown;
  readonly new: unknown;
  readonly change?: number;
}

/** exp run: "recorded bs-1 (train.lr=0.1)", or "failed bs-2 (…)" with the failure indented below. */
export function experimentText(e: Extract<RunEvent, { type: 'experiment-recorded' }>, c: { red: (s: string) => string; green: (s: string) => string }): string {
  const what = e.state === 'failed' ? c.red('failed  ') : e.state === 'queued' ? 'queued  ' : c.green('recorded');
  const line = `${what} ${e.name}${e.sets.length > 0 ? ` (${e.sets.join(' ')})` : ''}`;
  return e.failure ? `${line}\n  ${e.failure.split('\n').join('\n  ')}` : line;
}

/** Watch mode: "changed: a.csv, params.yaml" (the first few, then a count). */
export function changedPathsText(paths: readonly string[]): string {
  const shown = paths.slice(0, 5);
  return `changed: ${shown.join(', ')}${paths.length > shown.length ? ` and ${paths.length - shown.length} more` : ''}`;
}

/** Most changed metrics listed after a run; the rest are counted. */
const MAX_LISTED_CHANGES = 30;

/** "metrics changed against HEAD:" and one line per metric, for the text reporters. */
export function metricsChangedLines(e: Extract<RunEvent, { type: 'metrics-changed' }>): string[] {
  const show = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
  const width = Math.max(...e.changes.map((c) => `${c.path} ${c.key}`.length));
  const lines = e.changes.slice(0, MAX_LISTED_CHANGES).map((c) => `  ${`${c.path} ${c.key}`.padEnd(width)}  ${show(c.old)} → ${show(c.new)}${c.change !== undefined ? ` (${c.change > 0 ? '+' : ''}${show(c.change)})` : ''}`);
  if (e.changes.length > MAX_LISTED_CHANGES) lines.push(`  … and ${e.changes.length - MAX_LISTED_CHANGES} more (mlpipe metrics diff ${e.against})`);
  return [`metrics changed against ${e.against}:`, ...lines];
}

export interface RunReporter {
  event(e: RunEvent): void;
  /** Called once at the end (files written, live displays cleared). */
  close?(): void;
}

/** Feeds one event stream to several reporters. */
export class Broadcast implements RunReporter {
  constructor(private readonly reporters: readonly RunReporter[]) {}

  event(e: RunEvent): void {
    for (const r of this.reporters) r.event(e);
  }

  close(): void {
    for (const r of this.reporters) r.close?.();
  }
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** The run summary line: "12 stages: 3 ran, 9 fresh in 1.2s". */
export function summaryText(e: Extract<RunEvent, { type: 'run-finished' }>): string {
  const order = ['ran', 'restored', 'fresh', 'failed', 'skipped', 'condition-false', 'frozen', 'would-run', 'would-restore'];
  const parts = order.filter((k) => (e.counts[k] ?? 0) > 0).map((k) => `${e.counts[k]} ${k === 'condition-false' ? 'skipped by condition' : k}`);
  const total = Object.values(e.counts).reduce((a, b) => a + b, 0);
  return `${total} stage${total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} in ${seconds(e.durationMs)}`;
}

/**
 * A line of stage output that is a warning: actions print `warning: …` (a
 * monitor's dataset drift with on_drift: warn, say), and any command may.
 * Reporters show these where the rest of the output is hidden (the live
 * display) and as annotations in GitHub Actions.
 */
export function warningOf(line: string): string | undefined {
  const m = /^warning: (.+)$/.exec(line);
  return m ? m[1] : undefined;
}

export function reasonsText(reasons: readonly Reason[]): string {
  return reasons.map((r) => r.message).join('; ');
}

/** What watch mode says when it starts watching and when it waits. */
export function watchText(e: Extract<RunEvent, { type: 'watch-started' | 'watch-waiting' }>): string {
  const files = `${e.files} file${e.files === 1 ? '' : 's'}`;
  return e.type === 'watch-started' ? `watching ${files}` : `waiting for changes (${files} watched)`;
}
