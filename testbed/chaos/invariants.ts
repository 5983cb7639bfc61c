// The invariant checker of the chaos suite: it lists what exists in AWS (IAM
// roles and OIDC providers in moto, connections and hosts in the
// CodeConnections fake) and in GitLab (the fake's CI/CD variables), and
// compares it with the custom resources that are still alive. Every finding is
// one sentence naming the object and what is wrong with it, so a failure
// message says exactly what to look at.
import {
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  type IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import type { GitLabAwsFederation, GitLabConnection } from '../../src/api/v1alpha1/index.ts';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import type { CodeConnectionsFake } from '../fakes/codeconnections/index.ts';
import type { GitLabFake } from '../fakes/gitlab/index.ts';

export const OWNER_TAG = 'gitlab-aws.io/owner';
export const CLUSTER_TAG = 'gitlab-aws.io/cluster';
const MANAGED_BY_TAG = 'gitlab-aws.io/managed-by';
const AUDIENCE_TAG_PREFIX = 'gitlab-aws.io/audience-';
const MARKER = /managed by gitlab-aws-operator: (\S+)/;

export interface RoleView {
  name: string;
  arn: string;
  path: string;
  description: string;
  tags: Record<string, string>;
  trustPolicy: string;
}

export interface ProviderView {
  arn: string;
  url: string;
  clientIds: string[];
  tags: Record<string, string>;
}

export interface VariableView {
  project: string;
  id: number;
  key: string;
  value: string | null;
  environmentScope: string;
  description: string | null;
  protected: boolean;
  masked: boolean;
}

export interface AwsConnectionView {
  arn: string;
  name: string;
  status: string;
  hostArn?: string;
  tags: Record<string, string>;
}

export interface HostView {
  arn: string;
  name: string;
  status: string;
  providerEndpoint: string;
  tags: Record<string, string>;
}

/** What exists outside the cluster, as listed from the services. */
export interface ExternalState {
  roles: RoleView[];
  providers: ProviderView[];
  variables: VariableView[];
  connections: AwsConnectionView[];
  hosts: HostView[];
}

/** What was there before the operator ran and is not its own: it must be exactly as it was afterwards. */
export interface Foreign {
  roles: RoleView[];
  variables: VariableView[];
  connections: AwsConnectionView[];
  hosts: HostView[];
}

export interface CheckInput {
  clusterId: string;
  /** The operator's default region (AWS_REGION), for AWS_DEFAULT_REGION. */
  defaultRegion: string;
  federations: GitLabAwsFederation[];
  connections: GitLabConnection[];
  /** `namespace/name` of every resource the run deleted: they must be gone from the cluster. */
  deleted: { federations: string[]; connections: string[] };
  external: ExternalState;
  foreign: Foreign;
}

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) =>
  `${o.metadata.namespace}/${o.metadata.name}`;

export async function listExternal(
  iam: IAMClient,
  gitlab: GitLabFake,
  projects: string[],
  cc: CodeConnectionsFake,
): Promise<ExternalState> {
  const roles: RoleView[] = [];
  let marker: string | undefined;
  const names: string[] = [];
  do {
    const page = await iam.send(new ListRolesCommand({ Marker: marker, MaxItems: 1000 }));
    for (const r of page.Roles ?? []) names.push(r.RoleName ?? '');
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  for (const name of names) {
    const { Role: r } = await iam.send(new GetRoleCommand({ RoleName: name }));
    if (!r) continue;
    roles.push({
      name,
      arn: r.Arn ?? '',
      path: r.Path ?? '/',
      description: r.Description ?? '',
      tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      trustPolicy: decodeURIComponent(r.AssumeRolePolicyDocument ?? ''),
    });
  }
  const providers: ProviderView[] = [];
  const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  for (const p of listed.OpenIDConnectProviderList ?? []) {
    const got = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: p.Arn }));
    providers.push({
      arn: p.Arn ?? '',
      url: got.Url ?? '',
      clientIds: [...(got.ClientIDList ?? [])].sort(),
      tags: Object.fromEntries((got.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    });
  }
  const variables: VariableView[] = [];
  for (const project of projects) {
    for (const v of gitlab.state.variables({ project })) {
      variables.push({
        project,
        id: v.id,
        key: v.key,
        value: v.value,
        environmentScope: v.environment_scope,
        description: v.description,
        protected: v.protected,
        masked: v.masked,
      });
    }
  }
  const connections = cc.connections().map((c) => ({
    arn: c.arn,
    name: c.name,
    status: c.status,
    ...(c.hostArn ? { hostArn: c.hostArn } : {}),
    tags: cc.tagsOf(c.arn),
  }));
  const hosts = cc.hosts().map((h) => ({
    arn: h.arn,
    name: h.name,
    status: h.status,
    providerEndpoint: h.providerEndpoint,
    tags: cc.tagsOf(h.arn),
  }));
  return { roles, providers, variables, connections, hosts };
}

