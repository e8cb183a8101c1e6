// Checks a parsed pipeline document against schemas/pipeline.schema.json (compiled
// at build time to a standalone ajv validator) and turns ajv's errors into
// located diagnostics a person can act on: "unknown field "dep" — did you mean "deps"?".
import type { ErrorObject } from 'ajv';
import validatePipeline from '../generated/pipeline-validate.js';
import { dedupeDiagnostics, error, type Diagnostic } from './diagnostic.js';
import { locate, type PathSegment, type YamlFile } from './yaml-file.js';
import { closest } from '../util/suggest.js';

interface SchemaLike {
  properties?: Record<string, unknown>;
  description?: string;
  not?: { required?: string[] };
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** How a path reads in a message: "deps[0]" inside a stage, "stages" at top level. */
function fieldName(path: readonly PathSegment[]): string {
  const inner = path[0] === 'stages' && path.length > 2 ? path.slice(2) : path;
  let out = '';
  for (const seg of inner) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out === '' ? 'the pipeline' : `"${out}"`;
}

function stageOf(path: readonly PathSegment[]): string | undefined {
  return path[0] === 'stages' && typeof path[1] === 'string' ? path[1] : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'empty',
};

function typeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeNames(types: string | string[]): string {
  const list = Array.isArray(types) ? types : [types];
  return list.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
}

function nameKind(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  if (path.length === 1 && last === 'stages') return 'stage name';
  if (last === 'env') return 'environment variable name';
  if (last === 'matrix') return 'matrix axis name';
  if (last === 'deps' || last === 'outs' || last === 'inner') return 'path';
  return 'name';
}

function preview(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Checks a pipeline document against the pipeline schema. */
export function checkSchema(file: YamlFile): Diagnostic[] {
  return checkAgainst(validatePipeline, file);
}

/** Checks a document against any compiled schema (pipeline, lock file). */
export function checkAgainst(validate: Validator, file: YamlFile): Diagnostic[] {
  if (validate(file.data)) return [];
  const errors = (validate.errors ?? []).slice();
  // Nested schemas can report the same thing twice.
  return dedupeDiagnostics(translate(file, errors));
}

/** Checks a value found at `base` in a document (e.g. a stage's `with:`) against a schema, with located errors. */
export function checkValueAt(validate: Validator, file: YamlFile, data: unknown, base: readonly PathSegment[]): Diagnostic[] {
  if (validate(data)) return [];
  const prefix = base.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
  const errors = (validate.errors ?? []).map((e) => ({ ...e, instancePath: `${prefix}${e.instancePath}` }));
  return dedupeDiagnostics(translate(file, errors));
}

function translate(file: YamlFile, errors: ErrorObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  let rest = errors;
  for (;;) {
    // Outermost anyOf/oneOf first: it decides which branch's errors are worth showing.
    const alternatives = rest
      .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
      .sort((a, b) => a.schemaPath.length - b.schemaPath.length)[0];
    if (!alternatives) break;
    const prefix = `${alternatives.schemaPath}/`;
    const inside = (e: ErrorObject) => e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(alternatives.instancePath);
    const branches = new Map<string, ErrorObject[]>();
    for (const e of rest) {
      if (!inside(e)) continue;
      const index = e.schemaPath.slice(prefix.length).split('/')[0]!;
      branches.set(index, [...(branches.get(index) ?? []), e]);
    }
    rest = rest.filter((e) => e !== alternatives && !inside(e));
    out.push(...chooseBranch(file, alternatives, [...branches.values()]));
  }
  for (const e of rest) {
    const d = leaf(file, e);
    if (d) out.push(d);
  }
  return out;
}

function chooseBranch(file: YamlFile, alt: ErrorObject, branches: ErrorObject[][]): Diagnostic[] {
  const path = pointerToPath(alt.instancePath);
  const passing = (alt.params as { passingSchemas?: number[] | null }).passingSchemas;
  const onlyRequired = branches.length > 0 && branches.every((b) => b.every((e) => e.keyword === 'required'));
  if (alt.keyword === 'oneOf' && passing) {
    // More than one branch matched: for a stage, both cmd and uses are present.
    const names = (alt.schema as Array<{ required?: string[] }>).flatMap((s) => s.required ?? []);
    const present = names.filter((n) => typeof alt.data === 'object' && alt.data !== null && n in alt.data);
    return [
      error('exclusive-fields', `${present.map((n) => `"${n}"`).join(' and ')} cannot be used together: a stage takes exactly one`, locate(file, [...path, present[present.length - 1] ?? ''], 'key'), {
        suggestion: 'use "cmd" for a shell command, or "uses" with "with" for a built-in action',
      }),
    ];
  }
  if (onlyRequired) {
    const names = branches.flatMap((b) => b.map((e) => (e.params as { missingProperty: string }).missingProperty));
    const stage = stageOf(path);
    return [
      error('missing-field', `${stage ? `stage "${stage}" needs` : 'needs'} ${names.map((n) => `"${n}"`).join(' or ')}`, locate(file, path, 'key'), {
        suggestion: 'add "cmd: <shell command>", or "uses: mlpipe/<action>" with its "with:" inputs',
      }),
    ];
  }
  // A branch whose only complaint is the type of the value itself was not the one meant.
  const meant = branches.filter((b) => !b.some((e) => e.keyword === 'type' && e.instancePath === alt.instancePath));
  if (meant.length > 0) return translate(file, meant[0]!);
  const expected = [...new Set(branches.flatMap((b) => b.filter((e) => e.keyword === 'type').flatMap((e) => (e.params as { type: string | string[] }).type)))];
  return [
    error('type', `${fieldName(path)} must be ${typeNames(expected as string[])}, not ${typeNames(typeOf(alt.data))}`, locate(file, path)),
  ];
}

function leaf(file: YamlFile, e: ErrorObject): Diagnostic | undefined {
  const path = pointerToPath(e.instancePath);
  const parent = (e.parentSchema ?? {}) as SchemaLike;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(parent.properties ?? {}).filter((k) => k !== '$schema');
      const match = closest(name, known);
      const where = !stageOf(path) ? '' : path.length === 2 ? ` in stage "${stageOf(path)}"` : ` in ${fieldName(path)} of stage "${stageOf(path)}"`;
      let suggestion: string | undefined;
      if (name === 'do' && typeof e.data === 'object' && e.data !== null && ('foreach' in e.data || 'matrix' in e.data)) {
        suggestion = 'mlpipe writes a fan-out stage inline: move the fields under "do:" up beside "foreach:"';
      } else if (!match && known.length > 0) {
        suggestion = `known fields: ${known.join(', ')}`;
      }
      return error('unknown-field', `unknown field "${name}"${where}${match ? ` — did you mean "${match}"?` : ''}`, locate(file, [...path, name], 'key'), suggestion ? { suggestion } : {});
    }
    case 'required': {
      const name = String(params.missingProperty);
      const where = path.length === 0 ? '' : ` in ${fieldName(path)}`;
      return error('missing-field', `missing required field "${name}"${where}`, path.length === 0 ? file.source.at(0) : locate(file, path, 'key'), name === 'stages' ? { suggestion: 'add "stages:" with at least one stage, e.g. stages: { build: { cmd: "make" } }' } : {});
    }
    case 'type': {
      const expected = params.type as string | string[];
      const got = typeOf(e.data);
      const suggestion = expected === 'array' && (got === 'string' || got === 'number') ? `write a list: [${preview(e.data)}]` : undefined;
      return error('type', `${fieldName(path)} must be ${typeNames(expected)}, not ${typeNames(got)}`, locate(file, path), suggestion ? { suggestion } : {});
    }
    case 'pattern': {
      if (e.propertyName !== undefined) {
        return error('invalid-name', `invalid ${nameKind(path)} "${e.propertyName}": expected ${parent.description ?? `a match for ${String(params.pattern)}`}`, locate(file, [...path, e.propertyName], 'key'));
      }
      return error('invalid-value', `${fieldName(path)} is "${preview(e.data)}"; expected ${parent.description ?? `a match for ${String(params.pattern)}`}`, locate(file, path));
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[] | undefined)?.map(String) ?? [];
      if (e.propertyName !== undefined) {
        const match = closest(e.propertyName, allowed);
        return error('unknown-field', `unknown key "${e.propertyName}" in ${fieldName(path)}${match ? ` — did you mean "${match}"?` : ''}`, locate(file, [...path, e.propertyName], 'key'), {
          suggestion: `known: ${allowed.join(', ')}`,
        });
      }
      const match = typeof e.data === 'string' ? closest(e.data, allowed) : undefined;
      return error('invalid-value', `${fieldName(path)} is "${preview(e.data)}"; expected one of ${allowed.join(', ')}${match ? ` — did you mean "${match}"?` : ''}`, locate(file, path));
    }
    case 'propertyNames':
      return undefined; // reported by the inner keyword with the name itself
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return error('empty', `${fieldName(path)} must not be empty`, locate(file, path));
    case 'maxProperties':
      return error('invalid-value', `${fieldName(path)} maps one path to its flags, e.g. {models/: {cache: false}}`, locate(file, path));
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return error('out-of-range', `${fieldName(path)} must be ${String(params.comparison)} ${String(params.limit)}, not ${String(e.data)}`, locate(file, path));
    case 'dependencies':
      return error('missing-field', `"${String(params.property)}" needs "${String(params.missingProperty)}" beside it`, locate(file, [...path, String(params.property)], 'key'), {
        suggestion: '"with" holds the inputs of a built-in action named by "uses: mlpipe/<action>"',
      });
    case 'not': {
      const names = parent.not?.required ?? [];
      return error('exclusive-fields', `${names.map((n) => `"${n}"`).join(' and ')} cannot be used together`, locate(file, [...path, names[names.length - 1] ?? ''], 'key'));
    }
    default:
      return error('schema', `${fieldName(path)} ${e.message ?? 'is invalid'}`, locate(file, path));
  }
}
