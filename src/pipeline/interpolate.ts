// ${...} substitution: looks names up in the stage's fan-out item, the
// pipeline's vars, then its params files, and records every value that came
// from a params file so it becomes a param dependency of the stage.
import { error, type Diagnostic } from './diagnostic.js';
import type { Location } from './source.js';
import { flattenKeys, formatKey, isRecord, lookup, parseKey, type ParamContext } from './params.js';
import { closest } from '../util/suggest.js';

export interface Scope {
  /** The fan-out element of a matrix/foreach instance. */
  readonly item?: unknown;
  /** The key of a foreach over a mapping. */
  readonly key?: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly params: ParamContext;
}

export interface ParamUse {
  readonly file: string;
  readonly key: string;
  readonly value: unknown;
}

export interface Substitution {
  readonly value: unknown;
  readonly params: ParamUse[];
  readonly diagnostics: Diagnostic[];
}

/** Locates the text of one expression inside the string it came from. */
export type ExprLocator = (expression: string) => Location;

const EXPR = /(\\?)\$\{([^}]*)\}/g;

export function hasExpression(text: string): boolean {
  return text.includes('${');
}

type Resolved = { ok: true; value: unknown; param?: ParamUse } | { ok: false; diagnostic: Diagnostic };

function resolve(expr: string, scope: Scope, where: ExprLocator): Resolved {
  const name = expr.trim();
  const segments = parseKey(name);
  const loc = where(expr);
  if (!segments) return { ok: false, diagnostic: error('bad-expression', `"\${${expr}}" is not a name; write \${name}, \${a.b} or \${list[0]}`, loc) };
  const head = segments[0] as string;

  const fromValue = (root: unknown, rootName: string, rest: typeof segments): Resolved => {
    const r = lookup(root, rest);
    if (r.found) return { ok: true, value: r.value };
    const path = formatKey([rootName, ...rest.slice(0, r.depth)].filter((s) => s !== ''));
    const missing = rest[r.depth]!;
    if (typeof missing === 'number') {
      const size = Array.isArray(r.container) ? `${r.container.length} items` : 'no items (it is not a list)';
      return { ok: false, diagnostic: error('unknown-name', `"${path}" has ${size}; [${missing}] is out of range`, loc) };
    }
    const keys = isRecord(r.container) ? Object.keys(r.container) : [];
    const hint = closest(missing, keys);
    return {
      ok: false,
      diagnostic: error('unknown-name', `${path === '' ? 'there is' : `"${path}" has`} no key "${missing}"${hint ? ` — did you mean "${hint}"?` : ''}`, loc),
    };
  };

  if (head === 'item' && scope.item !== undefined) return fromValue(scope.item, 'item', segments.slice(1));
  if (head === 'key' && scope.key !== undefined && segments.length === 1) return { ok: true, value: scope.key };
  if (Object.hasOwn(scope.vars, head)) return fromValue(scope.vars, '', segments);
  const param = scope.params.get(segments);
  if (param) return { ok: true, value: param.value, param: { file: param.file, key: formatKey(segments), value: param.value } };
  if (scope.params.hasTopLevel(head)) {
    // Exists in a params file but the rest of the path does not: say where it stops.
    const file = [...scope.params.files].reverse().find((f) => isRecord(f.data) && Object.hasOwn(f.data, head))!;
    return fromValue(file.data, '', segments);
  }

  const candidates = [...flattenKeys(scope.vars), ...scope.params.keys(), ...(scope.item !== undefined ? ['item'] : [])];
  const hint = closest(name, candidates);
  let suggestion: string | undefined;
  if (head === 'item') suggestion = '${item} is defined only in stages with "matrix" or "foreach"';
  else if (/^[A-Z_][A-Z0-9_]*$/.test(name)) suggestion = `to pass a shell variable, write $${name} or \\\${${name}}`;
  else if (!hint) suggestion = 'define it under "vars:" or in a params file';
  return {
    ok: false,
    diagnostic: error('unknown-name', `unknown name "${name}"${hint ? ` — did you mean "${hint}"?` : ''}`, loc, suggestion ? { suggestion } : {}),
  };
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/**
 * Substitutes every ${...} in a string. A string that is exactly one expression
 * keeps the value's type when `typed` (for action inputs); otherwise values are
 * turned into text and must be scalars.
 */
export function substitute(text: string, scope: Scope, where: ExprLocator, typed: boolean): Substitution {
  const params: ParamUse[] = [];
  const diagnostics: Diagnostic[] = [];
  if (!hasExpression(text)) return { value: text, params, diagnostics };

  const whole = /^\$\{([^}]*)\}$/.exec(text);
  if (whole && typed) {
    const r = resolve(whole[1]!, scope, where);
    if (!r.ok) return { value: text, params, diagnostics: [r.diagnostic] };
    if (r.param) params.push(r.param);
    return { value: r.value, params, diagnostics };
  }

  const value = text.replace(EXPR, (match, escape: string, expr: string) => {
    if (escape) return match.slice(1);
    const r = resolve(expr, scope, where);
    if (!r.ok) {
      diagnostics.push(r.diagnostic);
      return match;
    }
    if (r.param) params.push(r.param);
    if (!isScalar(r.value)) {
      diagnostics.push(
        error('not-scalar', `"\${${expr}}" is ${Array.isArray(r.value) ? 'a list' : 'a mapping'}; only numbers, strings and booleans can be placed in text`, where(expr), {
          suggestion: 'refer to one element, e.g. ${name[0]} or ${name.key}',
        }),
      );
      return match;
    }
    return String(r.value);
  });
  return { value, params, diagnostics };
}