/** Ready=True for the current generation (the condition's and the status's observedGeneration). */
export function notReadyReason(o: GitLabAwsFederation | GitLabConnection): string | undefined {
  const ready = getCondition(o.status?.conditions as never, 'Ready');
  const gen = o.metadata.generation;
  if (o.metadata.deletionTimestamp) return 'is being deleted (finalizer still there)';
  if (!ready) return 'has no Ready condition';
  if (ready.status !== 'True') return `is Ready=${ready.status} (${ready.reason}: ${ready.message})`;
  if (ready.observedGeneration !== gen || o.status?.observedGeneration !== gen) {
    return `is Ready for generation ${ready.observedGeneration}/${o.status?.observedGeneration}, not ${gen}`;
  }
  return undefined;
}

function federationWants(f: GitLabAwsFederation, defaultRegion: string) {
  const ns = f.metadata.namespace ?? '';
  const name = f.metadata.name ?? '';
  const url = (f.spec.gitlab?.url ?? 'https://gitlab.com').replace(/\/+$/, '');
  const cv = f.spec.ciVariables;
  const scope = cv?.environmentScope ?? '*';
  const region = f.spec.aws?.region ?? defaultRegion;
  const variables: { project: string; key: string; scope: string; value: (roleArn: string) => string }[] = [];
  if (cv?.target.project) {
    variables.push({
      project: cv.target.project,
      key: cv.roleArnVariable ?? 'ROLE_ARN',
      scope,
      value: (arn) => arn,
    });
    const rv = cv.regionVariable ?? 'AWS_DEFAULT_REGION';
    if (rv) variables.push({ project: cv.target.project, key: rv, scope, value: () => region });
  }
  const subjects = (f.spec.access ?? []).flatMap((a) =>
    a.refs.map(
      (r) =>
        `project_path:${a.project ?? `${a.group}/*`}:ref_type:${a.refType === 'any' ? '*' : (a.refType ?? 'branch')}:ref:${r}`,
    ),
  );
  return {
    owner: `${ns}/${name}`,
    url,
    subjects: [...new Set(subjects)].sort(),
    audience: f.spec.audience ?? url,
    roleName: f.spec.role?.name ?? `${ns}-${name}`.slice(0, 64),
    description: f.spec.role?.description,
    variables,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The values a trust policy's conditions compare `<issuer>:sub` and `<issuer>:aud` with, sorted. */
function conditionValues(policy: string): { sub: string[]; aud: string[] } {
  const out = { sub: new Set<string>(), aud: new Set<string>() };
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(policy);
  } catch {
    return { sub: [`unparsable: ${policy}`], aud: [] };
  }
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const st of statements as { Condition?: Record<string, Record<string, string | string[]>> }[]) {
    for (const block of Object.values(st?.Condition ?? {})) {
      for (const [k, val] of Object.entries(block)) {
        const kind = k.endsWith(':sub') ? 'sub' : k.endsWith(':aud') ? 'aud' : undefined;
        if (kind) for (const x of [val].flat()) out[kind].add(x);
      }
    }
  }
  return { sub: [...out.sub].sort(), aud: [...out.aud].sort() };
}

/** Every violation of the chaos suite's invariants, one sentence each; empty when all hold. */
export function checkInvariants(input: CheckInput): string[] {
  const v: string[] = [];
  const { clusterId, external, foreign } = input;
  const feds = new Map(input.federations.map((f) => [keyOf(f), f]));
  const conns = new Map(input.connections.map((c) => [keyOf(c), c]));
  const ours = (tags: Record<string, string>) =>
    tags[OWNER_TAG] !== undefined && tags[CLUSTER_TAG] === clusterId;

  // Every custom resource is Ready; deleted ones are gone.
  for (const [key, f] of feds) {
    const why = notReadyReason(f);
    if (why) v.push(`GitLabAwsFederation ${key} ${why}`);
  }
  for (const [key, c] of conns) {
    const why = notReadyReason(c);
    if (why) v.push(`GitLabConnection ${key} ${why}`);
  }
  for (const key of input.deleted.federations) {
    if (feds.has(key)) v.push(`GitLabAwsFederation ${key} was deleted but still exists`);
  }
  for (const key of input.deleted.connections) {
    if (conns.has(key)) v.push(`GitLabConnection ${key} was deleted but still exists`);
  }

  // IAM roles.
  const wants = new Map([...feds].map(([k, f]) => [k, federationWants(f, input.defaultRegion)]));
  const rolesByOwner = new Map<string, RoleView[]>();
  for (const role of external.roles) {
    if (!ours(role.tags)) continue;
    const owner = role.tags[OWNER_TAG]!;
    rolesByOwner.set(owner, [...(rolesByOwner.get(owner) ?? []), role]);
    const want = wants.get(owner);
    if (!want) {
      v.push(`IAM role ${role.name} is orphaned: its owner ${owner} is no live GitLabAwsFederation`);
    } else if (role.name !== want.roleName) {
      v.push(`IAM role ${role.name} is tagged for ${owner}, whose role is ${want.roleName}: a stray copy`);
    }
  }
  for (const [key, want] of wants) {
    const f = feds.get(key)!;
    const roles = rolesByOwner.get(key) ?? [];
    if (roles.length > 1)
      v.push(`${key} owns ${roles.length} IAM roles: ${roles.map((r) => r.name).join(', ')}`);
    const role = external.roles.find((r) => r.name === want.roleName);
    if (!role) {
      v.push(`${key}: its IAM role ${want.roleName} does not exist`);
      continue;
    }
    if (!ours(role.tags) || role.tags[OWNER_TAG] !== key) {
      v.push(`${key}: IAM role ${role.name} carries owner tags ${JSON.stringify(role.tags)}`);
    }
    if (f.status?.roleArn !== role.arn)
      v.push(`${key}: status.roleArn is ${f.status?.roleArn}, the role is ${role.arn}`);
    const trust = conditionValues(role.trustPolicy);
    if (!same(trust.sub, want.subjects)) {
      v.push(
        `${key}: IAM role ${role.name} admits the subjects ${JSON.stringify(trust.sub)}, the spec declares ${JSON.stringify(want.subjects)}`,
      );
    }
    if (!same(trust.aud, [want.audience])) {
      v.push(
        `${key}: IAM role ${role.name} admits the audiences ${JSON.stringify(trust.aud)}, the spec declares ${JSON.stringify([want.audience])}`,
      );
    }
    if (want.description !== undefined && role.description !== want.description) {
      v.push(
        `${key}: IAM role ${role.name} has description "${role.description}", the spec says "${want.description}"`,
      );
    }
  }

  // OIDC providers: one per GitLab URL in use, ours, with exactly the live audiences.
  const urls = new Map<string, Set<string>>();
  for (const want of wants.values()) {
    const host = want.url.replace(/^https:\/\//, '');
    urls.set(host, (urls.get(host) ?? new Set()).add(want.audience));
  }
  for (const p of external.providers) {
    const created = p.tags[MANAGED_BY_TAG] === 'gitlab-aws-operator' && p.tags[CLUSTER_TAG] === clusterId;
    const audiences = urls.get(p.url);
    if (!audiences) {
      if (created) v.push(`IAM OIDC provider ${p.arn} is orphaned: no live federation uses ${p.url}`);
      continue;
    }
    if (!created) v.push(`IAM OIDC provider ${p.arn} lacks the operator's managed-by/cluster tags`);
    const wanted = [...audiences].sort();
    if (!same(p.clientIds, wanted)) {
      v.push(
        `IAM OIDC provider ${p.arn} lists client IDs ${JSON.stringify(p.clientIds)}, the live federations want ${JSON.stringify(wanted)}`,
      );
    }
    const tagged = Object.entries(p.tags)
      .filter(([k]) => k.startsWith(AUDIENCE_TAG_PREFIX))
      .map(([, a]) => a)
      .sort();
    if (!same(tagged, wanted)) {
      v.push(
        `IAM OIDC provider ${p.arn} has audience tags for ${JSON.stringify(tagged)}, the live federations want ${JSON.stringify(wanted)}`,
      );
    }
  }
  for (const host of urls.keys()) {
    const n = external.providers.filter((p) => p.url === host).length;
    if (n !== 1) v.push(`${n} IAM OIDC providers for ${host}, expected exactly 1`);
  }

  // CI/CD variables.
  const foreignVarIds = new Set(foreign.variables.map((x) => x.id));
  const varId = (x: { project: string; key: string; environmentScope?: string; scope?: string }) =>
    `${x.project} ${x.key} (scope ${x.environmentScope ?? x.scope})`;
  for (const variable of external.variables) {
    if (foreignVarIds.has(variable.id)) continue;
    const owner = MARKER.exec(variable.description ?? '')?.[1];
    if (owner === undefined) {
      v.push(`variable ${varId(variable)} has no owner marker and was not there before the run`);
      continue;
    }
    const want = wants.get(owner);
    if (!want) {
      v.push(`variable ${varId(variable)} is orphaned: its owner ${owner} is no live GitLabAwsFederation`);
    } else if (
      !want.variables.some(
        (w) =>
          w.project === variable.project && w.key === variable.key && w.scope === variable.environmentScope,
      )
    ) {
      v.push(
        `variable ${varId(variable)} is marked for ${owner}, whose spec no longer asks for it: left behind`,
      );
    }
  }
  for (const [key, want] of wants) {
    const role = feds.get(key)?.status?.roleArn ?? '';
    for (const w of want.variables) {
      const found = external.variables.filter(
        (x) => x.project === w.project && x.key === w.key && x.environmentScope === w.scope,
      );
      if (found.length !== 1) {
        v.push(`${key}: ${found.length} variables ${varId(w)}, expected 1`);
        continue;
      }
      const x = found[0]!;
      if (MARKER.exec(x.description ?? '')?.[1] !== key)
        v.push(`${key}: variable ${varId(w)} is marked "${x.description}"`);
      if (x.value !== w.value(role))
        v.push(`${key}: variable ${varId(w)} has value ${x.value}, expected ${w.value(role)}`);
    }
  }

  // Connections and hosts.
  const connsByOwner = new Map<string, AwsConnectionView[]>();
  for (const c of external.connections) {
    if (!ours(c.tags)) continue;
    const owner = c.tags[OWNER_TAG]!;
    connsByOwner.set(owner, [...(connsByOwner.get(owner) ?? []), c]);
    if (!conns.has(owner))
      v.push(`connection ${c.name} (${c.arn}) is orphaned: its owner ${owner} is no live GitLabConnection`);
  }
  const hostsByOwner = new Map<string, HostView[]>();
  for (const h of external.hosts) {
    if (!ours(h.tags)) continue;
    const owner = h.tags[OWNER_TAG]!;
    hostsByOwner.set(owner, [...(hostsByOwner.get(owner) ?? []), h]);
    if (!conns.has(owner))
      v.push(`host ${h.name} (${h.arn}) is orphaned: its owner ${owner} is no live GitLabConnection`);
  }
  for (const [key, c] of conns) {
    const name = c.spec.connectionName ?? c.metadata.name ?? '';
    const owned = connsByOwner.get(key) ?? [];
    if (owned.length !== 1) {
      v.push(
        `${key} owns ${owned.length} connections${owned.length ? `: ${owned.map((o) => o.arn).join(', ')}` : ''}, expected 1`,
      );
    }
    const mine = owned.find((o) => o.arn === c.status?.connectionArn);
    if (!mine) {
      v.push(`${key}: status.connectionArn ${c.status?.connectionArn} is not a connection it owns`);
    } else {
      if (mine.name !== name)
        v.push(`${key}: connection ${mine.arn} is named ${mine.name}, expected ${name}`);
      if (mine.status !== 'AVAILABLE') v.push(`${key}: connection ${mine.arn} is ${mine.status}`);
      for (const [k, val] of Object.entries(c.spec.tags ?? {})) {
        if (mine.tags[k] !== val)
          v.push(`${key}: connection ${mine.arn} has tag ${k}=${mine.tags[k]}, the spec says ${val}`);
      }
    }
    const hosts = hostsByOwner.get(key) ?? [];
    if (c.spec.host) {
      if (hosts.length !== 1) v.push(`${key} owns ${hosts.length} hosts, expected 1`);
      if (mine && hosts.length === 1 && mine.hostArn !== hosts[0]!.arn) {
        v.push(`${key}: connection ${mine.arn} uses host ${mine.hostArn}, not its own host ${hosts[0]!.arn}`);
      }
    } else if (hosts.length) {
      v.push(`${key} owns ${hosts.length} hosts but its spec names none`);
    }
  }

  // Foreign things: exactly as they were.
  const unchanged = <T>(kind: string, before: T[], now: T[], id: (x: T) => string) => {
    for (const b of before) {
      const a = now.find((x) => id(x) === id(b));
      if (!a) v.push(`foreign ${kind} ${id(b)} was deleted`);
      else if (!same(a, b))
        v.push(`foreign ${kind} ${id(b)} was changed: ${JSON.stringify(b)} -> ${JSON.stringify(a)}`);
    }
  };
  unchanged('IAM role', foreign.roles, external.roles, (r) => r.name);
  unchanged('variable', foreign.variables, external.variables, (x) => `${varId(x)} #${x.id}`);
  unchanged('connection', foreign.connections, external.connections, (c) => c.arn);
  unchanged('host', foreign.hosts, external.hosts, (h) => h.arn);
  return v;
}
