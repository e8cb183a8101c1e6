// Follows a stage's log file while something else appends to it (the helper
// shell's commands, the warm action runner): reads what is new every 100 ms
// and once more when the writer says it is done, so live output arrives
// without a pipe per stage and nothing written is missed.
import { closeSync, openSync, readSync } from 'node:fs';

const POLL_MS = 100;

export class LogFollower {
  private fd: number | undefined;
  private position = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly onText: (text: string) => void,
  ) {
    this.timer = setInterval(() => this.read(), POLL_MS);
    this.timer.unref();
  }

  /** Delivers whatever was appended since the last read. */
  read(): void {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.file, 'r');
      } catch {
        return; // not created yet
      }
    }
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, buf, 0, buf.length, this.position);
      } catch {
        return;
      }
      if (n <= 0) return;
      this.position += n;
      this.onText(buf.toString('utf8', 0, n));
    }
  }

  /** The writer is done: read the rest and stop. */
  close(): void {
    clearInterval(this.timer);
    this.read();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
