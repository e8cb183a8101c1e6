// Renders diagnostics for people (path:line:col, the source line and a caret
// under the offending node) and for GitHub Actions (::error workflow commands).
import pc from 'picocolors';
import type { Diagnostic, DiagnosticNote } from '../pipeline/diagnostic.js';
import type { Location } from '../pipeline/source.js';

export type Colors = ReturnType<typeof pc.createColors>;

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  const enabled = !('NO_COLOR' in env) && (('FORCE_COLOR' in env && env.FORCE_COLOR !== '0') || stream.isTTY === true);
  return pc.createColors(enabled);
}

function where(location: Location | undefined): string {
  if (!location) return '';
  const { line, col } = location.file.position(location.start);
  return `${location.file.path}:${line}:${col}: `;
}

/** The source line of a location with a caret underline, indented by a gutter. */
function excerpt(location: Location, c: Colors): string[] {
  const { file } = location;
  const start = file.position(location.start);
  const end = file.position(Math.max(location.start, location.end - 1));
  const text = file.lineText(start.line);
  if (text.length > 300 || file.text === '') return [];
  // Tabs become one space each so that the caret lines up with the column.
  const shown = text.replace(/\t/g, ' ');
  const width = end.line === start.line ? Math.max(1, end.col - start.col + 1) : Math.max(1, text.length - start.col + 1);
  const gutter = String(start.line);
  const pad = ' '.repeat(gutter.length);
  return [
    `  ${c.dim(`${gutter} |`)} ${shown}`,
    `  ${c.dim(`${pad} |`)} ${' '.repeat(start.col - 1)}${c.red('^' + '~'.repeat(Math.min(width, Math.max(1, text.length - start.col + 1)) - 1))}`,
  ];
}

function noteText(note: DiagnosticNote, c: Colors): string[] {
  const lines = [`  ${where(note.location)}${c.cyan('note')}: ${note.message}`];
  if (note.location) lines.push(...excerpt(note.location, c).map((l) => `  ${l}`));
  return lines;
}

export function formatDiagnostic(d: Diagnostic, c: Colors): string {
  const label = d.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
  const lines = [`${c.bold(where(d.location))}${label}: ${c.bold(d.message)}`];
  if (d.location) lines.push(...excerpt(d.location, c));
  if (d.suggestion) lines.push(`  ${c.green('suggestion')}: ${d.suggestion}`);
  for (const note of d.notes ?? []) lines.push(...noteText(note, c));
  return lines.join('\n');
}

export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** A GitHub Actions workflow command that shows the diagnostic as an annotation. */
export function githubAnnotation(d: Diagnostic): string {
  const props: string[] = [];
  if (d.location) {
    const start = d.location.file.position(d.location.start);
    const end = d.location.file.position(Math.max(d.location.start, d.location.end - 1));
    props.push(`file=${escapeProperty(d.location.file.path)}`, `line=${start.line}`, `col=${start.col}`);
    if (end.line !== start.line) props.push(`endLine=${end.line}`);
    else props.push(`endColumn=${end.col + 1}`);
  }
  props.push(`title=${escapeProperty(`mlpipe ${d.code}`)}`);
  const body = d.suggestion ? `${d.message}\n${d.suggestion}` : d.message;
  return `::${d.severity} ${props.join(',')}::${escapeData(body)}`;
}

/** A plain-data form of a diagnostic for --json output. */
export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  const loc = (l: Location | undefined) => {
    if (!l) return undefined;
    const s = l.file.position(l.start);
    const e = l.file.position(l.end);
    return { file: l.file.path, line: s.line, col: s.col, endLine: e.line, endCol: e.col };
  };
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    location: loc(d.location),
    suggestion: d.suggestion,
    notes: d.notes?.map((n) => ({ message: n.message, location: loc(n.location) })),
  };
}
