// The condition language: parsing, type checks and evaluation, without a
// project (the CLI tests cover locations, skips and keys).
import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseCondition, type MetricReader } from '../../src/pipeline/condition.js';
import { ParamContext } from '../../src/pipeline/params.js';
import { SourceFile } from '../../src/pipeline/source.js';

const source = new SourceFile('p.yaml', '/p.yaml', 'x');
const loc = source.at(0, 1);
const scope = { vars: { limit: 3, name: 'blue', on: true }, params: new ParamContext([{ path: 'params.yaml', data: { train: { min: 0.5, tags: ['a'] } } }]) };

function parse(text: string | boolean) {
  return parseCondition(text, loc, () => loc, scope);
}

const metrics: Record<string, unknown> = { drift: 0.4, flag: true, label: 'x' };
const read: MetricReader = (_stage, key) => (key in metrics ? { value: metrics[key] } : { error: `no ${key}` });

function evaluate(text: string) {
  const p = parse(text);
  if (!p.condition) throw new Error(p.diagnostics.map((d) => d.message).join('; '));
  return evaluateCondition(p.condition, read);
}

describe('conditions', () => {
  it('evaluates comparisons, arithmetic and logic with the values it read', () => {
    expect(evaluate('${stages.m.metrics.drift} > ${train.min} - 0.2 && ${on}')).toEqual({
      record: { expr: '${stages.m.metrics.drift} > ${train.min} - 0.2 && ${on}', values: { 'stages.m.metrics.drift': 0.4, 'train.min': 0.5, on: true }, result: true },
    });
    expect((evaluate('!(${limit} * 2 >= 6) || ${name} == "red"') as { record: { result: boolean } }).record.result).toBe(false);
    expect((evaluate('${stages.m.metrics.flag}') as { record: { result: boolean } }).record.result).toBe(true);
    expect((evaluate('${limit} % 2 == 1 && 2 ** 3 == 8') as { record: { result: boolean } }).record.result).toBe(true);
    expect((evaluate('false || ${stages.m.metrics.drift} <= 0.4') as { record: { result: boolean } }).record.result).toBe(true);
    expect((parse(false).condition && evaluateCondition(parse(false).condition!, read)) as unknown).toEqual({ record: { expr: 'false', values: {}, result: false } });
  });

  it('reads every reference before evaluating: a missing metric is an error even where the other side decides', () => {
    expect((evaluate('false && ${stages.m.metrics.missing} > 1') as { error?: string }).error).toBe('condition false && ${stages.m.metrics.missing} > 1: no missing');
  });

  it('reports a metric of the wrong type at run time', () => {
    expect(evaluate('${stages.m.metrics.label} > 1')).toEqual({ error: 'condition ${stages.m.metrics.label} > 1: ${stages.m.metrics.label} > 1 compares "x" with 1' });
    expect(evaluate('${stages.m.metrics.drift}')).toEqual({ error: 'condition ${stages.m.metrics.drift} is 0.4, not true or false' });
    expect(evaluate('!${stages.m.metrics.drift}')).toEqual({ error: 'condition !${stages.m.metrics.drift}: ${stages.m.metrics.drift} is 0.4, not a boolean' });
  });

  it('rejects type errors, unknown operators and names when parsed', () => {
    const message = (text: string) => parse(text).diagnostics.map((d) => d.message).join('; ');
    expect(message('${limit} && true')).toBe('"&&" joins true/false values, but ${limit} is a number and true is a boolean');
    expect(message('${name} + 1 > 0')).toBe('"+" needs numbers, but ${name} is a string and 1 is a number');
    expect(message('${train.tags} == 1')).toBe('"==" compares values of one type, but ${train.tags} is a list or mapping and 1 is a number');
    expect(message('${limit} << 2 > 1')).toBe('operator "<<" is not supported in conditions');
    expect(message('${limit} ? 1 : 2')).toContain('cannot be used in a condition');
    expect(message('a.b == 1')).toBe('property access outside ${...} cannot be used in a condition');
    expect(message('${limit}')).toBe('the condition is a number, not true or false');
    expect(message('${stages.m.drift} > 1')).toBe('"${stages.m.drift}": a condition reads a stage\'s metrics as ${stages.<stage>.metrics.<key>}');
    expect(message('${nope} > 1')).toContain('unknown name "nope"');
    expect(message('x'.repeat(2001))).toContain('at most 2,000');
  });

  it('reads stage names that contain dots up to the metrics segment', () => {
    const p = parse('${stages.train.v2.metrics.acc.top} > 0.5');
    expect(p.condition!.refs[0]!.source).toEqual({ kind: 'metric', stage: 'train.v2', key: 'acc.top' });
  });
});
