// Property: for random access specs and random GitLab ID token claims,
// check-access's verdict on the trust policy the operator generates equals an
// oracle written from GitLab's sub rules alone. Nothing outside the declared
// scope is allowed; nothing inside it is denied.
//
// The oracle deliberately shares no code with the project (no likePattern, no
// subjectPatterns): it compares fields, not a joined sub string, and matches
// ref globs with its own recursive matcher over code points.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAccess } from '../../src/access/check.ts';
import { subjectPatterns, trustPolicy } from '../../src/policy/trust-policy.ts';

const ISSUER = 'https://gitlab.example.com';
const PROVIDER_URL = 'gitlab.example.com';
const PROVIDER_ARN = 'arn:aws:iam::123456789012:oidc-provider/gitlab.example.com';
const AUDIENCE = 'https://gitlab.example.com';
const OTHER_AUDIENCES = ['https://gitlab.example.co', 'https://gitlab.example.com/', 'sts.amazonaws.com', ''];

type RefType = 'branch' | 'tag';
interface Entry {
  project?: string;
  group?: string;
  refType?: RefType | 'any';
  refs: string[];
}
interface Claims {
  projectPath: string;
  refType: RefType;
  ref: string;
  aud: string;
}

// --- the oracle --------------------------------------------------------------

/** `*` matches any run of characters (also none), `?` exactly one; everything else itself. */
function glob(pattern: readonly string[], text: readonly string[], p = 0, t = 0): boolean {
  if (p === pattern.length) return t === text.length;
  const head = pattern[p];
  if (head === '*') {
    for (let skip = t; skip <= text.length; skip++) if (glob(pattern, text, p + 1, skip)) return true;
    return false;
  }
  if (t === text.length) return false;
  if (head === '?' || head === text[t]) return glob(pattern, text, p + 1, t + 1);
  return false;
}
const globMatches = (pattern: string, text: string) => glob(Array.from(pattern), Array.from(text));

function entryAdmits(entry: Entry, claims: Claims): boolean {
  const pathOk =
    entry.project !== undefined
      ? claims.projectPath === entry.project
      : entry.group !== undefined && claims.projectPath.startsWith(`${entry.group}/`);
  const refType = entry.refType ?? 'branch'; // the CRD's default
  const refTypeOk = refType === 'any' || refType === claims.refType;
  return pathOk && refTypeOk && entry.refs.some((r) => globMatches(r, claims.ref));
}

function oracle(entries: Entry[], claims: Claims): boolean {
  return claims.aud === AUDIENCE && entries.some((e) => entryAdmits(e, claims));
}

// Self-checks of the oracle's matcher, so a wrong oracle cannot pass as a finding.
describe('the oracle glob matcher', () => {
  it.each([
    ['main', 'main', true],
    ['main', 'mai', false],
    ['*', '', true],
    ['*', 'a/b:c', true],
    ['?', '', false],
    ['?', 'é', true],
    ['v?', 'v1', true],
    ['v?', 'v10', false],
    ['release/*', 'release/', true],
    ['release/*', 'release', false],
    ['*-x', 'a-b-x', true],
    ['**', 'abc', true],
    ['a*b*c', 'abxbc', true],
    ['a*b*c', 'acb', false],
    ['a.b', 'axb', false],
  ] as const)('%j vs %j is %s', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });
});

// --- generators ----------------------------------------------------------------

const SEGMENTS = ['team', 'team-evil', 'app', 'lib', 'a.b'];
const segment = fc.constantFrom(...SEGMENTS);
const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

// Refs a job can run for: no * or ? (Git forbids them), no : (Git forbids it too).
const REF_CHARS = ['m', 'a', 'i', 'n', 'v', '1', '.', '/', '-'];
const EXACT_REFS = ['main', 'master', 'mai', 'v1', 'v1.0', 'v11', 'release/1.0', 'release/', 'feature/x-1'];
const gitRef = fc.oneof(
  fc.constantFrom(...EXACT_REFS),
  fc.array(fc.constantFrom(...REF_CHARS), { minLength: 1, maxLength: 6 }).map((c) => c.join('')),
);
const GLOB_REFS = ['*', '**', '?', 'v*', 'v?', 'v?.?', 'release/*', '*-1', 'ma?n', '*/*', 'm*n', '*1'];
const refPattern = fc.oneof(
  gitRef,
  fc.constantFrom(...GLOB_REFS),
  fc.array(fc.constantFrom(...REF_CHARS, '*', '?'), { minLength: 1, maxLength: 6 }).map((c) => c.join('')),
);

const entry: fc.Arbitrary<Entry> = fc
  .record({
    where: fc.oneof(
      path.map((p) => ({ project: p })),
      path.map((g) => ({ group: g })),
    ),
    refType: fc.constantFrom<Entry['refType']>('branch', 'tag', 'any', undefined),
    refs: fc.uniqueArray(refPattern, { minLength: 1, maxLength: 3 }),
  })
  .map(({ where, refType, refs }) => ({ ...where, ...(refType === undefined ? {} : { refType }), refs }));

