// The plain reporter: line-oriented, no escape codes beyond optional colour.
// Progress and results on stderr, stage output on stdout prefixed by the stage
// name. In GitHub Actions each stage's output is held back and printed folded
// in a ::group:: when the stage ends (parallel stages would interleave the
// groups otherwise), failures become ::error annotations and warning lines
// (`warning: …`) ::warning annotations.
import type { Colors } from './diagnostic-text.js';
import { escapeData, escapeProperty } from './diagnostic-text.js';
import { changedPathsText, experimentText, metricsChangedLines, reasonsText, seconds, summaryText, warningOf, watchText, type RunEvent, type RunReporter } from './events.js';

export class PlainReporter implements RunReporter {
  /** Output held until its stage ends (GitHub Actions: all; else: every stage but the one streaming). */
  private readonly held = new Map<string, string[]>();
  /** The stage whose output is printed as it comes. */
  private streaming: string | undefined;

  constructor(
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
    private readonly c: Colors,
    private readonly github = false,
  ) {}

  event(e: RunEvent): void {
    const c = this.c;
    switch (e.type) {
      case 'run-started':
      case 'stage-queued':
        break;
      case 'watch-change':
        if (e.paths.length > 0) this.err(c.dim(changedPathsText(e.paths)));
        break;
      case 'waiting-for-lock':
        this.err(c.yellow(`waiting for another mlpipe on this project to finish (pid ${e.pid}: ${e.command})`));
        break;
      case 'stage-started':
        this.err(`${c.cyan('▶')} ${e.stage}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}: ${reasonsText(e.reasons)}`);
        break;
      case 'stage-output':
        // One stage streams at a time; the others' lines are held and printed as a block, never interleaved.
        if (!this.github && (this.streaming === undefined || this.streaming === e.stage)) {
          this.streaming = e.stage;
          this.out(`${c.dim(`[${e.stage}]`)} ${e.line}`);
        } else {
          const lines = this.held.get(e.stage) ?? [];
          lines.push(e.line);
          this.held.set(e.stage, lines);
        }
        break;
      case 'stage-finished':
        if (this.github) this.flushGroup(e.stage);
        else this.flushHeld(e.stage);
        this.finished(e);
        break;
      case 'run-finished': {
        const text = summaryText(e);
        this.err(e.interrupted ? c.yellow(`interrupted by ${e.interrupted}; ${text}`) : e.ok ? text : c.red(text));
        break;
      }
      case 'diagnostics':
        break; // printed by the command as text (see CliContext.report)
      case 'metrics-changed':
        for (const line of metricsChangedLines(e)) this.err(line);
        break;
      case 'experiment-recorded':
        this.err(experimentText(e, c));
        break;
      case 'watch-started':
      case 'watch-waiting':
        this.err(c.dim(watchText(e)));
        break;
    }
  }

  /** A finished stage: its held lines as one block; if it was streaming, the next stage with held lines streams. */
  private flushHeld(stage: string): void {
    const print = (id: string, lines: readonly string[]) => {
      for (const line of lines) this.out(`${this.c.dim(`[${id}]`)} ${line}`);
    };
    print(stage, this.held.get(stage) ?? []);
    this.held.delete(stage);
    if (this.streaming !== stage) return;
    this.streaming = undefined;
    const next = this.held.keys().next();
    if (next.done) return;
    this.streaming = next.value;
    print(next.value, this.held.get(next.value)!);
    this.held.delete(next.value);
  }

  private flushGroup(stage: string): void {
    const lines = this.held.get(stage);
    if (!lines) return;
    this.held.delete(stage);
    this.out(`::group::${escapeData(stage)}`);
    for (const line of lines) this.out(line);
    this.out('::endgroup::');
    for (const line of lines) {
      const warning = warningOf(line);
      if (warning !== undefined) this.err(`::warning title=${escapeProperty(`mlpipe: ${stage}`)}::${escapeData(warning)}`);
    }
  }

  private finished(e: Extract<RunEvent, { type: 'stage-finished' }>): void {
    const text = stageFinishedText(e, this.c);
    if (text !== undefined) this.err(text);
    if (this.github && e.outcome === 'failed') {
      const body = [`stage ${e.stage} failed: ${e.message ?? ''}`, ...(e.tail ?? []).slice(-10)].join('\n');
      const where = e.definedAt ? `file=${escapeProperty(e.definedAt.file)},line=${e.definedAt.line},` : '';
      this.err(`::error ${where}title=${escapeProperty(`mlpipe: ${e.stage} failed`)}::${escapeData(body)}`);
    }
  }
}

/** Why a stage ran, cut to fit one line beside its name. */
function briefly(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The line(s) a finished stage gets in text output; none for fresh and frozen (the summary counts them). */
export function stageFinishedText(e: Extract<RunEvent, { type: 'stage-finished' }>, c: Colors, why = false): string | undefined {
  switch (e.outcome) {
    case 'ran':
      return `${c.green('✓')} ${e.stage} ${c.dim(seconds(e.durationMs))}${why && e.reasons.length > 0 ? c.dim(` (${briefly(reasonsText(e.reasons))})`) : ''}`;
    case 'restored':
      return `${c.green('↺')} ${e.stage}: restored from cache (${e.message ?? reasonsText(e.reasons)})`;
    case 'fresh':
    case 'frozen':
      return undefined;
    case 'skipped':
      return `${c.yellow('⊘')} ${e.stage}: skipped, ${e.message ?? ''}`;
    case 'condition-false':
      return `${c.dim('○')} ${e.stage}: skipped, ${e.message ?? reasonsText(e.reasons)}`;
    case 'would-run':
      return `${c.cyan('▶')} ${e.stage}: would run: ${reasonsText(e.reasons)}`;
    case 'would-restore':
      return `${c.green('↺')} ${e.stage}: would restore from cache: ${reasonsText(e.reasons)}`;
    case 'failed': {
      const lines = [`${c.red('✗')} ${c.bold(e.stage)} failed: ${e.message ?? ''}`];
      if (e.tail && e.tail.length > 0) lines.push(...e.tail.map((l) => `  ${c.dim('│')} ${l}`));
      if (e.log) lines.push(`  full log: ${e.log}`);
      return lines.join('\n');
    }
  }
}
