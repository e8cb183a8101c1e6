// Errors are data: every problem found in a pipeline, a params file, a lock
// file or a command line is a Diagnostic, located in its file where it has one.
import type { Location } from './source.js';

export type Severity = 'error' | 'warning';

export interface DiagnosticNote {
  readonly message: string;
  readonly location?: Location;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** A stable machine-readable kind, e.g. "unknown-field", "cycle". */
  readonly code: string;
  readonly message: string;
  readonly location?: Location;
  /** A fix to offer, printed after the source excerpt. */
  readonly suggestion?: string;
  /** Related places, e.g. the other stage writing the same output. */
  readonly notes?: readonly DiagnosticNote[];
}

export function error(code: string, message: string, location?: Location, extra: Partial<Diagnostic> = {}): Diagnostic {
  return { severity: 'error', code, message, ...(location ? { location } : {}), ...extra };
}

export function warning(code: string, message: string, location?: Location, extra: Partial<Diagnostic> = {}): Diagnostic {
  return { severity: 'warning', code, message, ...(location ? { location } : {}), ...extra };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Diagnostics in file order, then by position, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const fa = a.location?.file.path ?? '';
    const fb = b.location?.file.path ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.start ?? 0) - (b.location?.start ?? 0);
  });
}

/** Drops repeats: a fanned-out stage reports a problem of its template once per instance. */
export function dedupeDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}\0${d.location?.file.path}\0${d.location?.start}\0${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
