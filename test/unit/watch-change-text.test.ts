// Watch mode names what changed before each run, in both text reporters.
import { describe, expect, it } from 'vitest';
import pc from 'picocolors';
import { PlainReporter } from '../../src/report/plain.js';
import { TtyReporter } from '../../src/report/tty.js';

describe('watch-change in the text reporters', () => {
  const paths = ['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv', 'f.csv', 'params.yaml'];
  it('plain prints the changed paths (the first five, then a count)', () => {
    const err: string[] = [];
    new PlainReporter(() => {}, (s) => err.push(s), pc.createColors(false)).event({ type: 'watch-change', paths });
    expect(err).toEqual(['changed: a.csv, b.csv, c.csv, d.csv, e.csv and 2 more']);
  });

  it('tty prints them above the live region', () => {
    let written = '';
    const stream = { write: (s: string) => ((written += s), true), isTTY: false, columns: 80, on: () => stream, off: () => stream, once: () => stream, removeListener: () => stream } as unknown as NodeJS.WriteStream;
    const r = new TtyReporter(stream, pc.createColors(false));
    r.event({ type: 'watch-change', paths: ['data/in.txt'] });
    r.close();
    expect(written).toContain('changed: data/in.txt\n');
  });
});
