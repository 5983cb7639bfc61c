// What the steps of one federation reconcile share: the object and its status
// draft, what the operator depends on, the facts earlier steps found, and the
// changes made so far (said in one event at the end). Facts that many
// federations share (an issuer's discovery, the shared provider) live in
// SharedFacts, one per controller.
import { createHash } from 'node:crypto';
import type { IamPort, OidcProvider } from '../../adapters/aws/iam.ts';
import { GitLabPort, type Target, type Variable } from '../../adapters/gitlab/client.ts';
import type { Discovery } from '../../adapters/gitlab/discovery.ts';
import type { GitLabAwsFederation, GitLabAwsFederationStatus } from '../../api/v1alpha1/index.ts';
import type { ReconcileContext } from '../../runtime/reconcile/controller.ts';
import { KeyedMutex } from '../../runtime/reconcile/keyed-mutex.ts';
import { TtlCache } from '../../runtime/reconcile/ttl-cache.ts';
import type { EgressPolicy } from '../../runtime/transport/egress.ts';
import type { ExternalSystem } from '../../runtime/transport/external.ts';
import type { Condition } from '../../runtime/transport/kube.ts';
import type { SecretReader } from '../shared/secrets.ts';
import type { Tenancy } from '../shared/tenancy.ts';
import type { RefusedEntry } from './conditions.ts';
import { type Resolved, resolve } from './defaults.ts';
import type { DesiredVariable } from './desired.ts';
import type { Ensured } from './principal.ts';

export type Ctx = ReconcileContext<GitLabAwsFederation>;
export type Status = GitLabAwsFederationStatus & { conditions?: Condition[] };

export interface FederationDeps {
  aws: {
    iamFor(region: string | undefined, assumeRoleArn: string | undefined, namespace: string): IamPort;
  };
  secrets: SecretReader;
  /** The GitLabAwsPolicies of the namespaces (--tenancy). */
  tenancy: Pick<Tenancy, 'judge' | 'privateAddressAllowed'>;
  /** The rate-limited channel to one GitLab instance. */
  gitlabSystemFor: (url: string) => ExternalSystem;
  /** May connections for `url`, named in `namespace`, reach loopback and private addresses? */
  egressFor: (namespace: string, url: string) => EgressPolicy;
  clusterId: string;
  /** The provider tag that records which audiences this process's view uses (cleanup.ts viewTag). */
  viewTag: string;
  defaultRegion: string | undefined;
  propagationDelayMs: number;
  /** IAM's trust-policy quota in this account (--max-trust-policy-size). */
  maxTrustPolicySize: number;
  /**
   * How often to look again at what waits for a person (refs to be protected,
   * a new token in a refused token's Secret): first, and at most.
   */
  personPollMs: { first: number; max: number };
  /** --resync-interval: how often everything is checked again, also what stalled. */
  resyncMs: number;
  now: () => Date;
}

/** A token GitLab refused (401/403), by the hash of the token, and what it said. */
export interface RefusedToken {
  tokenHash: string;
  generation: number | undefined;
  at: number;
  reason: string;
  message: string;
}

/**
 * How long an issuer's discovery and the shared provider's state are trusted
 * before they are read again. Both are shared by every federation of a GitLab
 * instance; without this a resync of N federations reads them N times. A
 * change made behind the operator's back (a deleted provider, an unreachable
 * issuer) is noticed within this time plus a resync.
 */
export const SHARED_STATE_TTL_MS = 5 * 60_000;

/** IAM is global: one provider per URL per account, and the credentials (an assumed role or ours) pick the account. */
export const providerKey = (assumeRoleArn: string | undefined, url: string) =>
  `${assumeRoleArn ?? ''}|${url}`;

export class SharedFacts {
  readonly issuers = new TtlCache<{ discovery: Discovery; thumbprint?: string }>(SHARED_STATE_TTL_MS);
  readonly providers = new TtlCache<OidcProvider>(SHARED_STATE_TTL_MS);
  /** Changes to one provider happen one at a time, so audiences added together are not lost. */
  readonly providerLocks = new KeyedMutex();
  private readonly gitlabClients = new Map<string, GitLabPort>();
  /** Federations stalled on a token GitLab refused, by UID (see steps/refused-token.ts). */
  readonly refusedTokens = new Map<string, RefusedToken>();

