// GitLabAwsFederation, method OIDC (DESIGN.md 2.2): issuer → shared provider
// → role → CI/CD variables → legacy-credential audit, each step's result in
// its own condition; Ready after IAM had time to propagate.
import { createHash } from 'node:crypto';
import { providerUrlOf } from '../../access/check.ts';
import type { AwsClients } from '../../adapters/aws/clients.ts';
import type { OidcProvider } from '../../adapters/aws/iam.ts';
import { describeTarget, GitLabPort, type Target } from '../../adapters/gitlab/client.ts';
import { type Discovery, discoverIssuer, serverThumbprint } from '../../adapters/gitlab/discovery.ts';
import type { GitLabAwsFederation, GitLabAwsFederationStatus } from '../../api/v1alpha1/index.ts';
import { DEFAULT_SUB_CLAIM_COMPONENTS, subjectPatterns, trustPolicy } from '../../policy/trust-policy.ts';
import { getCondition, setCondition } from '../../runtime/reconcile/conditions.ts';
import type { ReconcileContext, Reconciler } from '../../runtime/reconcile/controller.ts';
import { KeyedMutex } from '../../runtime/reconcile/keyed-mutex.ts';
import { done, type Outcome, TerminalError, wait } from '../../runtime/reconcile/outcome.ts';
import { TtlCache } from '../../runtime/reconcile/ttl-cache.ts';
import type { ExternalSystem } from '../../runtime/transport/external.ts';
import type { Condition } from '../../runtime/transport/kube.ts';
import { ownerTags } from '../shared/ownership.ts';
import { SecretNotReady, type SecretReader } from '../shared/secrets.ts';
import { type Resolved, resolve, targetOf } from './defaults.ts';
import { ensureProvider, releaseProvider } from './provider.ts';
import { deleteRole, ensureRole } from './role.ts';
import { deleteOwnedVariables, ensureVariables, legacyCredentials, parseTarget } from './variables.ts';

type Ctx = ReconcileContext<GitLabAwsFederation>;
type Status = GitLabAwsFederationStatus & { conditions?: Condition[] };

export interface FederationDeps {
  aws: AwsClients;
  secrets: SecretReader;
  /** The rate-limited channel to one GitLab instance. */
  gitlabSystemFor: (url: string) => ExternalSystem;
  clusterId: string;
  defaultRegion: string | undefined;
  propagationDelayMs: number;
  now?: () => Date;
}

/**
 * How long an issuer's discovery and the shared provider's state are trusted
 * before they are read again. Both are shared by every federation of a GitLab
 * instance; without this a resync of N federations reads them N times. A
 * change made behind the operator's back (a deleted provider, an unreachable
 * issuer) is noticed within this time plus a resync.
 */
export const SHARED_STATE_TTL_MS = 5 * 60_000;

export class FederationReconciler implements Reconciler<GitLabAwsFederation> {
  private readonly deps: FederationDeps;
  private readonly gitlabClients = new Map<string, GitLabPort>();
  private readonly issuers = new TtlCache<{ discovery: Discovery; thumbprint?: string }>(SHARED_STATE_TTL_MS);
  private readonly providers = new TtlCache<OidcProvider>(SHARED_STATE_TTL_MS);
  /** Changes to one provider happen one at a time, so audiences added together are not lost. */
  private readonly providerLocks = new KeyedMutex();

  constructor(deps: FederationDeps) {
    this.deps = deps;
  }

  async reconcile(ctx: Ctx): Promise<Outcome> {
    try {
      return await this.reconcileOidc(ctx);
    } catch (err) {
      if (err instanceof SecretNotReady) return err.outcome;
      throw err;
    }
  }

  async finalize(ctx: Ctx): Promise<Outcome> {
    const fed = ctx.obj;
    if (fed.spec.deletionPolicy === 'Orphan') {
      ctx.log.info('deletionPolicy Orphan: leaving the role, provider and variables in place');
      return done();
    }
    const r = resolve(fed, this.deps.defaultRegion);
    const changes: string[] = [];
    const targets = [
      ...new Set([
        ...(fed.spec.ciVariables ? [describeTarget(targetOf(fed.spec.ciVariables.target))] : []),
        ...(fed.status?.ciVariables ?? []).map((v) => v.target),
      ]),
    ];
    if (targets.length && fed.spec.gitlab?.tokenSecretRef) {
      let gitlab: GitLabPort | undefined;
      try {
        gitlab = await this.gitlab(fed, r);
      } catch (err) {
        if (!(err instanceof SecretNotReady)) throw err;
        // Deleting a namespace removes its Secrets too; waiting for them would block it forever.
        ctx.events.event(
          fed,
          'Warning',
          'VariablesLeftBehind',
          `${err.message}; the CI/CD variables this federation wrote in ${targets.join(', ')} were not removed`,
        );
      }
      for (const text of gitlab ? targets : []) {
        const target = parseTarget(text);
        if (target) changes.push(...(await deleteOwnedVariables(gitlab!, target, r.owner)));
      }
    }
    const iam = this.deps.aws.iamFor(r.region, r.assumeRoleArn);
    const roleArn = await deleteRole(iam, r.roleName, r.owner, this.deps.clusterId);
    if (roleArn) changes.push(`deleted IAM role ${roleArn}`);
    if (fed.status?.issuer) {
      const issuer = fed.status.issuer;
      const stillWanted = this.liveFederations(ctx)
        .filter((f) => f.status?.issuer === issuer)
        .map((f) => resolve(f, this.deps.defaultRegion).audience);
      const url = providerUrlOf(issuer);
      const key = providerKey(r.assumeRoleArn, url);
      changes.push(
        ...(await this.providerLocks.run(key, async () => {
          this.providers.delete(key);
          return releaseProvider(iam, { url, stillWanted, clusterId: this.deps.clusterId });
        })),
      );
    }
    if (changes.length) ctx.events.event(fed, 'Normal', 'Deleted', changes.join('; '));
    return done();
  }

