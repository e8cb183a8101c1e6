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
      ...this.stages.map((s) => `| ${cell(s.stage)} | ${STATUS[s.outcome] ?? s.outcome} | ${seconds(s.durationMs)} | ${cell(s.outcome === 'failed' || s.outcome === 'skipped' ? (s.message ?? '') : reasonsText(s.reasons))} |`),
      '',
    ];
    try {
      appendFileSync(this.file, `${lines.join('\n')}\n`);
    } catch {
      // A summary is a courtesy: never fail the run for it.
    }
    this.stages.length = 0;
  }
}
