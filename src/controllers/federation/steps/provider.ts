// The shared IAM OIDC provider, one per issuer URL per account, used by
// every federation of that GitLab instance. Created if absent (and tagged as
// ours), adopted if present. Each audience the operator adds is remembered in
// a tag first, so that it only ever removes what it added; a thumbprint is
// never removed, and when a sixth would be needed the step says so.
import type { IamPort, OidcProvider } from '../../../adapters/aws/iam.ts';
import { RetryableError, TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { CLUSTER_TAG } from '../../shared/ownership.ts';
import {
  audienceTag,
  MANAGED_BY,
  MANAGED_BY_TAG,
  THUMBPRINTS_TAG,
  viewRecords,
  withAudience,
} from '../cleanup.ts';
import { IDENTITY_PROVIDER_READY, REASONS } from '../conditions.ts';
import { compact, mergeThumbprints, withItem } from '../desired.ts';
import { type FederationState, providerKey } from '../state.ts';

export const providerStep: Step<FederationState> = {
  name: 'provider',
  condition: IDENTITY_PROVIDER_READY,
  async run(s) {
    const url = s.providerUrl!;
    const spec = s.fed.spec;
    const thumbprints = spec.identityProvider?.thumbprints?.length
      ? spec.identityProvider.thumbprints.map((t) => t.toLowerCase())
      : s.issuer?.thumbprint
        ? [s.issuer.thumbprint]
        : [];
    if (thumbprints.length) s.status.thumbprints = thumbprints;
    else delete s.status.thumbprints;

    const key = providerKey(s.r.assumeRoleArn, url);
    const result = await s.shared.providerLocks.run(key, async () => {
      try {
        // Only this federation's audience: every federation adds its own. (Collecting all
        // of them from the cache on each reconcile cost O(N) per reconcile, O(N²) per resync.)
        const ensured = await ensureProvider(
          s.iam,
          { url, audience: s.r.audience, thumbprints, clusterId: s.deps.clusterId, viewTag: s.deps.viewTag },
          s.shared.providers.peek(key),
        );
        s.shared.providers.set(key, ensured.provider);
        return ensured;
      } catch (err) {
        s.shared.providers.delete(key);
        throw err;
      }
    });
    s.changes.push(...result.changes);
    s.providerArn = result.provider.arn;

    // The audience an earlier spec (another audience, GitLab or account) added is removed
    // once the federation is Ready; recorded first, so a crash cannot forget it.
    const before = s.fed.status;
    if (
      before?.identityProviderArn &&
      before.audience &&
      (before.identityProviderArn !== result.provider.arn ||
        before.audience !== s.r.audience ||
        before.managedThrough !== s.r.assumeRoleArn)
    ) {
      s.status.retiring = {
        ...s.status.retiring,
        audiences: withItem(
          s.status.retiring?.audiences,
          compact({
            providerArn: before.identityProviderArn,
            audience: before.audience,
            managedThrough: before.managedThrough,
          }),
        ),
      };
    }
    s.status.identityProviderArn = result.provider.arn;
    s.status.audience = s.r.audience;
    s.ctx.conditions.set(
      IDENTITY_PROVIDER_READY,
      true,
      REASONS.ready,
      `${result.provider.arn} lists the audience ${s.r.audience}`,
    );
    return next();
  },
};

/**
 * Makes the provider for `url` list `audience` and `thumbprints`. `known` is what
 * we last saw of it (a cache); without it the provider is read from IAM.
 */
async function ensureProvider(
  iam: IamPort,
  input: { url: string; audience: string; thumbprints: string[]; clusterId: string; viewTag: string },
  known: OidcProvider | undefined,
): Promise<{ changes: string[]; provider: OidcProvider }> {
  const { url, audience, thumbprints, clusterId, viewTag } = input;
  let existing = known ?? (await iam.findOidcProvider(url));
  if (!existing) {
    const tags = {
      [MANAGED_BY_TAG]: MANAGED_BY,
      [CLUSTER_TAG]: clusterId,
      [audienceTag(audience)]: audience,
      [viewTag]: withAudience(undefined, audience),
      ...(thumbprints.length ? { [THUMBPRINTS_TAG]: thumbprints.join(' ') } : {}),
    };
    const arn = await iam.createOidcProvider({ url, clientIds: [audience], thumbprints, tags });
    if (arn !== undefined) {
      return {
        changes: [`created IAM OIDC provider ${arn}`],
        provider: { arn, url, clientIds: [audience], thumbprints, tags },
      };
    }
    // Another federation of the same instance created it a moment ago: adopt it, as below.
    existing = await iam.findOidcProvider(url);
    if (!existing) {
      throw new RetryableError(
        'AWSUnavailable',
        `IAM says an OIDC provider for https://${url} exists but does not list it yet`,
      );
    }
  }
  let provider = { ...existing, tags: { ...existing.tags } };
  const changes: string[] = [];
  const record = viewRecords(provider.tags[viewTag], audience)
    ? {}
    : { [viewTag]: withAudience(provider.tags[viewTag], audience) };
  if (provider.clientIds.includes(audience) && record[viewTag] !== undefined) {
    // This view's record first: another view's operator, about to remove the audience
    // or delete the provider, reads it. Then the provider as it is now, not as cached:
    // such a removal may have happened since.
    await iam.tagOidcProvider(provider.arn, record);
    const fresh = await iam.getOidcProvider(provider.arn);
    if (!fresh) {
      throw new RetryableError(
        'AWSUnavailable',
        `the OIDC provider ${provider.arn} was deleted a moment ago`,
      );
    }
    provider = { ...fresh, tags: { ...fresh.tags } };
  }
  if (!provider.clientIds.includes(audience)) {
    // The tags first: they are how we know later that we added the audience and may
    // remove it, and that this view uses it. An audience added without its tag (a
    // failure in between) would stay forever.
    await iam.tagOidcProvider(provider.arn, { [audienceTag(audience)]: audience, ...record });
    provider.tags[audienceTag(audience)] = audience;
    Object.assign(provider.tags, record);
    await iam.addClientId(provider.arn, audience);
    provider.clientIds = [...provider.clientIds, audience];
    changes.push(`added audience ${audience} to ${provider.arn}`);
  }
  const added = thumbprints.filter((t) => !provider.thumbprints.includes(t));
  if (added.length) {
    const merged = mergeThumbprints(provider.thumbprints, thumbprints);
    if (!merged) {
      throw new TerminalError(
        REASONS.thumbprintLimit,
        `${provider.arn} has ${provider.thumbprints.length} thumbprints (${provider.thumbprints.join(', ')}) and needs ${added.join(', ')} too, but IAM allows five; the operator never removes a thumbprint it did not add. Remove the ones no longer served (aws iam update-open-id-connect-provider-thumbprint), or set spec.identityProvider.thumbprints`,
        { recheck: true },
      );
    }
    const ours = [
      ...new Set([...(provider.tags[THUMBPRINTS_TAG] ?? '').split(' ').filter(Boolean), ...added]),
    ];
    // The tag first, as for audiences: what we added is what we may remove one day.
    await iam.tagOidcProvider(provider.arn, { [THUMBPRINTS_TAG]: ours.join(' ') });
    provider.tags[THUMBPRINTS_TAG] = ours.join(' ');
    await iam.updateThumbprints(provider.arn, merged);
    provider.thumbprints = merged;
    changes.push(`added thumbprint ${added.join(', ')} to ${provider.arn}`);
  }
  return { changes, provider };
}
