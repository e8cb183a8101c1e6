// Stage conditions (`if:`): an expression over params, vars and the metrics of
// upstream stages, e.g. `${stages.monitor.metrics.drift_share} > 0.3 && ${retrain.enabled}`.
// References are written as ${...}; the rest is parsed by jsep into an AST that
// is checked for types when the pipeline is loaded and evaluated here by a small
// interpreter over a fixed set of operators (no eval, no Function). Param and
// var references are resolved when the pipeline is expanded (they become param
// dependencies of the stage); metric references are read when the stages they
// name are done.
import jsepModule from 'jsep';
import { error, type Diagnostic } from './diagnostic.js';
import { substitute, type ParamUse, type Scope } from './interpolate.js';
import { lookup, parseKey, formatKey } from './params.js';
import type { Location } from './source.js';

const jsep = ((jsepModule as unknown as { default?: typeof jsepModule }).default ?? jsepModule) as typeof jsepModule;
type Node = jsepModule.Expression;

/** Longest condition accepted (a condition is one line of logic, not a program). */
const MAX_CONDITION_CHARS = 2_000;

export type ConditionSource =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'metric'; readonly stage: string; readonly key: string };

export interface ConditionRef {
  /** The text inside ${...}: "stages.monitor.metrics.drift_share", "train.min_acc". */
  readonly text: string;
  /** The identifier standing for it in the parsed expression. */
  readonly id: string;
  readonly loc: Location;
  readonly source: ConditionSource;
}

export interface Condition {
  /** The condition as written. */
  readonly text: string;
  readonly loc: Location;
  readonly ast: Node;
  readonly refs: readonly ConditionRef[];
}

