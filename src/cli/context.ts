// What every command gets: global options, output streams, the project root,
// and one way to print diagnostics (text on stderr, JSON on stdout, GitHub
// annotations when running in GitHub Actions).
import { resolve } from 'node:path';
import { error, sortDiagnostics, type Diagnostic } from '../pipeline/diagnostic.js';
import { findProjectRoot } from '../pipeline/project.js';
import { colorsFor, diagnosticJson, formatDiagnostic, githubAnnotation } from '../report/diagnostic-text.js';

export type ReporterKind = 'auto' | 'tty' | 'plain' | 'json';
export const REPORTERS: readonly ReporterKind[] = ['auto', 'tty', 'plain', 'json'];

export const EXIT = { ok: 0, failed: 1, invalid: 2, sigint: 130, sigterm: 143 } as const;

export interface GlobalOptions {
  readonly dir?: string;
  readonly json?: boolean;
  readonly reporter?: ReporterKind;
}

export class CliContext {
  readonly cwd: string;
  readonly json: boolean;

  constructor(
    readonly options: GlobalOptions,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.cwd = resolve(options.dir ?? '.');
    this.json = options.json === true || options.reporter === 'json';
  }

  out(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  log(text: string): void {
    this.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  get colors() {
    return colorsFor(this.stderr, this.env);
  }

  /** The project root, or a diagnostic saying there is none. */
  root(): { root: string } | { diagnostic: Diagnostic } {
    const root = findProjectRoot(this.cwd);
    if (root) return { root };
    return {
      diagnostic: error('no-project', `no mlpipe project here: neither pipelines/ nor .mlpipe/ in ${this.cwd} or any parent`, undefined, {
        suggestion: 'run "mlpipe init" in the project directory, or pass -C DIR',
      }),
    };
  }

  /** Prints diagnostics on stderr (and as annotations in GitHub Actions). */
  report(diagnostics: readonly Diagnostic[]): void {
    const c = this.colors;
    const github = this.env.GITHUB_ACTIONS === 'true';
    for (const d of sortDiagnostics(diagnostics)) {
      this.log(formatDiagnostic(d, c));
      if (github) this.log(githubAnnotation(d));
    }
  }

  /** Diagnostics as the JSON document of a --json command. */
  diagnosticsJson(diagnostics: readonly Diagnostic[]): unknown[] {
    return sortDiagnostics(diagnostics).map(diagnosticJson);
  }

  /** An error with no place in a file (a model reference, an option): "error: message", a suggestion, exit code 2. */
  error(message: string, suggestion?: string): number {
    this.log(`${this.colors.red('error')}: ${message}${suggestion ? `\n  ${suggestion}` : ''}`);
    return EXIT.invalid;
  }

  /** A command that cannot go on: print why and return exit code 2. */
  fail(diagnostics: readonly Diagnostic[]): number {
    if (this.json) this.out(JSON.stringify({ ok: false, diagnostics: this.diagnosticsJson(diagnostics) }, null, 2));
    this.report(diagnostics);
    return EXIT.invalid;
  }
}

export function summary(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const parts = [];
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.join(', ');
}