  /** The other federations that are not being deleted. */
  private liveFederations(ctx: Ctx): GitLabAwsFederation[] {
    return ctx
      .cached()
      .filter((f) => f.metadata.uid !== ctx.obj.metadata.uid && !f.metadata.deletionTimestamp);
  }

  private async gitlab(fed: GitLabAwsFederation, r: Resolved): Promise<GitLabPort> {
    const ns = fed.metadata.namespace ?? '';
    const ref = fed.spec.gitlab?.tokenSecretRef;
    if (!ref)
      throw new TerminalError(
        'TokenRequired',
        'spec.gitlab.tokenSecretRef is required to manage CI/CD variables',
      );
    const token = await this.deps.secrets.read(ns, ref, 'spec.gitlab.tokenSecretRef');
    const caPem = await this.caPem(fed);
    const key = createHash('sha256')
      .update(`${r.url}\n${token}\n${caPem ?? ''}`)
      .digest('hex');
    let port = this.gitlabClients.get(key);
    if (!port) {
      port = new GitLabPort({ url: r.url, token, caPem, system: this.deps.gitlabSystemFor(r.url) });
      // Rotated tokens leave old clients behind; keep the cache from growing without bound.
      if (this.gitlabClients.size >= 256) this.gitlabClients.delete(this.gitlabClients.keys().next().value!);
      this.gitlabClients.set(key, port);
    }
    return port;
  }

  private async caPem(fed: GitLabAwsFederation): Promise<string | undefined> {
    const ref = fed.spec.gitlab?.caSecretRef;
    if (!ref) return undefined;
    return this.deps.secrets.read(
      fed.metadata.namespace ?? '',
      { name: ref.name, key: ref.key ?? 'ca.crt' },
      'spec.gitlab.caSecretRef',
    );
  }

  /** Removes our variables from targets the spec no longer names. */
  private async leaveOldTargets(
    gitlab: GitLabPort,
    fed: GitLabAwsFederation,
    current: Target | undefined,
    owner: string,
  ): Promise<string[]> {
    const now = current ? describeTarget(current) : undefined;
    const old = [...new Set((fed.status?.ciVariables ?? []).map((v) => v.target))].filter((t) => t !== now);
    const changes: string[] = [];
    for (const text of old) {
      const target = parseTarget(text);
      if (target) changes.push(...(await deleteOwnedVariables(gitlab, target, owner)));
    }
    return changes;
  }

