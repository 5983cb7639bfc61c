// IAM's documented string-condition semantics, case by case.
import { describe, expect, it } from 'vitest';
import {
  evaluateCondition,
  evaluateConditions,
  UnsupportedConditionError,
} from '../../src/access/conditions.ts';

const SUB = 'gitlab.example.com:sub';
const ctx = (values?: string[]): Record<string, string[]> => (values === undefined ? {} : { [SUB]: values });

describe('IAM string conditions', () => {
  it.each([
    // operator, policy values, request values, satisfied
    ['StringEquals', 'main', ['main'], true],
    ['StringEquals', 'main', ['Main'], false], // case-sensitive
    ['StringEquals', ['dev', 'main'], ['main'], true], // values OR-ed
    ['StringEquals', 'release/*', ['release/1'], false], // no wildcards in StringEquals
    ['StringEquals', 'release/*', ['release/*'], true],
    ['StringEqualsIgnoreCase', 'MAIN', ['main'], true],
    ['StringNotEquals', 'main', ['dev'], true],
    ['StringNotEquals', ['dev', 'main'], ['main'], false],
    ['StringNotEqualsIgnoreCase', 'MAIN', ['main'], false],
    ['StringLike', 'release/*', ['release/1.2'], true],
    ['StringLike', 'release/*', ['release/'], true], // * matches nothing too
    ['StringLike', 'release/*', ['Release/1'], false], // case-sensitive
    ['StringLike', 'v?', ['v1'], true],
    ['StringLike', 'v?', ['v10'], false], // ? is exactly one character
    ['StringLike', 'v?', ['v'], false],
    ['StringLike', 'v?', ['v🚀'], true], // one character, not one UTF-16 unit
    ['StringLike', 'a*b*c', ['aXbYc'], true],
    ['StringLike', 'a.b', ['aXb'], false], // regex characters are literal
    ['StringLike', 'a+b', ['a+b'], true],
    ['StringLike', 'p:g/*:ref_type:branch:ref:main', ['p:g/sub/x:ref_type:branch:ref:main'], true], // * crosses / and :
    ['StringNotLike', 'feature/*', ['main'], true],
    ['StringNotLike', 'feature/*', ['feature/x'], false],
    // a key absent from the request
    ['StringEquals', 'main', undefined, false],
    ['StringLike', '*', undefined, false],
    ['StringNotEquals', 'main', undefined, true],
    ['StringEqualsIfExists', 'main', undefined, true],
    ['StringEqualsIfExists', 'main', ['dev'], false],
    ['StringLikeIfExists', 'ma*', ['main'], true],
    // several request values (multivalued key)
    ['StringEquals', 'a', ['b', 'a'], true],
    ['StringNotEquals', 'a', ['b', 'a'], false],
    ['ForAnyValue:StringEquals', 'a', ['b', 'a'], true],
    ['ForAnyValue:StringEquals', 'a', ['b', 'c'], false],
    ['ForAnyValue:StringEquals', 'a', undefined, false],
    ['ForAnyValue:StringEquals', 'a', [], false],
    ['ForAllValues:StringEquals', ['a', 'b'], ['b', 'a'], true],
    ['ForAllValues:StringEquals', ['a'], ['b', 'a'], false],
    ['ForAllValues:StringEquals', 'a', undefined, true], // absent: true
    ['ForAllValues:StringEquals', 'a', [], true], // empty: true
    ['ForAllValues:StringLike', 'x*', ['xa', 'xb'], true],
    ['ForAnyValue:StringNotLike', 'x*', ['xa', 'yb'], true],
    ['ForAllValues:StringNotLike', 'x*', ['ya', 'xb'], false],
  ] as const)('%s %j on %j → %s', (operator, policy, request, satisfied) => {
    expect(evaluateCondition(operator, SUB, policy, ctx(request as string[] | undefined)).satisfied).toBe(
      satisfied,
    );
  });

  it('matches condition keys case-insensitively and values case-sensitively', () => {
    expect(evaluateCondition('StringEquals', 'GitLab.Example.com:SUB', 'main', ctx(['main'])).satisfied).toBe(
      true,
    );
  });

  it('ANDs keys and operators of one block', () => {
    const context = { 'h:sub': ['s1'], 'h:aud': ['a1'] };
    const ok = evaluateConditions(
      { StringEquals: { 'h:aud': 'a1' }, StringLike: { 'h:sub': 's*' } },
      context,
    );
    expect(ok.every((r) => r.satisfied)).toBe(true);
    const bad = evaluateConditions({ StringEquals: { 'h:aud': 'a1', 'h:sub': 'other' } }, context);
    expect(bad.map((r) => r.satisfied)).toEqual([true, false]);
  });

  it('explains a failure with the value seen and the patterns compared', () => {
    const r = evaluateCondition(
      'StringLike',
      SUB,
      ['p:ref:main', 'p:ref:release/*'],
      ctx(['p:ref:feature/x']),
    );
    expect(r.explanation).toBe(
      'gitlab.example.com:sub "p:ref:feature/x" matches none of ["p:ref:main", "p:ref:release/*"] (StringLike)',
    );
  });

  it('points out a wildcard used with StringEquals', () => {
    const r = evaluateCondition('StringEquals', SUB, 'p:ref:*', ctx(['p:ref:main']));
    expect(r.explanation).toContain(
      'StringEquals compares literally, a * or ? is not a wildcard there; use StringLike',
    );
  });

  it('refuses operators it cannot evaluate rather than guessing', () => {
    expect(() => evaluateCondition('NumericLessThan', SUB, '1', ctx(['0']))).toThrow(
      UnsupportedConditionError,
    );
  });
});
