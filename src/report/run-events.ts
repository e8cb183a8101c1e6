// The events of a run, and the reporters that turn them into output: plain
// lines on stderr (stage output on stdout, prefixed by the stage name), or JSON
// lines on stdout. Every reporter is fed by the same event stream.
import type { Reason } from '../run/freshness.js';

export type StageOutcome = 'fresh' | 'restored' | 'ran' | 'failed' | 'skipped' | 'frozen' | 'would-run' | 'would-restore';

export type RunEvent =
  | { readonly type: 'run-started'; readonly runId: string; readonly stages: number; readonly jobs: number }
  | { readonly type: 'waiting-for-lock'; readonly pid: number; readonly command: string }
  | { readonly type: 'stage-started'; readonly stage: string; readonly reasons: readonly Reason[]; readonly attempt: number }
  | { readonly type: 'stage-output'; readonly stage: string; readonly line: string }
  | { readonly type: 'stage-finished'; readonly stage: string; readonly outcome: StageOutcome; readonly reasons: readonly Reason[]; readonly durationMs?: number; readonly message?: string; readonly tail?: readonly string[]; readonly log?: string }
  | { readonly type: 'run-finished'; readonly runId: string; readonly ok: boolean; readonly counts: Readonly<Record<string, number>>; readonly durationMs: number; readonly interrupted?: string };

export interface RunReporter {
  event(e: RunEvent): void;
}

type Colors = { red(s: string): string; green(s: string): string; yellow(s: string): string; dim(s: string): string; cyan(s: string): string; bold(s: string): string };

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export class PlainReporter implements RunReporter {
  constructor(
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
    private readonly c: Colors,
  ) {}

  event(e: RunEvent): void {
    const c = this.c;
    switch (e.type) {
      case 'run-started':
        break;
      case 'waiting-for-lock':
        this.err(c.yellow(`waiting for another mlpipe on this project to finish (pid ${e.pid}: ${e.command})`));
        break;
      case 'stage-started':
        this.err(`${c.cyan('▶')} ${e.stage}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}: ${e.reasons.map((r) => r.message).join('; ')}`);
        break;
      case 'stage-output':
        this.out(`${c.dim(`[${e.stage}]`)} ${e.line}`);
        break;
      case 'stage-finished':
        switch (e.outcome) {
          case 'ran':
            this.err(`${c.green('✓')} ${e.stage} ${c.dim(seconds(e.durationMs))}`);
            break;
          case 'restored':
            this.err(`${c.green('↺')} ${e.stage}: restored from cache (${e.message ?? e.reasons.map((r) => r.message).join('; ')})`);
            break;
          case 'fresh':
          case 'frozen':
            break; // counted in the summary; a line each would drown what changed

          case 'skipped':
            this.err(`${c.yellow('⊘')} ${e.stage}: skipped, ${e.message ?? ''}`);
            break;
          case 'would-run':
            this.err(`${c.cyan('▶')} ${e.stage}: would run: ${e.reasons.map((r) => r.message).join('; ')}`);
            break;
          case 'would-restore':
            this.err(`${c.green('↺')} ${e.stage}: would restore from cache: ${e.reasons.map((r) => r.message).join('; ')}`);
            break;
          case 'failed': {
            const lines = [`${c.red('✗')} ${c.bold(e.stage)} failed: ${e.message ?? ''}`];
            if (e.tail && e.tail.length > 0) lines.push(...e.tail.map((l) => `  ${c.dim('│')} ${l}`));
            if (e.log) lines.push(`  full log: ${e.log}`);
            this.err(lines.join('\n'));
            break;
          }
        }
        break;
      case 'run-finished': {
        const order = ['ran', 'restored', 'fresh', 'failed', 'skipped', 'frozen', 'would-run', 'would-restore'];
        const parts = order.filter((k) => (e.counts[k] ?? 0) > 0).map((k) => `${e.counts[k]} ${k}`);
        const total = Object.values(e.counts).reduce((a, b) => a + b, 0);
        const text = `${total} stage${total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} in ${seconds(e.durationMs)}`;
        this.err(e.interrupted ? c.yellow(`interrupted by ${e.interrupted}; ${text}`) : e.ok ? text : c.red(text));
        break;
      }
    }
  }
}

export class JsonReporter implements RunReporter {
  constructor(private readonly out: (s: string) => void) {}

  event(e: RunEvent): void {
    this.out(JSON.stringify({ ...e, time: new Date().toISOString() }));
  }
}