  private async reconcileOidc(ctx: Ctx): Promise<Outcome> {
    const fed = ctx.obj;
    const spec = fed.spec;
    const status = ctx.status as Status;
    const generation = fed.metadata.generation;
    const now = this.deps.now ?? (() => new Date());
    const set = (type: string, ok: boolean, reason: string, message: string) => {
      status.conditions = setCondition(
        status.conditions ?? [],
        { type, status: ok ? 'True' : 'False', reason, message },
        generation,
        now,
      );
    };
    if (spec.method === 'IAMUserAccessKeys') {
      throw new TerminalError(
        'MethodNotSupported',
        'method IAMUserAccessKeys is not supported by this version of the operator yet; use method OIDC',
      );
    }
    const r = resolve(fed, this.deps.defaultRegion);
    const changes: string[] = [];

    // 1. Issuer, as AWS will discover it at job time.
    const caPem = await this.caPem(fed);
    let issuer: { discovery: Discovery; thumbprint?: string };
    try {
      issuer = await this.issuers.get(`${r.url}\n${caPem ?? ''}`, async () => {
        const discovery = await discoverIssuer(r.url, caPem, this.deps.gitlabSystemFor(r.url));
        return {
          discovery,
          thumbprint: caPem ? await serverThumbprint(discovery.jwksUri, caPem) : undefined,
        };
      });
    } catch (err) {
      set(
        'IssuerDiscoverable',
        false,
        (err as { reason?: string }).reason ?? 'IssuerUnreachable',
        (err as Error).message,
      );
      throw err;
    }
    const { discovery } = issuer;
    set('IssuerDiscoverable', true, 'Discovered', `issuer ${discovery.issuer}, keys at ${discovery.jwksUri}`);
    status.issuer = discovery.issuer;

    // 2. The shared identity provider.
    const providerUrl = providerUrlOf(discovery.issuer);
    const thumbprints = spec.identityProvider?.thumbprints?.length
      ? spec.identityProvider.thumbprints.map((t) => t.toLowerCase())
      : issuer.thumbprint
        ? [issuer.thumbprint]
        : [];
    if (thumbprints.length) status.thumbprints = thumbprints;
    else delete status.thumbprints;
    // Only this federation's audience: every federation adds its own. (Collecting all of
    // them from the cache on each reconcile cost O(N) per reconcile, O(N²) per resync.)
    const audiences = [r.audience];
    const iam = this.deps.aws.iamFor(r.region, r.assumeRoleArn);
    const key = providerKey(r.assumeRoleArn, providerUrl);
    const provider = await this.providerLocks.run(key, async () => {
      try {
        const result = await ensureProvider(
          iam,
          { url: providerUrl, audiences, thumbprints, clusterId: this.deps.clusterId },
          this.providers.peek(key),
        );
        this.providers.set(key, result.provider);
        return result;
      } catch (err) {
        this.providers.delete(key);
        throw err;
      }
    });
    changes.push(...provider.changes);
    status.identityProviderArn = provider.arn;
    set('IdentityProviderReady', true, 'Ready', `${provider.arn} lists the audience ${r.audience}`);

    // 3. Subjects, the way GitLab builds the sub claim for each project.
    const needsGitLab = Boolean(spec.ciVariables) || (spec.access ?? []).some((e) => e.project);
    const gitlab = needsGitLab && spec.gitlab?.tokenSecretRef ? await this.gitlab(fed, r) : undefined;
    const subjects: string[] = [];
    for (const entry of spec.access ?? []) {
      const components =
        entry.project && gitlab
          ? (await gitlab.project(entry.project)).subClaimComponents
          : DEFAULT_SUB_CLAIM_COMPONENTS;
      subjects.push(...subjectPatterns(entry, components));
    }
    status.subjects = [...new Set(subjects)].sort();

    // 4. The role.
    const role = await ensureRole(
      iam,
      {
        name: r.roleName,
        path: r.rolePath,
        trustPolicy: trustPolicy({
          providerArn: provider.arn,
          providerUrl,
          audiences: [r.audience],
          subjects,
        }),
        description:
          spec.role?.description ?? `GitLab CI/CD access for ${r.owner}, managed by gitlab-aws-operator`,
        maxSessionDuration: spec.role?.maxSessionDuration ?? 3600,
        permissionsBoundaryArn: spec.role?.permissionsBoundaryArn,
        managedPolicyArns: spec.role?.managedPolicyArns ?? [],
        inlinePolicies: (spec.role?.inlinePolicies ?? {}) as Record<string, object>,
        tags: { ...(spec.role?.tags ?? {}), ...ownerTags(r.owner, this.deps.clusterId) },
      },
      { owner: r.owner, clusterId: this.deps.clusterId, adopt: r.adopt },
    );
    status.roleArn = role.arn;
    if (role.created) changes.push(...role.changes);
    else if (role.changes.length) changes.push(`corrected IAM role ${role.arn}: ${role.changes.join(', ')}`);

    // 5. CI/CD variables and the legacy-credential audit.
    let conflicts: string[] = [];
    if (spec.ciVariables && gitlab) {
      const cv = spec.ciVariables;
      const target: Target = targetOf(cv.target);
      const scope = cv.environmentScope ?? '*';
      const desired = [
        {
          key: cv.roleArnVariable ?? 'ROLE_ARN',
          value: role.arn,
          environmentScope: scope,
          protected: cv.protected ?? false,
        },
      ];
      const regionVariable = cv.regionVariable ?? 'AWS_DEFAULT_REGION';
      if (regionVariable && r.region)
        desired.push({
          key: regionVariable,
          value: r.region,
          environmentScope: scope,
          protected: cv.protected ?? false,
        });
      // Named in the status before anything is written, so that a later change of
      // target cleans this one up: in the status draft (a reconcile that fails
      // half-way still writes it) and, for a target the API server does not know
      // of yet, written at once (the process may be killed before its end).
      const here = describeTarget(target);
      status.ciVariables = [
        ...(fed.status?.ciVariables ?? []).filter((v) => v.target !== here),
        ...desired.map((d) => ({ target: here, key: d.key, environmentScope: d.environmentScope })),
      ];
      // The write goes out while the variables are read; none is written before it is done.
      const recorded = (fed.status?.ciVariables ?? []).some((v) => v.target === here);
      const saving = recorded ? Promise.resolve() : ctx.saveStatus({ ciVariables: status.ciVariables });
      let result: Awaited<ReturnType<typeof ensureVariables>>;
      try {
        result = await ensureVariables(gitlab, target, desired, r.owner, () => saving);
      } finally {
        await saving.catch(() => {}); // settled before the reconcile ends and writes the status again
      }
      await saving;
      changes.push(...(await this.leaveOldTargets(gitlab, fed, target, r.owner)));
      changes.push(...result.changes);
      conflicts = result.conflicts;
      status.ciVariables = result.written;
      if (conflicts.length)
        set(
          'CIVariablesReady',
          false,
          'VariableOwnedElsewhere',
          `not overwritten: ${conflicts.join('; ')}. Delete or rename that variable, or change spec.ciVariables`,
        );
      else
        set(
          'CIVariablesReady',
          true,
          'Written',
          `${result.written.map((w) => w.key).join(', ')} written to ${result.written[0]?.target}`,
        );

      if (spec.legacyCredentials?.audit ?? true) {
        const legacy = legacyCredentials(result.existing, target, r.owner);
        const before = JSON.stringify(fed.status?.legacyCredentials ?? []);
        if (legacy.length) status.legacyCredentials = legacy;
        else delete status.legacyCredentials;
        if (legacy.length && JSON.stringify(legacy) !== before) {
          ctx.events.event(
            fed,
            'Warning',
            'LegacyCredentialsFound',
            `long-lived AWS keys found in ${legacy.map((l) => `${l.target} ${l.key} (scope ${l.environmentScope})`).join(', ')}: remove them once jobs use ${cv.roleArnVariable ?? 'ROLE_ARN'}, or set spec.legacyCredentials.removeWhenReady`,
          );
        }
      }
    } else if (gitlab) {
      changes.push(...(await this.leaveOldTargets(gitlab, fed, undefined, r.owner)));
      delete status.ciVariables;
    }

    if (changes.length)
      ctx.events.event(fed, 'Normal', role.created ? 'Created' : 'Updated', changes.join('; '));
    if (conflicts.length) {
      throw new TerminalError(
        'VariableOwnedElsewhere',
        `CI/CD variable ${conflicts.join('; ')}: the operator never overwrites a variable it does not own. Delete or rename that variable, or change spec.ciVariables`,
      );
    }

    // 6. IAM propagation: say Ready only after the delay, so pipelines do not race IAM.
    const previous = getCondition(fed.status?.conditions, 'RoleReady');
    const sinceMs = role.trustChanged
      ? 0
      : previous?.reason === 'Propagating'
        ? now().getTime() - Date.parse(previous.lastTransitionTime)
        : Number.POSITIVE_INFINITY;
    if (sinceMs < this.deps.propagationDelayMs) {
      const remaining = this.deps.propagationDelayMs - sinceMs;
      if (role.trustChanged) {
        set(
          'RoleReady',
          false,
          'Propagating',
          `trust policy of ${role.arn} changed at ${now().toISOString()}; IAM needs a moment to propagate it`,
        );
      }
      return wait(
        remaining,
        'Propagating',
        `waiting ${Math.ceil(remaining / 1000)} s for IAM to propagate the changes to ${role.arn}`,
      );
    }
    set('RoleReady', true, 'Ready', `${role.arn} trusts ${status.subjects.length} subject pattern(s)`);

    if (
      spec.ciVariables &&
      gitlab &&
      spec.legacyCredentials?.removeWhenReady &&
      status.legacyCredentials?.length
    ) {
      const target = targetOf(spec.ciVariables.target);
      for (const l of status.legacyCredentials)
        await gitlab.deleteVariable(target, l.key, l.environmentScope);
      ctx.events.event(
        fed,
        'Normal',
        'LegacyCredentialsRemoved',
        `removed ${status.legacyCredentials.map((l) => `${l.key} (scope ${l.environmentScope})`).join(', ')} from ${status.legacyCredentials[0]?.target}`,
      );
      delete status.legacyCredentials;
    }
    if (changes.length) status.lastSyncedAt = now().toISOString();
    return done(
      'Ready',
      `${role.arn} may be assumed from ${subjects.length} subject pattern(s)${spec.ciVariables ? `; ${status.ciVariables?.map((c) => c.key).join(', ')} published` : ''}`,
    );
  }
}

/** IAM is global: one provider per URL per account, and the credentials (an assumed role or ours) pick the account. */
const providerKey = (assumeRoleArn: string | undefined, url: string) => `${assumeRoleArn ?? ''}|${url}`;
