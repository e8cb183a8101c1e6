// Tables on stdout in the three forms commands print: aligned text (bold
// header when colour is on), GitHub-flavoured Markdown, and CSV (RFC 4180).
import type { Colors } from 'picocolors/types.js';

export type TableFormat = 'text' | 'md' | 'csv';

/** A cell may colour itself for text output; its width is that of the plain text. */
export interface Cell {
  readonly text: string;
  readonly paint?: (s: string) => string;
}

function plain(c: string | Cell): string {
  return typeof c === 'string' ? c : c.text;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function mdField(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderTable(head: readonly string[], rows: readonly (readonly (string | Cell)[])[], format: TableFormat, colors?: Colors): string {
  if (format === 'csv') return [head, ...rows.map((r) => r.map(plain))].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  if (format === 'md') {
    const lines = [`| ${head.map(mdField).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => mdField(plain(c))).join(' | ')} |`)];
    return lines.join('\n') + '\n';
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => plain(r[i] ?? '').length)));
  const line = (cells: readonly (string | Cell)[]) =>
    cells
      .map((c, j) => {
        const text = plain(c);
        const padded = j === cells.length - 1 ? text : text.padEnd(widths[j]!);
        return typeof c !== 'string' && c.paint ? c.paint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const headLine = line(head);
  return [colors ? colors.bold(headLine) : headLine, ...rows.map(line)].join('\n') + '\n';
}