/** What a condition read and what it came to: part of the stage's key, shown when it skips. */
export interface ConditionRecord {
  readonly expr: string;
  /** Reference text → the value read. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly result: boolean;
}

const COMPARISON = new Set(['==', '!=', '===', '!==', '<', '<=', '>', '>=']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', '**']);
const LOGICAL = new Set(['&&', '||']);
const REF = /(\\?)\$\{([^}]*)\}/g;

type Type = 'number' | 'string' | 'boolean' | 'null' | 'other' | 'metric';

const typeOfValue = (v: unknown): Type => (v === null ? 'null' : typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : 'other');
const article = (t: Type) => (t === 'other' ? 'a list or mapping' : t === 'null' ? 'null' : t === 'metric' ? 'a metric' : `a ${t}`);

export interface ParsedCondition {
  readonly condition?: Condition;
  readonly params: ParamUse[];
  readonly diagnostics: Diagnostic[];
}

/**
 * Parses and type-checks a stage's `if:`. `locate(offset, length)` gives the
 * location of a span of the condition's text (for references and syntax errors).
 */
export function parseCondition(raw: string | boolean, loc: Location, locate: (offset: number, length: number) => Location, scope: Scope): ParsedCondition {
  const text = String(raw);
  const params: ParamUse[] = [];
  const diagnostics: Diagnostic[] = [];
  if (text.length > MAX_CONDITION_CHARS) {
    return { params, diagnostics: [error('bad-condition', `the condition is ${text.length.toLocaleString('en')} characters long; at most ${MAX_CONDITION_CHARS.toLocaleString('en')}`, loc, { suggestion: 'compute the decision in a stage and test one metric it writes' })] };
  }
  const refs: ConditionRef[] = [];
  // Each ${...} becomes an identifier of the same length ("$0__…"), so jsep's
  // character positions stay those of the text.
  const rewritten = text.replace(REF, (match, escape: string, inner: string, offset: number) => {
    if (escape) return match;
    const id = `$${refs.length + diagnostics.length}`.padEnd(match.length, '_');
    const refLoc = locate(offset, match.length);
    const name = inner.trim();
    const segments = parseKey(name);
    if (segments && segments[0] === 'stages' && segments.length >= 2) {
      // Stage names may hold "." (train.v2): the name runs up to the "metrics" segment.
      const at = segments.indexOf('metrics', 2);
      const nameParts = segments.slice(1, at === -1 ? 2 : at);
      const stage = nameParts.every((p) => typeof p === 'string') ? nameParts.join('.') : undefined;
      const key = at === -1 ? [] : segments.slice(at + 1);
      if (stage === undefined || key.length === 0) {
        diagnostics.push(error('bad-condition', `"\${${name}}": a condition reads a stage's metrics as \${stages.<stage>.metrics.<key>}`, refLoc, { suggestion: '${stages.monitor.metrics.drift_share}' }));
      } else refs.push({ text: name, id, loc: refLoc, source: { kind: 'metric', stage, key: formatKey(key) } });
    } else {
      const sub = substitute(`\${${inner}}`, scope, () => refLoc, true);
      diagnostics.push(...sub.diagnostics);
      params.push(...sub.params);
      if (sub.diagnostics.length === 0) refs.push({ text: name, id, loc: refLoc, source: { kind: 'value', value: sub.value } });
    }
    return id;
  });
  if (diagnostics.length > 0) return { params, diagnostics };
  let ast: Node;
  try {
    ast = jsep(rewritten);
  } catch (e) {
    const index = typeof (e as { index?: unknown }).index === 'number' ? (e as { index: number }).index : 0;
    const message = (e as Error).message.replace(/ at character \d+$/, '');
    return { params, diagnostics: [error('bad-condition', `cannot parse the condition: ${message}`, locate(Math.min(index, Math.max(0, text.length - 1)), 1), { suggestion: 'write a comparison such as ${stages.monitor.metrics.drift_share} > 0.3; combine with && || !' })] };
  }
  const condition: Condition = { text, loc, ast, refs };
  const typed = checkTypes(condition, ast);
  if ('error' in typed) diagnostics.push(error('bad-condition', typed.error, loc, typed.suggestion ? { suggestion: typed.suggestion } : {}));
  else if (typed.type !== 'boolean' && typed.type !== 'metric') {
    diagnostics.push(error('bad-condition', `the condition is ${article(typed.type)}, not true or false`, loc, { suggestion: `compare it: ${text} > 0` }));
  }
  return diagnostics.length > 0 ? { params, diagnostics } : { condition, params, diagnostics };
}

/** The expression written back, with references as ${...}. */
export function showNode(node: Node, refs: readonly ConditionRef[]): string {
  switch (node.type) {
    case 'Identifier': {
      const r = refs.find((x) => x.id === node.name);
      return r ? `\${${r.text}}` : String(node.name);
    }
    case 'Literal':
      return String(node.raw ?? JSON.stringify(node.value));
    case 'UnaryExpression':
      return `${node.operator}${showNode(node.argument as Node, refs)}`;
    case 'BinaryExpression':
      return `${showNode(node.left as Node, refs)} ${node.operator} ${showNode(node.right as Node, refs)}`;
    default:
      return node.type;
  }
}

type Typed = { type: Type } | { error: string; suggestion?: string };

function checkTypes(condition: Condition, root: Node): Typed {
  const refById = new Map(condition.refs.map((r) => [r.id, r]));
  const show = (n: Node) => showNode(n, condition.refs);
  const walk = (n: Node): Typed => {
    switch (n.type) {
      case 'Literal':
        return { type: typeOfValue(n.value) };
      case 'Identifier': {
        const r = refById.get(n.name as string);
        if (!r) return { error: `"${n.name}" is not something a condition can read`, suggestion: `write \${${n.name}} to read a param or var, or quote it as a string: "${n.name}"` };
        return { type: r.source.kind === 'metric' ? 'metric' : typeOfValue(r.source.value) };
      }
      case 'UnaryExpression': {
        const a = walk(n.argument as Node);
        if ('error' in a) return a;
        const op = n.operator as string;
        if (op === '!') return a.type === 'boolean' || a.type === 'metric' ? { type: 'boolean' } : { error: `"!" needs true or false, and ${show(n.argument as Node)} is ${article(a.type)}` };
        if (op === '-' || op === '+') return a.type === 'number' || a.type === 'metric' ? { type: 'number' } : { error: `"${op}" needs a number, and ${show(n.argument as Node)} is ${article(a.type)}` };
        return { error: `operator "${op}" is not supported in conditions`, suggestion: 'use comparisons (== != < <= > >=), arithmetic (+ - * / %) and logic (&& || !)' };
      }
      case 'BinaryExpression': {
        const op = n.operator as string;
        const l = walk(n.left as Node);
        if ('error' in l) return l;
        const r = walk(n.right as Node);
        if ('error' in r) return r;
        const num = (t: Type) => t === 'number' || t === 'metric';
        const bool = (t: Type) => t === 'boolean' || t === 'metric';
        const both = `${show(n.left as Node)} is ${article(l.type)} and ${show(n.right as Node)} is ${article(r.type)}`;
        if (LOGICAL.has(op)) return bool(l.type) && bool(r.type) ? { type: 'boolean' } : { error: `"${op}" joins true/false values, but ${both}`, suggestion: 'compare each side first, e.g. ${a} > 1 && ${b} == "x"' };
        if (ARITHMETIC.has(op)) return num(l.type) && num(r.type) ? { type: 'number' } : { error: `"${op}" needs numbers, but ${both}` };
        if (op === '==' || op === '!=' || op === '===' || op === '!==') {
          const comparable = l.type === r.type || l.type === 'metric' || r.type === 'metric' || l.type === 'null' || r.type === 'null';
          return comparable && l.type !== 'other' && r.type !== 'other' ? { type: 'boolean' } : { error: `"${op}" compares values of one type, but ${both}` };
        }
        if (COMPARISON.has(op)) {
          const ok = (num(l.type) && num(r.type)) || (l.type === 'string' && r.type === 'string');
          return ok ? { type: 'boolean' } : { error: `"${op}" compares two numbers or two strings, but ${both}` };
        }
        return { error: `operator "${op}" is not supported in conditions`, suggestion: 'use comparisons (== != < <= > >=), arithmetic (+ - * / %) and logic (&& || !)' };
      }
      default:
        return { error: `${n.type === 'CallExpression' ? 'function calls' : n.type === 'MemberExpression' ? 'property access outside ${...}' : `"${n.type}"`} cannot be used in a condition`, suggestion: 'write references as ${name} and combine them with operators' };
    }
  };
  return walk(root);
}

/** Reads a metric a condition names: its value, or why it cannot be read (file and key named). */
export type MetricReader = (stage: string, key: string) => { value: unknown } | { error: string };

/** Evaluates a condition with the metrics of upstream stages; every value read is in the record. */
export function evaluateCondition(condition: Condition, readMetric: MetricReader): { record: ConditionRecord } | { error: string } {
  const values: Record<string, unknown> = {};
  const byId = new Map<string, unknown>();
  for (const r of condition.refs) {
    if (r.source.kind === 'value') {
      byId.set(r.id, r.source.value);
      values[r.text] = r.source.value;
      continue;
    }
    const m = readMetric(r.source.stage, r.source.key);
    if ('error' in m) return { error: `condition ${condition.text}: ${m.error}` };
    byId.set(r.id, m.value);
    values[r.text] = m.value;
  }
  const show = (n: Node) => showNode(n, condition.refs);
  const fail = (message: string): never => {
    throw new ConditionTypeError(message);
  };
  const need = (v: unknown, kind: 'number' | 'boolean', n: Node): unknown => (typeof v === kind ? v : fail(`${show(n)} is ${JSON.stringify(v)}, not a ${kind}`));
  const walk = (n: Node): unknown => {
    switch (n.type) {
      case 'Literal':
        return n.value;
      case 'Identifier':
        return byId.get(n.name as string);
      case 'UnaryExpression': {
        const v = walk(n.argument as Node);
        if (n.operator === '!') return !need(v, 'boolean', n.argument as Node);
        const x = need(v, 'number', n.argument as Node) as number;
        return n.operator === '-' ? -x : x;
      }
      case 'BinaryExpression': {
        const op = n.operator as string;
        if (op === '&&' || op === '||') {
          const l = need(walk(n.left as Node), 'boolean', n.left as Node) as boolean;
          if (op === '&&' ? !l : l) return l;
          return need(walk(n.right as Node), 'boolean', n.right as Node);
        }
        const l = walk(n.left as Node);
        const r = walk(n.right as Node);
        if (op === '==' || op === '===') return l === r;
        if (op === '!=' || op === '!==') return l !== r;
        if (COMPARISON.has(op)) {
          if (!((typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string'))) fail(`${show(n)} compares ${JSON.stringify(l)} with ${JSON.stringify(r)}`);
          const a = l as number;
          const b = r as number;
          return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
        }
        const a = need(l, 'number', n.left as Node) as number;
        const b = need(r, 'number', n.right as Node) as number;
        switch (op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': return a / b;
          case '%': return a % b;
          case '**': return a ** b;
        }
        return fail(`operator "${op}" is not supported`);
      }
      default:
        return fail(`${n.type} is not supported`);
    }
  };
  try {
    const result = walk(condition.ast);
    if (typeof result !== 'boolean') return { error: `condition ${condition.text} is ${JSON.stringify(result)}, not true or false` };
    return { record: { expr: condition.text, values, result } };
  } catch (e) {
    if (e instanceof ConditionTypeError) return { error: `condition ${condition.text}: ${e.message}` };
    throw e;
  }
}

class ConditionTypeError extends Error {}

/** A metric by dotted key in a parsed metrics file (numbers and booleans only). */
export function metricValue(data: unknown, key: string): { found: true; value: unknown } | { found: false } {
  const segments = parseKey(key);
  if (!segments) return { found: false };
  const r = lookup(data, segments);
  return r.found ? { found: true, value: r.value } : { found: false };
}

/** "drift_share = 0.12, train.min = 3": the values a condition read. */
export function conditionValuesText(record: ConditionRecord): string {
  return Object.entries(record.values)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? String(Number(v.toPrecision(6))) : JSON.stringify(v)}`)
    .join(', ');
}
