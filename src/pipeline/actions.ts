// Checks of a stage that names a built-in action: the action exists, its
// `with:` matches the action's schema (located errors, like any stage field),
// and the files it reads and writes are declared as deps and outs.
import { ACTIONS, actionFor } from '../actions/registry.js';
import { error, type Diagnostic } from './diagnostic.js';
import { checkValueAt } from './schema-check.js';
import type { PathSegment, YamlFile } from './yaml-file.js';
import { checkPath } from './paths.js';
import { locate } from './yaml-file.js';

export const BUILTIN_ACTIONS: readonly string[] = Object.keys(ACTIONS);

const trimSlash = (p: string) => p.replace(/^\.\//, '').replace(/\/+$/, '');

export function checkAction(file: YamlFile, base: readonly PathSegment[], uses: string, withValue: unknown, deps: readonly string[], outs: readonly string[]): Diagnostic[] {
  const action = actionFor(uses);
  if (!action) {
    return [
      error('unknown-action', `unknown built-in action "${uses}"; known: ${BUILTIN_ACTIONS.map((a) => `mlpipe/${a}`).join(', ')}`, locate(file, [...base, 'uses']), {
        suggestion: 'use "cmd:" to run a command of your own',
      }),
    ];
  }
  const diagnostics = checkValueAt(action.validate, file, withValue ?? {}, [...base, 'with']);
  if (diagnostics.length > 0) return diagnostics;
  const w = (withValue ?? {}) as Record<string, unknown>;
  if (action.modes) {
    const given = action.modes.filter((m) => m.some((f) => f in w));
    const describe = action.modes.map((m) => m.join(' and ')).join(', or ');
    const complete = given.length === 1 && given[0]!.every((f) => f in w);
    if (!complete) {
      const field = given.length > 1 ? given[1]!.find((f) => f in w)! : undefined;
      return [
        error('action-mode', `${uses} takes ${describe}${given.length > 1 ? ', not both' : given.length === 1 ? `: "${given[0]!.find((f) => !(f in w))}" is missing` : ''}`, locate(file, field ? [...base, 'with', field] : [...base, 'with'], field ? 'key' : 'value'), {
          suggestion: `give ${describe}`,
        }),
      ];
    }
  }
  const semantic = action.check?.(w);
  if (semantic) return [error('bad-action-input', semantic.message, locate(file, [...base, 'with', semantic.field]), semantic.suggestion ? { suggestion: semantic.suggestion } : {})];
  // Declared itself, or inside a declared directory.
  const declared = (list: readonly string[], path: string) => list.some((d) => trimSlash(path) === trimSlash(d) || trimSlash(path).startsWith(`${trimSlash(d)}/`));
  for (const [fields, list, what] of [
    [action.reads, deps, 'deps'],
    [action.writes, outs, 'outs'],
  ] as const) {
    for (const field of fields) {
      const value = w[field];
      // A field holds one path, or a list of them (mlpipe/report's metrics).
      const entries: [unknown, (string | number)[]][] = Array.isArray(value) ? value.map((v, i) => [v, [field, i]]) : [[value, [field]]];
      for (const [path, at] of entries) {
        if (typeof path !== 'string') continue;
        // The path rules of deps and outs first: "models/../../x" is inside no declared directory.
        const checked = checkPath(path, `with.${at.join('.')}`, true);
        if (!checked.ok) {
          diagnostics.push(error('bad-path', checked.message, locate(file, [...base, 'with', ...at]), checked.suggestion ? { suggestion: checked.suggestion } : { suggestion: 'name a path inside the project, as in deps and outs' }));
          continue;
        }
        if (declared(list, checked.path)) continue;
        diagnostics.push(
          error('undeclared-path', `with.${at.join('.')} "${path}" is not among the stage's ${what} (nor inside one of them)`, locate(file, [...base, 'with', ...at]), {
            suggestion: `add "${path}" to ${what}: mlpipe plans and caches only declared ${what === 'deps' ? 'inputs' : 'outputs'}`,
          }),
        );
      }
    }
  }
  return diagnostics;
}
