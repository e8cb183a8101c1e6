// GitHub Actions job summary: when a run ends, a Markdown table of its stages
// (status, duration, why it ran) and the cache hits is appended to the file
// $GITHUB_STEP_SUMMARY names.
import { appendFileSync } from 'node:fs';
import { reasonsText, seconds, summaryText, type RunEvent, type RunReporter } from './events.js';

type Finished = Extract<RunEvent, { type: 'stage-finished' }>;

const STATUS: Record<string, string> = {
  ran: '✅ ran',
  restored: '♻️ restored from cache',
  fresh: '✔️ fresh (cached)',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
  'condition-false': '⏭️ skipped (if false)',
  frozen: '🧊 frozen',
  'would-run': '▶️ would run',
  'would-restore': '♻️ would restore',
};

/** A table cell: no newlines, no unescaped pipes. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export class GithubSummaryReporter implements RunReporter {
  private readonly stages: Finished[] = [];

  constructor(private readonly file: string) {}

  event(e: RunEvent): void {
    if (e.type === 'metrics-changed') {
      const show = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
      this.append([
        `#### Metrics changed against ${cell(e.against)}`,
        '',
        '| path | metric | before | after | change |',
        '| --- | --- | ---: | ---: | ---: |',
        ...e.changes.map((c) => `| ${cell(c.path)} | ${cell(c.key)} | ${show(c.old)} | ${show(c.new)} | ${c.change === undefined ? '' : `${c.change > 0 ? '+' : ''}${Number(c.change.toPrecision(6))}`} |`),
        '',
      ]);
      return;
    }
    if (e.type === 'stage-finished') this.stages.push(e);
    if (e.type !== 'run-finished') return;
    const hits = this.stages.filter((s) => s.outcome === 'fresh' || s.outcome === 'restored').length;
    const lines = [
      `### mlpipe run ${e.ok ? 'succeeded' : e.interrupted ? `interrupted (${e.interrupted})` : 'failed'}`,
      '',
      `${summaryText(e)} · cache hits: ${hits} of ${this.stages.length}`,
      '',
      '| stage | status | duration | why |',
      '| --- | --- | ---: | --- |',
      ...this.stages.map((s) => `| ${cell(s.stage)} | ${STATUS[s.outcome] ?? s.outcome} | ${seconds(s.durationMs)} | ${cell(s.outcome === 'failed' || s.outcome === 'skipped' || s.outcome === 'condition-false' ? (s.message ?? '') : reasonsText(s.reasons))} |`),
      '',
    ];
    this.append(lines);
    this.stages.length = 0;
  }

  private append(lines: readonly string[]): void {
    try {
      appendFileSync(this.file, `${lines.join('\n')}\n`);
    } catch {
      // A summary is a courtesy: never fail the run for it.
    }
  }
}
