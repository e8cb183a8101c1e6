// Which reporters a run gets: --json / --reporter json → JSON lines; tty (the
// live display) on a terminal without CI; plain otherwise (and in GitHub
// Actions with folded groups and annotations, plus the job summary); and a
// JUnit file with --junit. All are fed by one Broadcast.
import { resolve } from 'node:path';
import { Broadcast, type RunReporter } from '../report/events.js';
import { JsonReporter } from '../report/json.js';
import { PlainReporter } from '../report/plain.js';
import type { CliContext } from './context.js';

export interface ReportingOptions {
  readonly junit?: string;
}

export async function reportersFor(ctx: CliContext, options: ReportingOptions = {}): Promise<Broadcast> {
  const reporters: RunReporter[] = [];
  const github = ctx.env.GITHUB_ACTIONS === 'true';
  const kind = ctx.json ? 'json' : (ctx.options.reporter ?? 'auto');
  const tty = kind === 'tty' || (kind === 'auto' && ctx.stderr.isTTY === true && !ctx.env.CI && !github);
  if (kind === 'json') reporters.push(new JsonReporter((s) => ctx.out(s)));
  else if (tty) {
    const { TtyReporter } = await import('../report/tty.js');
    reporters.push(new TtyReporter(ctx.stderr, ctx.colors));
  } else reporters.push(new PlainReporter((s) => ctx.out(s), (s) => ctx.log(s), ctx.colors, github));
  if (github && ctx.env.GITHUB_STEP_SUMMARY) {
    const { GithubSummaryReporter } = await import('../report/github-summary.js');
    reporters.push(new GithubSummaryReporter(ctx.env.GITHUB_STEP_SUMMARY));
  }
  if (options.junit) {
    const { JunitReporter } = await import('../report/junit.js');
    reporters.push(new JunitReporter(resolve(ctx.cwd, options.junit)));
  }
  return new Broadcast(reporters);
}
