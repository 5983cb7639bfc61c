// What a GitLabAwsPolicy allows (DESIGN.md 2.5), decided in one place: the
// operator asks it before every AWS or GitLab write, the tests ask it what the
// chart's ValidatingAdmissionPolicy must say, and docs/tenancy.md explains it.
// Pure: the caller brings the policies and the namespace's labels.
import type {
  GitLabAwsFederationSpec,
  GitLabAwsPolicySpec,
  GitLabConnectionSpec,
  NamespaceSelector,
} from '../api/v1alpha1/index.ts';
import { passedRoles, presetOf } from './grants.ts';

export const GITLAB_COM = 'https://gitlab.com';
export const ADOPT_ANNOTATION = 'gitlab-aws.io/adopt';
const MAX_SESSION_DURATION = 43200;

export interface NamedPolicy {
  name: string;
  spec: GitLabAwsPolicySpec;
}

export interface Violation {
  policy: string;
  /** The field of the resource, as kubectl explains it: spec.access[0].project. */
  field: string;
  message: string;
}

/** What a policy adds to a spec that leaves a field out. */
export interface PolicyDefaults {
  rolePath?: string;
  permissionsBoundaryArn?: string;
}

export type Verdict =
  | {
      allowed: true;
      /** The policies that selected the namespace (none with --tenancy open). */
      policies: string[];
      defaults: PolicyDefaults;
    }
  | { allowed: false; reason: 'NoPolicy' | 'PolicyViolation'; message: string; violations: Violation[] };

export interface Subject<S> {
  namespace: string;
  name: string;
  annotations?: Record<string, string> | undefined;
  spec: S;
}

export interface TenancyInput<S> {
  resource: Subject<S>;
  /** The labels of the resource's namespace. */
  namespaceLabels: Record<string, string>;
  policies: NamedPolicy[];
  /** The operator's region, used when the spec names none. */
  defaultRegion: string | undefined;
}

/** Kubernetes LabelSelector semantics: every matchLabels entry and every expression must hold. */
export function selects(selector: NamespaceSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key] ?? '')
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key] ?? '')
          : operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** The policies that select a namespace with these labels. */
export function selecting(policies: NamedPolicy[], labels: Record<string, string>): NamedPolicy[] {
  return policies.filter((p) => selects(p.spec.namespaceSelector, labels));
}

