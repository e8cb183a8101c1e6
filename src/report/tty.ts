// The live terminal display (chosen on a TTY without CI): finished stages
// scroll above a live region, redrawn with log-update, that shows a progress
// bar with done/total and one line per running stage with its elapsed time.
// Stage output is not streamed here, except warnings (`warning: …` lines);
// a failure shows the log's last lines.
import { createLogUpdate } from 'log-update';
import type { Colors } from './diagnostic-text.js';
import { metricsChangedLines, seconds, summaryText, warningOf, watchText, type RunEvent, type RunReporter } from './events.js';
import { stageFinishedText } from './plain.js';

const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export class TtyReporter implements RunReporter {
  private readonly live: ReturnType<typeof createLogUpdate>;
  private readonly running = new Map<string, number>();
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
        this.running.set(e.stage, Date.now());
        this.render();
        break;
      case 'stage-finished': {
        this.running.delete(e.stage);
        this.done++;
        const text = stageFinishedText(e, c);
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
        break;
      case 'stage-output': {
        const warning = warningOf(e.line);
        if (warning !== undefined) this.print(c.yellow(`⚠ ${e.stage}: ${warning}`));
        break;
      }
      case 'metrics-changed':
        this.live.clear();
        this.stream.write(`${metricsChangedLines(e).join('\n')}\n`);
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
    for (const [stage, started] of this.running) lines.push(`  ${this.c.cyan('▶')} ${stage} ${this.c.dim(seconds(now - started))}`);
    this.live(lines.join('\n'));
  }
}
