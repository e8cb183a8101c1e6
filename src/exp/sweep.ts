// `exp run --set KEY=VALUES`: a value list `a,b,c` or `range(start,stop[,step])`
// (stop excluded, as in Python) makes one experiment per value, and several
// lists make their cross product. Each value is YAML (commas inside brackets,
// braces or quotes do not split). A syntax error points at its character.
import { parse } from 'yaml';
import { error, type Diagnostic } from '../pipeline/diagnostic.js';
import { parseKey } from '../pipeline/params.js';
import { SourceFile } from '../pipeline/source.js';

/** More experiments than this from one command line is a mistake, not a sweep. */
export const MAX_EXPERIMENTS = 1000;

export interface SweepAxis {
  readonly key: string;
  readonly values: readonly unknown[];
}

function at(arg: string, start: number, end: number, message: string, suggestion?: string): Diagnostic {
  const source = new SourceFile('--set', '', arg);
  return error('bad-sweep', message, source.at(start, end), suggestion ? { suggestion } : {});
}

/** Splits at commas outside brackets, braces and quotes: [text, offset] pairs, or the offset of an unbalanced character. */
function splitTopLevel(text: string): { parts: [string, number][] } | { bad: number; what: string } {
  const parts: [string, number][] = [];
  const stack: string[] = [];
  let quote: string | undefined;
  let start = 0;
  let quoteAt = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      quoteAt = i;
    } else if (ch === '[' || ch === '{' || ch === '(') stack.push(ch);
    else if (ch === ']' || ch === '}' || ch === ')') {
      const open = stack.pop();
      if (open !== { ']': '[', '}': '{', ')': '(' }[ch]) return { bad: i, what: `unbalanced "${ch}"` };
    } else if (ch === ',' && stack.length === 0) {
      parts.push([text.slice(start, i), start]);
      start = i + 1;
    }
  }
  if (quote) return { bad: quoteAt, what: `unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  if (stack.length > 0) return { bad: text.lastIndexOf(stack[stack.length - 1]!), what: `unclosed "${stack[stack.length - 1]}"` };
  parts.push([text.slice(start), start]);
  return { parts };
}

const RANGE = /^range\((.*)\)$/s;

/** Parses one `--set` of exp run into its key and values, or a diagnostic pointing into the argument. */
export function parseSweepSet(arg: string): SweepAxis | Diagnostic {
  const eq = arg.indexOf('=');
  if (eq <= 0) return at(arg, 0, arg.length, `--set "${arg}" must be KEY=VALUE`, 'for example --set train.lr=0.01,0.1 or --set train.units=range(16,65,16)');
  const key = arg.slice(0, eq);
  if (!parseKey(key)) return at(arg, 0, eq, `"${key}" is not a param key; write a dotted key such as train.lr`);
  const text = arg.slice(eq + 1);
  const base = eq + 1;
  const range = RANGE.exec(text.trim());
  if (range) {
    const inner = range[1]!;
    const innerAt = base + text.indexOf('(') + 1;
    const split = splitTopLevel(inner);
    if ('bad' in split) return at(arg, innerAt + split.bad, innerAt + split.bad + 1, `range(): ${split.what}`);
    if (split.parts.length < 2 || split.parts.length > 3) return at(arg, innerAt, innerAt + inner.length, `range() takes start, stop and an optional step, not ${split.parts.length} argument${split.parts.length === 1 ? '' : 's'}`, 'for example range(16,65,16) for 16, 32, 48, 64');
    const nums: number[] = [];
    for (const [part, off] of split.parts) {
      const n = part.trim() === '' ? NaN : Number(part);
      if (!Number.isFinite(n)) return at(arg, innerAt + off, innerAt + off + Math.max(1, part.length), `range(): "${part.trim()}" is not a number`);
      nums.push(n);
    }
    const [start, stop, step = 1] = nums as [number, number, number?];
    if (step === 0) return at(arg, innerAt + split.parts[2]![1], innerAt + split.parts[2]![1] + split.parts[2]![0].length, 'range(): the step must not be 0');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count === 0) return at(arg, base, base + text.length, `range(${start}, ${stop}, ${step}) is empty (stop is excluded, as in Python)`);
    if (count > MAX_EXPERIMENTS) return at(arg, base, base + text.length, `range(${start}, ${stop}, ${step}) has ${count} values; at most ${MAX_EXPERIMENTS} experiments per command`);
    // Computed from the start each time, and rounded to the step's precision, so 0.1 steps stay 0.1, 0.2, 0.3.
    const digits = Math.max(...nums.map((n) => (String(n).split('.')[1] ?? '').length));
    return { key, values: Array.from({ length: count }, (_, i) => Number((start + i * step).toFixed(digits))) };
  }
  const split = splitTopLevel(text);
  if ('bad' in split) return at(arg, base + split.bad, base + split.bad + 1, `${split.what} in the value`);
  const values: unknown[] = [];
  for (const [part, off] of split.parts) {
    if (part.trim() === '' && split.parts.length > 1) return at(arg, base + off, base + off + 1, 'empty value in the list', 'separate values with single commas: --set train.lr=0.01,0.1');
    try {
      values.push(parse(part));
    } catch (e) {
      return at(arg, base + off, base + off + Math.max(1, part.length), `the value "${part}" is not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return { key, values };
}

/** Every combination of the axes' values (the first axis varies slowest), or a diagnostic when there are too many. */
export function crossProduct(axes: readonly SweepAxis[]): Map<string, unknown>[] | Diagnostic {
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > MAX_EXPERIMENTS) return error('bad-sweep', `the --set lists make ${total} experiments; at most ${MAX_EXPERIMENTS} per command`, undefined, { suggestion: 'sweep fewer values, or split the sweep over several exp run commands' });
  let combos: Map<string, unknown>[] = [new Map()];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => new Map([...c, [axis.key, v]])));
  return combos;
}
