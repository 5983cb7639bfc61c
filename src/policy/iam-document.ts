// IAM policy documents, compared by meaning: IAM reorders keys, turns single
// values into strings or arrays as it likes, and hands documents back
// URL-encoded. Comparing canonical forms means no update loop over a
// difference that IAM itself introduced.

export type PolicyValue = string | string[];

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, PolicyValue>;
  NotPrincipal?: Record<string, PolicyValue>;
  Action?: PolicyValue;
  NotAction?: PolicyValue;
  Resource?: PolicyValue;
  NotResource?: PolicyValue;
  Condition?: Record<string, Record<string, PolicyValue | boolean | number>>;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** Parses a document as IAM returns it (URL-encoded JSON) or as a user wrote it. */
export function parsePolicy(text: string): PolicyDocument {
  const trimmed = text.trim();
  return JSON.parse(
    trimmed.startsWith('%7B') || trimmed.startsWith('%7b') ? decodeURIComponent(trimmed) : trimmed,
  );
}

export function statementsOf(doc: PolicyDocument): PolicyStatement[] {
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

export function asList(value: PolicyValue | boolean | number | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

const sortedUnique = (values: string[]) => [...new Set(values)].sort();

function canonicalMap(map: Record<string, PolicyValue | boolean | number> | undefined) {
  if (!map) return undefined;
  return Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, sortedUnique(asList(map[k]))]),
  );
}

function canonicalStatement(s: PolicyStatement): string {
  const principal =
    s.Principal === '*'
      ? '*'
      : s.Principal
        ? canonicalMap(s.Principal as Record<string, PolicyValue>)
        : undefined;
  return JSON.stringify({
    Sid: s.Sid ?? '',
    Effect: s.Effect,
    Principal: principal,
    NotPrincipal: canonicalMap(s.NotPrincipal),
    Action: s.Action === undefined ? undefined : sortedUnique(asList(s.Action)),
    NotAction: s.NotAction === undefined ? undefined : sortedUnique(asList(s.NotAction)),
    Resource: s.Resource === undefined ? undefined : sortedUnique(asList(s.Resource)),
    NotResource: s.NotResource === undefined ? undefined : sortedUnique(asList(s.NotResource)),
    Condition: s.Condition
      ? Object.fromEntries(
          Object.keys(s.Condition)
            .sort()
            .map((op) => [op, canonicalMap(s.Condition![op])]),
        )
      : undefined,
  });
}

/** A canonical string: equal for documents IAM treats as the same. */
export function canonicalPolicy(doc: PolicyDocument | string): string {
  const parsed = typeof doc === 'string' ? parsePolicy(doc) : doc;
  return JSON.stringify({
    Version: parsed.Version ?? '2008-10-17',
    Id: parsed.Id,
    Statement: statementsOf(parsed).map(canonicalStatement).sort(),
  });
}

export function samePolicy(a: PolicyDocument | string, b: PolicyDocument | string): boolean {
  return canonicalPolicy(a) === canonicalPolicy(b);
}
