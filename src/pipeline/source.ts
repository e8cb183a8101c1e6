// A text file that diagnostics can point into: its display path, its text and
// an index of line starts, so an offset becomes a 1-based line and column.
// The text may be read lazily: a file taken from the parse cache is only read
// again if a diagnostic needs to show it.
import { readFileSync } from 'node:fs';

/** A byte range inside a source file, as string offsets [start, end). */
export interface Location {
  readonly file: SourceFile;
  readonly start: number;
  readonly end: number;
}

export interface LinePosition {
  readonly line: number;
  readonly col: number;
}

export class SourceFile {
  private lineStarts: number[] | undefined;
  private content: string | undefined;

  constructor(
    /** Path as shown to users: relative to the project root when inside it. */
    readonly path: string,
    readonly absPath: string,
    text?: string,
  ) {
    this.content = text;
  }

  get text(): string {
    if (this.content === undefined) {
      try {
        this.content = readFileSync(this.absPath, 'utf8').replace(/^\ufeff/, '');
      } catch {
        this.content = '';
      }
    }
    return this.content;
  }

  private starts(): number[] {
    if (this.lineStarts === undefined) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  /** 1-based line and column of a string offset. */
  position(offset: number): LinePosition {
    const starts = this.starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  }

  /** The text of a 1-based line, without its line break. */
  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line - 1] ?? this.text.length;
    const next = starts[line];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end).replace(/\r$/, '');
  }

  at(start: number, end: number = start): Location {
    return { file: this, start, end: Math.max(start, end) };
  }
}
