// `--junit FILE`: the run as a JUnit XML report for CI test-report UIs — one
// testsuite per pipeline, one testcase per stage (its duration, a <failure>
// with the message and the log's last lines, or <skipped>). Written
// atomically when a run ends (in watch mode, after every run).
import { XMLBuilder } from 'fast-xml-parser';
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RunEvent, RunReporter } from './events.js';

type Finished = Extract<RunEvent, { type: 'stage-finished' }>;

/** XML 1.0 cannot carry most control characters (terminal colour codes, for one). */
function xmlText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/g, '');
}

export class JunitReporter implements RunReporter {
  private readonly stages: Finished[] = [];
  private runId = 'mlpipe';
  private durationMs = 0;

  constructor(private readonly file: string) {}

  event(e: RunEvent): void {
    if (e.type === 'stage-finished') this.stages.push(e);
    else if (e.type === 'run-started') {
      this.runId = e.runId;
      this.stages.length = 0;
    } else if (e.type === 'run-finished') {
      this.durationMs = e.durationMs;
      this.write();
    }
  }

  private write(): void {
    const byPipeline = new Map<string, Finished[]>();
    for (const s of this.stages) {
      const pipeline = s.stage.includes(':') ? s.stage.slice(0, s.stage.indexOf(':')) : s.stage;
      byPipeline.set(pipeline, [...(byPipeline.get(pipeline) ?? []), s]);
    }
    const secs = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);
    const testsuite = [...byPipeline].map(([pipeline, stages]) => ({
      '@_name': pipeline,
      '@_tests': stages.length,
      '@_failures': stages.filter((s) => s.outcome === 'failed').length,
      '@_errors': 0,
      '@_skipped': stages.filter((s) => s.outcome === 'skipped' || s.outcome === 'condition-false').length,
      '@_time': secs(stages.reduce((a, s) => a + (s.durationMs ?? 0), 0)),
      testcase: stages.map((s) => {
        const name = s.stage.slice(pipeline.length + 1) || s.stage;
        const base = { '@_name': name, '@_classname': pipeline, '@_time': secs(s.durationMs) };
        if (s.outcome === 'failed') {
          const text = [...(s.tail ?? []), ...(s.log ? [`full log: ${s.log}`] : [])].join('\n');
          return { ...base, failure: { '@_message': xmlText(s.message ?? 'failed'), '@_type': 'StageFailed', '#text': xmlText(text) } };
        }
        if (s.outcome === 'skipped' || s.outcome === 'condition-false') return { ...base, skipped: { '@_message': xmlText(s.message ?? 'skipped') } };
        return { ...base, 'system-out': { '#text': xmlText(`${s.outcome}${s.reasons.length ? `: ${s.reasons.map((r) => r.message).join('; ')}` : ''}`) } };
      }),
    }));
    const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });
    const body = builder.build({
      testsuites: {
        '@_name': `mlpipe run ${this.runId}`,
        '@_tests': this.stages.length,
        '@_failures': this.stages.filter((s) => s.outcome === 'failed').length,
        '@_time': secs(this.durationMs),
        testsuite,
      },
    }) as string;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomic(this.file, `<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  }
}