  /** One client per instance, token, CA and egress policy: its keep-alive connections are reused. */
  gitlabClient(
    url: string,
    token: string,
    caPem: string | undefined,
    system: ExternalSystem,
    egress: EgressPolicy,
  ): GitLabPort {
    const key = createHash('sha256')
      .update(`${url}\n${token}\n${caPem ?? ''}\n${egress.allowPrivate}`)
      .digest('hex');
    let port = this.gitlabClients.get(key);
    if (!port) {
      port = new GitLabPort({ url, token, caPem, system, egress });
      // Rotated tokens leave old clients behind; keep the cache from growing without bound.
      if (this.gitlabClients.size >= 256) this.gitlabClients.delete(this.gitlabClients.keys().next().value!);
      this.gitlabClients.set(key, port);
    }
    return port;
  }
}

/** What the role step did. */
export interface RoleResult extends Ensured {
  trustChanged: boolean;
}

/** What the access step found: the trust policy's subjects and what it left out. */
export interface AccessPlan {
  subjects: string[];
  refused: RefusedEntry[];
  /** Refs not covered by a protected branch or tag, in words ("main of project payments/api"). */
  unprotected: string[];
  /** Entries whose protection could not be read, in words. */
  unverified: string[];
}

export interface FederationState {
  ctx: Ctx;
  fed: GitLabAwsFederation;
  /** The status draft. */
  status: Status;
  deps: FederationDeps;
  shared: SharedFacts;
  r: Resolved;
  iam: IamPort;
  /** What was changed outside the cluster, in words, for one event. */
  changes: string[];
  created: boolean;
  caPem?: string | undefined;
  issuer?: { discovery: Discovery; thumbprint?: string };
  /** The issuer without https://: the provider's URL and the condition keys' prefix. */
  providerUrl?: string;
  providerArn?: string;
  access?: AccessPlan;
  role?: RoleResult;
  /** The IAM user (method IAMUserAccessKeys). */
  user?: { name: string; arn: string; created: boolean };
  /** In how long something is due (a rotation, a replaced key's deletion): the next reconcile comes then. */
  dueInMs?: number;
  variables?: { target: Target; desired: DesiredVariable[] };
  /** The target's variables as read by the variables step (for the legacy audit). */
  existingVariables?: Variable[];
  /** The GitLab client of this reconcile; null when the spec names no token. */
  gitlab?: GitLabPort | null;
  /** SHA-256 of the token the client uses (never the token itself). */
  tokenHash?: string;
  /** Where this reconcile's connections to spec.gitlab.url may go; see egressOf. */
  egress?: EgressPolicy;
}

export function newState(ctx: Ctx, deps: FederationDeps, shared: SharedFacts): FederationState {
  const r = resolve(ctx.obj, deps.defaultRegion);
  return {
    ctx,
    fed: ctx.obj,
    status: ctx.status as Status,
    deps,
    shared,
    r,
    iam: deps.aws.iamFor(r.region, r.assumeRoleArn, r.namespace),
    changes: [],
    created: false,
  };
}

/** The CA bundle of spec.gitlab.caSecretRef, read once per reconcile. */
export async function caPemOf(s: FederationState): Promise<string | undefined> {
  if (s.caPem !== undefined || !s.fed.spec.gitlab?.caSecretRef) return s.caPem;
  const ref = s.fed.spec.gitlab.caSecretRef;
  s.caPem = await s.deps.secrets.read(
    s.fed.metadata.namespace ?? '',
    { name: ref.name, key: ref.key ?? 'ca.crt' },
    'spec.gitlab.caSecretRef',
  );
  return s.caPem;
}

/**
 * Where connections for spec.gitlab.url may go in this reconcile (discovery,
 * JWKS, the thumbprint probe, API calls): the tenancy decision for the
 * namespace and URL, asked once per reconcile.
 */
export function egressOf(s: FederationState): EgressPolicy {
  s.egress ??= s.deps.egressFor(s.fed.metadata.namespace ?? '', s.r.url);
  return s.egress;
}

/** The GitLab client for the spec's token; undefined when the spec names no token. */
export async function gitlabOf(s: FederationState): Promise<GitLabPort | undefined> {
  if (s.gitlab !== undefined) return s.gitlab ?? undefined;
  const ref = s.fed.spec.gitlab?.tokenSecretRef;
  if (!ref) {
    s.gitlab = null;
    return undefined;
  }
  const token = await s.deps.secrets.read(s.fed.metadata.namespace ?? '', ref, 'spec.gitlab.tokenSecretRef');
  s.tokenHash = createHash('sha256').update(token).digest('hex');
  s.gitlab = s.shared.gitlabClient(
    s.r.url,
    token,
    await caPemOf(s),
    s.deps.gitlabSystemFor(s.r.url),
    egressOf(s),
  );
  return s.gitlab;
}
