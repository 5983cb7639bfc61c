// Property: the GitLabAwsFederation CRD, applied to the real API server,
// refuses random malformed GitLab paths and refs (naming the field in its
// message) and accepts random well-formed ones. One object per run, applied
// with `kubectl apply --dry-run=server`; each object carries several cases.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, type KubectlResult, kubectl } from '../harness/kube.ts';

const RUNS = 40;

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('crd-prop');
});

let serial = 0;
function federation(access: object[]): object {
  serial++;
  return {
    apiVersion: 'gitlab-aws.io/v1alpha1',
    kind: 'GitLabAwsFederation',
    metadata: { name: `prop-${serial}` },
    spec: { access },
  };
}

const dryRun = (obj: object): Promise<KubectlResult> =>
  kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], { stdin: JSON.stringify(obj) });

// The API server quotes string values with Go's %q; for the characters
// generated here (printable ASCII, \t \n \r \f) that is JSON's quoting too.
const quoted = (value: string) => JSON.stringify(value);
const PATH_PATTERN = "'^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)*$'";
// A project's path has its namespace: one segment more than nothing.
const PROJECT_PATTERN = "'^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)+$'";
const patternOf = (f: string) => (f === 'project' ? PROJECT_PATTERN : PATH_PATTERN);
const REF_PATTERN = `'^[^\\s\\x00-\\x1f\\x7f~^:\\[\\\\$"]+$'`;
const patternError = (field: string, value: string, pattern: string) =>
  `${field}: Invalid value: ${quoted(value)}: ${field} in body should match ${pattern}`;

// --- well-formed values -------------------------------------------------------------

const chars = (alphabet: string, minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((c) => c.join(''));
const WORD = 'abcXYZ019_-';
const pathSegment = fc
  .array(chars(WORD, 1, 6), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('.'));
const segments = fc.array(pathSegment, { minLength: 1, maxLength: 4 });
const goodPath = segments.map((s) => s.join('/'));
const goodProjectPath = fc.array(pathSegment, { minLength: 2, maxLength: 4 }).map((s) => s.join('/'));

// Anything but whitespace and ~ ^ : [ \ $ ", globs included.
const goodRef = chars("abcXYZ019/._-*?+@!#%&(),;<>={}|'`", 1, 20);

// --- malformed values -----------------------------------------------------------------

const PATH_BAD_CHARS = ['*', '?', ':', '"', "'", ' ', '\t', '\n', '@', '~', '\\', '%', '!'];
/** A well-formed path broken in one way; every one of them is outside the path grammar. */
const badPath: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(goodPath, fc.constantFrom(...PATH_BAD_CHARS), fc.nat())
    .map(([p, ch, at]) => p.slice(0, at % (p.length + 1)) + ch + p.slice(at % (p.length + 1))),
  goodPath.map((p) => `/${p}`),
  goodPath.map((p) => `${p}/`),
  // an empty segment (at either end, a leading or trailing slash)
  fc.tuple(segments, fc.nat()).map(([s, at]) => {
    const copy = [...s];
    copy.splice(at % (s.length + 1), 0, '');
    return copy.join('/');
  }),
  // .. inside a segment or as a segment
  fc
    .tuple(goodPath, fc.nat())
    .map(([p, at]) => `${p.slice(0, at % (p.length + 1))}..${p.slice(at % (p.length + 1))}`),
  fc.tuple(segments, fc.nat()).map(([s, at]) => {
    const copy = [...s];
    copy.splice(at % (s.length + 1), 0, '..');
    return copy.join('/');
  }),
);

const REF_BAD_CHARS = [' ', '\t', '\n', '\r', '\f', '~', '^', ':', '[', '\\', '$', '"'];
const badRef = fc
  .tuple(goodRef, fc.constantFrom(...REF_BAD_CHARS), fc.nat())
  .map(([r, ch, at]) => r.slice(0, at % (r.length + 1)) + ch + r.slice(at % (r.length + 1)));

const field = fc.constantFrom('project', 'group');

// --- properties ---------------------------------------------------------------------

describe('the CRD refuses malformed GitLab paths and refs, naming the field', () => {
  it(`${RUNS} objects, each with 1-3 malformed paths and 1-3 malformed refs`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(field, badPath), { minLength: 1, maxLength: 3 }),
        fc.array(badRef, { minLength: 1, maxLength: 3 }),
        async (paths, refs) => {
          const access = [
            ...paths.map(([f, p]) => ({ [f]: p, refs: ['main'] })),
            { project: 'payments/api', refs },
          ];
          const result = await dryRun(federation(access));
          expect(result.code).not.toBe(0);
          paths.forEach(([f, p], i) => {
            expect(result.stderr).toContain(patternError(`spec.access[${i}].${f}`, p, patternOf(f)));
          });
          refs.forEach((r, j) => {
            expect(result.stderr).toContain(
              patternError(`spec.access[${paths.length}].refs[${j}]`, r, REF_PATTERN),
            );
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the CRD accepts well-formed GitLab paths and refs', () => {
  it(`${RUNS} objects, each with 1-4 entries of random paths and refs`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            where: fc.oneof(
              goodProjectPath.map((p): [string, string] => ['project', p]),
              goodPath.map((p): [string, string] => ['group', p]),
            ),
            refType: fc.constantFrom('branch', 'tag', 'any'),
            refs: fc.array(goodRef, { minLength: 1, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (entries) => {
          const access = entries.map(({ where: [f, p], refType, refs }) => ({ [f]: p, refType, refs }));
          const result = await dryRun(federation(access));
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('the CRD refuses a project without its namespace', () => {
  it(`${RUNS / 4} objects, each naming a bare project`, async () => {
    await fc.assert(
      fc.asyncProperty(pathSegment, async (bare) => {
        const result = await dryRun(federation([{ project: bare, refs: ['main'] }]));
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain(patternError('spec.access[0].project', bare, PROJECT_PATTERN));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});

// Git forbids ASCII control characters (below 0x20, and DEL) in ref names. RE2's
// \s is only [\t\n\f\r ], so the pattern names the control characters itself:
// this property found refs ["\u0001a"] accepted before it did.
describe('the CRD refuses refs with ASCII control characters', () => {
  const CONTROL = [...Array(32).keys(), 127]
    .map((code) => String.fromCharCode(code))
    .filter((ch) => !'\t\n\f\r'.includes(ch) && ch !== '\0');
  const controlRef = fc
    .tuple(goodRef, fc.constantFrom(...CONTROL), fc.nat())
    .map(([r, ch, at]) => `${r.slice(0, at % (r.length + 1))}${ch}${r.slice(at % (r.length + 1))}`);

  it(`${RUNS / 4} objects, each with 1-3 refs holding a control character`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(controlRef, { minLength: 1, maxLength: 3 }), async (refs) => {
        const result = await dryRun(federation([{ project: 'payments/api', refs }]));
        expect(result.code).not.toBe(0);
        refs.forEach((_, j) => {
          expect(result.stderr).toContain(`spec.access[0].refs[${j}]: Invalid value: `);
        });
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
