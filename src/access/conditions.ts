// IAM's string condition operators, evaluated as IAM documents them
// (reference_policies_elements_condition_operators and
// reference_policies_condition-single-vs-multi-valued-context-keys):
// - matching is case-sensitive, except for the *IgnoreCase operators;
// - in StringLike/StringNotLike `*` matches any run of characters (also none)
//   and `?` exactly one; the other operators compare literally;
// - several values for one key are OR-ed; several keys in one operator, and
//   several operators in one Condition block, are AND-ed;
// - a key absent from the request fails a positive operator and satisfies a
//   negated one; `...IfExists` makes an absent key satisfy either;
// - ForAnyValue: some request value must satisfy the operator (absent: false);
//   ForAllValues: every request value must (absent or empty: true);
// - without a set operator, a key with several request values is treated as
//   ForAnyValue for positive operators, and as "none matches" for negated ones.

export type ConditionBlock = Record<string, Record<string, unknown>>;
export type RequestContext = Record<string, string[]>;

export interface ConditionResult {
  operator: string;
  key: string;
  policyValues: string[];
  requestValues: string[] | undefined;
  satisfied: boolean;
  /** Why, in words: shown to a user by check-access. */
  explanation: string;
}

export class UnsupportedConditionError extends Error {}

const BASE_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
] as const;
type BaseOperator = (typeof BASE_OPERATORS)[number];

/** The regular expression equivalent of an IAM StringLike pattern. */
export function likePattern(pattern: string): RegExp {
  const body = [...pattern]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  // 'u': a ? matches one character, also outside the Basic Multilingual Plane.
  return new RegExp(`^${body}$`, 'su');
}

function matchesOne(op: BaseOperator, requestValue: string, policyValue: string): boolean {
  switch (op) {
    case 'StringEquals':
    case 'StringNotEquals':
      return requestValue === policyValue;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return requestValue.toLowerCase() === policyValue.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return likePattern(policyValue).test(requestValue);
  }
}

function parseOperator(full: string): {
  set?: 'ForAnyValue' | 'ForAllValues';
  base: BaseOperator;
  ifExists: boolean;
} {
  let rest = full;
  let set: 'ForAnyValue' | 'ForAllValues' | undefined;
  for (const prefix of ['ForAnyValue:', 'ForAllValues:'] as const) {
    if (rest.startsWith(prefix)) {
      set = prefix.slice(0, -1) as typeof set;
      rest = rest.slice(prefix.length);
    }
  }
  const ifExists = rest.endsWith('IfExists');
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  if (!(BASE_OPERATORS as readonly string[]).includes(rest)) {
    throw new UnsupportedConditionError(`condition operator ${full} is not supported by check-access`);
  }
  return { set, base: rest as BaseOperator, ifExists };
}

const quote = (values: string[]) => values.map((v) => JSON.stringify(v)).join(', ');

export function evaluateCondition(
  operator: string,
  key: string,
  rawPolicyValues: unknown,
  context: RequestContext,
): ConditionResult {
  const { set, base, ifExists } = parseOperator(operator);
  const policyValues = (Array.isArray(rawPolicyValues) ? rawPolicyValues : [rawPolicyValues]).map(String);
  // Condition keys are case-insensitive in IAM; values are not.
  const contextKey = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  const requestValues = contextKey === undefined ? undefined : context[contextKey];
  const negated = base.startsWith('StringNot');
  const matchesAny = (v: string) => policyValues.some((p) => matchesOne(base, v, p));
  const satisfiedBy = (v: string) => (negated ? !matchesAny(v) : matchesAny(v));
  const result = (satisfied: boolean, explanation: string): ConditionResult => ({
    operator,
    key,
    policyValues,
    requestValues,
    satisfied,
    explanation,
  });

  if (requestValues === undefined || (requestValues.length === 0 && set !== 'ForAllValues')) {
    if (set === 'ForAllValues')
      return result(true, `${key} is absent, and ForAllValues is true for an absent key`);
    if (ifExists) return result(true, `${key} is absent, so ${operator} is satisfied`);
    if (negated && !set) return result(true, `${key} is absent, so the negated ${operator} is satisfied`);
    return result(false, `${key} is not in the request, so ${operator} fails`);
  }
  if (set === 'ForAllValues') {
    const failing = requestValues.filter((v) => !satisfiedBy(v));
    return failing.length === 0
      ? result(true, `every value of ${key} satisfies ${base} [${quote(policyValues)}]`)
      : result(false, `${key} value ${quote(failing)} does not satisfy ${base} [${quote(policyValues)}]`);
  }
  if (set === 'ForAnyValue' || !negated) {
    const hit = requestValues.find(satisfiedBy);
    if (hit !== undefined) {
      const pattern = negated ? undefined : policyValues.find((p) => matchesOne(base, hit, p));
      return result(
        true,
        pattern !== undefined
          ? `${key} ${JSON.stringify(hit)} matches ${JSON.stringify(pattern)} (${base})`
          : `${key} ${JSON.stringify(hit)} matches none of [${quote(policyValues)}] (${base})`,
      );
    }
    return result(
      false,
      negated
        ? `every value of ${key} (${quote(requestValues)}) matches one of [${quote(policyValues)}], which ${operator} refuses`
        : `${key} ${quote(requestValues)} matches none of [${quote(policyValues)}] (${base}${base === 'StringEquals' && policyValues.some((p) => /[*?]/.test(p)) ? ': StringEquals compares literally, a * or ? is not a wildcard there; use StringLike' : ''})`,
    );
  }
  // Negated operator without a set operator: no request value may match.
  const hits = requestValues.filter((v) => matchesAny(v));
  return hits.length === 0
    ? result(true, `${key} ${quote(requestValues)} matches none of [${quote(policyValues)}] (${base})`)
    : result(false, `${key} ${quote(hits)} matches [${quote(policyValues)}], which ${base} refuses`);
}

/** Every operator and key of a Condition block; all must be satisfied. */
export function evaluateConditions(
  block: ConditionBlock | undefined,
  context: RequestContext,
): ConditionResult[] {
  const results: ConditionResult[] = [];
  for (const [operator, keys] of Object.entries(block ?? {})) {
    for (const [key, values] of Object.entries(keys))
      results.push(evaluateCondition(operator, key, values, context));
  }
  return results;
}
