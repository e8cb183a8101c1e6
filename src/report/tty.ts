// The live terminal display (chosen on a TTY without CI): finished stages
// scroll above a live region, redrawn with log-update, that shows a progress
// bar with done/total and one line per running stage with its elapsed time
// and its progress: the last line it printed (a built-in action's "epoch 12/100
// …"), or why it runs until it prints. A finished stage's line says briefly why
// it ran. Stage output is not streamed here, except warnings (`warning: …`
// lines); a failure shows the log's last lines; watch mode names what changed.
import { createLogUpdate } from 'log-update';
import type { Colors } from './diagnostic-text.js';
import { changedPathsText, experimentText, metricsChangedLines, reasonsText, seconds, summaryText, warningOf, watchText, type RunEvent, type RunReporter } from './events.js';
import { stageFinishedText } from './plain.js';

const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export class TtyReporter implements RunReporter {
  private readonly live: ReturnType<typeof createLogUpdate>;
  /** Running stages: when they started, why, and the last line they printed. */
  private readonly running = new Map<string, { started: number; why: string; last?: string }>();
  private total = 0;
  private done = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly c: Colors,
  ) {
    this.live = createLogUpdate(stream, { showCursor: true });
  }

  event(e: RunEvent): void {
    const c = this.c;
    switch (e.type) {
      case 'run-started':
        this.total = e.stages;
        this.done = 0;
        this.timer = setInterval(() => this.render(), REDRAW_MS);
        this.timer.unref();
        break;
      case 'waiting-for-lock':
        this.print(c.yellow(`waiting for another mlpipe on this project to finish (pid ${e.pid}: ${e.command})`));
        break;
      case 'stage-started':
        this.running.set(e.stage, { started: Date.now(), why: reasonsText(e.reasons) });
        this.render();
        break;
      case 'stage-finished': {
        this.running.delete(e.stage);
        this.done++;
        const text = stageFinishedText(e, c, true);
        if (text !== undefined) this.print(text);
        else this.render();
        break;
      }
      case 'run-finished': {
        clearInterval(this.timer);
        this.timer = undefined;
        this.running.clear();
        this.live.clear();
        const text = summaryText(e);
        this.stream.write(`${e.interrupted ? c.yellow(`interrupted by ${e.interrupted}; ${text}`) : e.ok ? c.green(text) : c.red(text)}\n`);
        break;
      }
      case 'watch-started':
        this.print(c.dim(watchText(e)));
        break;
      case 'watch-waiting':
        this.live(c.dim(watchText(e)));
        break;
      case 'watch-change':
        this.live.clear();
        if (e.paths.length > 0) this.stream.write(`${c.dim(changedPathsText(e.paths))}\n`);
        break;
      case 'stage-output': {
        const warning = warningOf(e.line);
        if (warning !== undefined) this.print(c.yellow(`⚠ ${e.stage}: ${warning}`));
        const running = this.running.get(e.stage);
        if (running && e.line.trim() !== '') running.last = e.line.trim();
        break;
      }
      case 'metrics-changed':
        this.live.clear();
        this.stream.write(`${metricsChangedLines(e).join('\n')}\n`);
        break;
      case 'experiment-recorded':
        this.live.clear();
        this.stream.write(`${experimentText(e, c)}\n`);
        break;
      case 'stage-queued':
      case 'diagnostics':
        break;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.live.done();
  }

  /** A permanent line above the live region. */
  private print(text: string): void {
    this.live.clear();
    this.stream.write(`${text}\n`);
    this.render();
  }

  private render(): void {
    if (this.total === 0 || this.timer === undefined) return;
    const filled = Math.round((this.done / this.total) * BAR_WIDTH);
    const bar = `${this.c.green('█'.repeat(filled))}${this.c.dim('░'.repeat(BAR_WIDTH - filled))}`;
    const now = Date.now();
    const lines = [`${bar} ${this.done}/${this.total} stages`];
    const width = Math.max(40, (this.stream.columns ?? 100) - 1);
    for (const [stage, r] of this.running) {
      const head = `  ▶ ${stage} ${seconds(now - r.started)}`;
      const detail = r.last ?? r.why;
      const room = width - head.length - 2;
      const shown = detail.length > room ? `${detail.slice(0, Math.max(0, room - 1))}…` : detail;
      lines.push(`  ${this.c.cyan('▶')} ${stage} ${this.c.dim(seconds(now - r.started))}${room > 8 && shown ? `  ${this.c.dim(shown)}` : ''}`);
    }
    this.live(lines.join('\n'));
  }
}