// Claims are built from the spec by a recipe rather than with fc.chain, so that
// a counterexample shrinks entries and claims independently.
interface Recipe {
  kind: 'admitted' | 'nearMiss' | 'prefixed' | 'random';
  entryIndex: number;
  refIndex: number;
  below: string;
  refType: RefType;
  fills: string[];
  singles: string[];
  random: Claims;
  field: keyof Claims;
  prefix: string;
}

/** A ref the glob matches: the k-th * becomes fills[k] (or nothing), each ? one of singles. */
function fillGlob(pattern: string, fills: string[], singles: string[]): string {
  let stars = 0;
  let marks = 0;
  const ref = Array.from(pattern)
    .map((ch) => {
      if (ch === '*') return fills[stars++] ?? '';
      if (ch === '?') return singles[marks++ % singles.length];
      return ch;
    })
    .join('');
  return ref === '' ? 'main' : ref; // only an all-* glob fills to nothing, and it matches main
}

/** Claims one entry admits: its path (or one below its group), a fitting ref type, a ref its glob matches. */
function admittedBy(e: Entry, r: Recipe): Claims {
  const ref = e.refs[r.refIndex % e.refs.length] ?? 'main';
  return {
    projectPath: e.project ?? `${e.group}/${r.below}`,
    refType: e.refType === 'any' ? r.refType : (e.refType ?? 'branch'),
    ref: fillGlob(ref, r.fills, r.singles),
    aud: AUDIENCE,
  };
}

/** Admitted claims, the same with one field changed (near misses) or a parent segment added, and random claims. */
function claimsFrom(entries: Entry[], r: Recipe): Claims {
  const e = entries[r.entryIndex % entries.length] as Entry;
  switch (r.kind) {
    case 'admitted':
      return admittedBy(e, r);
    case 'nearMiss':
      return { ...admittedBy(e, r), [r.field]: r.random[r.field] };
    case 'prefixed': {
      const claims = admittedBy(e, r);
      return { ...claims, projectPath: `${r.prefix}/${claims.projectPath}` };
    }
    case 'random':
      return r.random;
  }
}

const refChar = fc.constantFrom(...REF_CHARS);
const recipe: fc.Arbitrary<Recipe> = fc.record({
  kind: fc.constantFrom('admitted', 'nearMiss', 'prefixed', 'random'),
  entryIndex: fc.nat({ max: 3 }),
  refIndex: fc.nat({ max: 2 }),
  below: path,
  refType: fc.constantFrom<RefType>('branch', 'tag'),
  fills: fc.array(
    fc.array(refChar, { maxLength: 3 }).map((c) => c.join('')),
    { maxLength: 6 },
  ),
  singles: fc.array(refChar, { minLength: 1, maxLength: 3 }),
  random: fc.record({
    projectPath: path,
    refType: fc.constantFrom<RefType>('branch', 'tag'),
    ref: gitRef,
    aud: fc.oneof({ weight: 4, arbitrary: fc.constant(AUDIENCE) }, fc.constantFrom(...OTHER_AUDIENCES)),
  }),
  field: fc.constantFrom<keyof Claims>('projectPath', 'refType', 'ref', 'aud'),
  prefix: segment,
});

const scenario = fc
  .tuple(fc.array(entry, { minLength: 1, maxLength: 4 }), recipe)
  .map(([entries, r]) => [entries, claimsFrom(entries, r)] as const);

// --- the system under test -------------------------------------------------------

function verdict(entries: Entry[], claims: Claims): boolean {
  const policy = trustPolicy({
    providerArn: PROVIDER_ARN,
    providerUrl: PROVIDER_URL,
    audiences: [AUDIENCE],
    subjects: entries.flatMap((e) => {
      const built = subjectPatterns(e as never);
      return built.kind === 'patterns' ? built.patterns : [];
    }),
  });
  // The sub claim as GitLab builds it with the default components.
  const sub = `project_path:${claims.projectPath}:ref_type:${claims.refType}:ref:${claims.ref}`;
  return checkAccess({
    claims: { iss: ISSUER, sub, aud: [claims.aud] },
    trustPolicy: policy,
    provider: { arn: PROVIDER_ARN, url: PROVIDER_URL, clientIds: [AUDIENCE] },
  }).allowed;
}

const RUNS = 5000;

describe('check-access on the generated trust policy agrees with the GitLab sub rules', () => {
  it(`for ${RUNS} random specs and tokens: nothing outside the scope allowed, nothing inside denied`, () => {
    const counts = { allowed: 0, denied: 0 };
    fc.assert(
      fc.property(scenario, ([entries, claims]) => {
        const expected = oracle(entries, claims);
        const actual = verdict(entries, claims);
        counts[expected ? 'allowed' : 'denied']++;
        if (actual && !expected) throw new Error('allowed a token outside the declared scope');
        if (!actual && expected) throw new Error('denied a token inside the declared scope');
      }),
      { numRuns: RUNS },
    );
    // Both verdicts must be well represented, or the property says little.
    expect(counts.allowed).toBeGreaterThan(RUNS / 10);
    expect(counts.denied).toBeGreaterThan(RUNS / 10);
  });
});