/** `*` any characters, `?` one; everything else literal (IAM's glob). */
export function globMatches(glob: string, value: string): boolean {
  const re = glob
    .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

/** GitLab paths are case-insensitive; an allowed path covers itself and everything below it. */
export function pathAllowed(allowed: string[], path: string): boolean {
  const p = path.toLowerCase();
  return allowed.some((a) => a === '*' || p === a.toLowerCase() || p.startsWith(`${a.toLowerCase()}/`));
}

const list = (values: readonly string[]) => `[${values.join(', ')}]`;

function noPolicy(namespace: string): Verdict {
  return {
    allowed: false,
    reason: 'NoPolicy',
    message: `no GitLabAwsPolicy selects namespace ${namespace}, so nothing may be created from it: a platform administrator must write one (docs/tenancy.md), or run the operator with --tenancy open on a single-team cluster`,
    violations: [],
  };
}

function verdictOf(policies: NamedPolicy[], violations: Violation[], defaults: PolicyDefaults): Verdict {
  if (!violations.length) return { allowed: true, policies: policies.map((p) => p.name), defaults };
  const shown = violations.slice(0, 3).map((v) => `GitLabAwsPolicy ${v.policy}: ${v.message}`);
  const more = violations.length > 3 ? `; and ${violations.length - 3} more` : '';
  return {
    allowed: false,
    reason: 'PolicyViolation',
    message: `${shown.join('; ')}${more}. Change the spec, or ask the platform team to change the policy; nothing is written until then`,
    violations,
  };
}

/** The checks both kinds share: instance, account, region, adoption. */
function commonViolations(
  p: NamedPolicy,
  r: Subject<{ gitlab?: { url?: string }; aws?: { region?: string; assumeRoleArn?: string } }>,
  defaultRegion: string | undefined,
): Violation[] {
  const out: Violation[] = [];
  const v = (field: string, message: string) => out.push({ policy: p.name, field, message });
  const url = r.spec.gitlab?.url ?? GITLAB_COM;
  if (!p.spec.gitlab.urls.includes(url)) {
    v(
      'spec.gitlab.url',
      `spec.gitlab.url ${url} is not one of the allowed GitLab instances ${list(p.spec.gitlab.urls)}`,
    );
  }
  const assumeRoleArn = r.spec.aws?.assumeRoleArn;
  const arns = p.spec.aws?.assumeRoleArns;
  if (assumeRoleArn && !arns?.includes(assumeRoleArn)) {
    v(
      'spec.aws.assumeRoleArn',
      arns
        ? `spec.aws.assumeRoleArn ${assumeRoleArn} is not one of the allowed roles ${list(arns)}`
        : `spec.aws.assumeRoleArn may not be set: the policy allows no role to assume`,
    );
  }
  const regions = p.spec.aws?.regions;
  const region = r.spec.aws?.region ?? defaultRegion;
  if (regions && !(region && regions.includes(region))) {
    v(
      'spec.aws.region',
      region
        ? `spec.aws.region ${region}${r.spec.aws?.region ? '' : " (the operator's default)"} is not one of the allowed regions ${list(regions)}`
        : `spec.aws.region must be set to one of the allowed regions ${list(regions)}`,
    );
  }
  if (r.annotations?.[ADOPT_ANNOTATION] === 'true' && p.spec.adoption !== true) {
    v(
      `metadata.annotations[${ADOPT_ANNOTATION}]`,
      `metadata.annotations[${ADOPT_ANNOTATION}] "true" is not allowed: the policy does not allow taking over resources the operator did not create`,
    );
  }
  return out;
}

type Principal = NonNullable<GitLabAwsFederationSpec['role']>;

/** What the spec asks of the role (OIDC) or the user (IAMUserAccessKeys), against one policy. */
function principalViolations(
  p: NamedPolicy,
  field: 'spec.role' | 'spec.iamUser',
  principal: Principal | undefined,
  name: string,
  path: string,
): Violation[] {
  const out: Violation[] = [];
  const v = (f: string, message: string) => out.push({ policy: p.name, field: `${field}.${f}`, message });
  const limits = p.spec.role ?? {};
  if (limits.pathPrefix && !path.startsWith(limits.pathPrefix)) {
    v('path', `${field}.path ${path} does not start with the allowed prefix ${limits.pathPrefix}`);
  }
  if (limits.namePrefix && !name.startsWith(limits.namePrefix)) {
    v(
      'name',
      `${field}.name ${name}${principal?.name ? '' : ' (the default, <namespace>-<name>)'} does not start with the allowed prefix ${limits.namePrefix}`,
    );
  }
  const boundary = principal?.permissionsBoundaryArn;
  if (limits.permissionsBoundaryArn && boundary && boundary !== limits.permissionsBoundaryArn) {
    v(
      'permissionsBoundaryArn',
      `${field}.permissionsBoundaryArn must be ${limits.permissionsBoundaryArn} (or be left out), not ${boundary}`,
    );
  }
  (principal?.managedPolicyArns ?? []).forEach((arn, i) => {
    const allowed = limits.managedPolicyArns ?? [];
    if (!allowed.some((glob) => globMatches(glob, arn))) {
      v(
        `managedPolicyArns[${i}]`,
        allowed.length
          ? `${field}.managedPolicyArns[${i}] ${arn} matches none of the allowed managed policies ${list(allowed)}`
          : `${field}.managedPolicyArns may not be set: the policy allows no managed policy`,
      );
    }
  });
  (principal?.grants ?? []).forEach((grant, i) => {
    const preset = presetOf(grant);
    if (preset && limits.grants && !limits.grants.includes(preset)) {
      v(
        `grants[${i}]`,
        `${field}.grants[${i}] ${preset} is not one of the allowed grant presets ${list(limits.grants)}`,
      );
    }
  });
  for (const passed of passedRoles(principal?.grants)) {
    const allowed = limits.passRoleArns ?? [];
    if (!allowed.some((glob) => globMatches(glob, passed.arn))) {
      v(
        passed.field,
        allowed.length
          ? `${field}.${passed.field} ${passed.arn} matches none of the roles the policy lets a grant pass ${list(allowed)}`
          : `${field}.${passed.field} may not be set: the policy lets no grant pass a role (spec.role.passRoleArns)`,
      );
    }
  }
  if (Object.keys(principal?.inlinePolicies ?? {}).length && limits.inlinePolicies !== true) {
    v('inlinePolicies', `${field}.inlinePolicies may not be set: the policy does not allow inline policies`);
  }
  const duration = (principal as { maxSessionDuration?: number } | undefined)?.maxSessionDuration;
  if (field === 'spec.role' && duration && duration > (limits.maxSessionDuration ?? MAX_SESSION_DURATION)) {
    v(
      'maxSessionDuration',
      `${field}.maxSessionDuration ${duration} is above the allowed ${limits.maxSessionDuration ?? MAX_SESSION_DURATION} seconds`,
    );
  }
  return out;
}

/** The role path and boundary the policies give a spec that omits them; conflicts are violations. */
function policyDefaults(policies: NamedPolicy[], principal: Principal | undefined, field: string) {
  const violations: Violation[] = [];
  const defaults: PolicyDefaults = {};
  if (!principal?.path) {
    // Every prefix must hold, so the longest is the default; the checks catch prefixes that disagree.
    const prefixes = policies.map((p) => p.spec.role?.pathPrefix).filter((x): x is string => !!x);
    const longest = prefixes.sort((a, b) => b.length - a.length)[0];
    if (longest) defaults.rolePath = longest;
  }
  if (!principal?.permissionsBoundaryArn) {
    for (const p of policies) {
      const b = p.spec.role?.permissionsBoundaryArn;
      if (!b) continue;
      if (defaults.permissionsBoundaryArn && defaults.permissionsBoundaryArn !== b) {
        violations.push({
          policy: p.name,
          field: `${field}.permissionsBoundaryArn`,
          message: `the policies require two different permissions boundaries (${defaults.permissionsBoundaryArn} and ${b}); a role has one: the platform team must reconcile them`,
        });
      }
      defaults.permissionsBoundaryArn ??= b;
    }
  }
  return { defaults, violations };
}

export function evaluateFederation(input: TenancyInput<GitLabAwsFederationSpec>): Verdict {
  const { resource: r, defaultRegion } = input;
  const policies = selecting(input.policies, input.namespaceLabels);
  if (!policies.length) return noPolicy(r.namespace);
  const method = r.spec.method ?? 'OIDC';
  const keys = method === 'IAMUserAccessKeys';
  const field = keys ? 'spec.iamUser' : 'spec.role';
  const principal = (keys ? r.spec.iamUser : r.spec.role) as Principal | undefined;
  const { defaults, violations } = policyDefaults(policies, principal, field);
  const name = principal?.name ?? `${r.namespace}-${r.name}`.slice(0, 64);
  const path = principal?.path ?? defaults.rolePath ?? '/';
  for (const p of policies) {
    const v = (f: string, message: string) => violations.push({ policy: p.name, field: f, message });
    violations.push(...commonViolations(p, r, defaultRegion));
    const methods = p.spec.methods ?? ['OIDC'];
    if (!methods.includes(method)) {
      v('spec.method', `spec.method ${method} is not one of the allowed methods ${list(methods)}`);
    }
    const paths = p.spec.gitlab.paths;
    (r.spec.access ?? []).forEach((entry, i) => {
      const kind = entry.project ? 'project' : 'group';
      const path = entry.project ?? entry.group ?? '';
      if (!pathAllowed(paths, path)) {
        v(
          `spec.access[${i}].${kind}`,
          `spec.access[${i}].${kind} ${path} is not under the allowed paths ${list(paths)}`,
        );
      }
    });
    const target = r.spec.ciVariables?.target;
    if (target) {
      const kind = target.project ? 'project' : 'group';
      const path = target.project ?? target.group ?? '';
      if (!pathAllowed(paths, path)) {
        v(
          `spec.ciVariables.target.${kind}`,
          `spec.ciVariables.target.${kind} ${path} is not under the allowed paths ${list(paths)}`,
        );
      }
    }
    violations.push(...principalViolations(p, field, principal, name, path));
  }
  return verdictOf(policies, violations, defaults);
}

export function evaluateConnection(input: TenancyInput<GitLabConnectionSpec>): Verdict {
  const { resource: r, defaultRegion } = input;
  const policies = selecting(input.policies, input.namespaceLabels);
  if (!policies.length) return noPolicy(r.namespace);
  const violations: Violation[] = [];
  for (const p of policies) {
    if (p.spec.connections === false) {
      violations.push({
        policy: p.name,
        field: 'kind',
        message: 'GitLabConnections are not allowed in this namespace (connections: false)',
      });
    }
    violations.push(...commonViolations(p, r, defaultRegion));
  }
  return verdictOf(policies, violations, {});
}

/**
 * May a GitLab URL resolve to a loopback or private address? Only when a
 * policy that selects the namespace names it (or with --tenancy open, where
 * the caller does not ask). Link-local addresses are never allowed.
 */
export function privateAddressAllowed(
  policies: NamedPolicy[],
  labels: Record<string, string>,
  url: string,
): boolean {
  return selecting(policies, labels).some((p) => p.spec.gitlab.urls.includes(url));
}
