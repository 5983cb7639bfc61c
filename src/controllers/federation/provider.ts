// The IAM OIDC provider is shared: one per issuer URL per account, used by
// every federation of that GitLab instance. We create it if absent and adopt
// it if present; we add the audiences our federations need and remember each
// one we added in a tag on the provider, so that we only ever remove what we
// added; we delete the provider only if we created it and nothing of ours
// uses it any more.
import { createHash } from 'node:crypto';
import type { IamPort, OidcProvider } from '../../adapters/aws/iam.ts';
import { RetryableError } from '../../runtime/reconcile/outcome.ts';
import { CLUSTER_TAG } from '../shared/ownership.ts';

export const MANAGED_BY_TAG = 'gitlab-aws.io/managed-by';
export const MANAGED_BY = 'gitlab-aws-operator';
const AUDIENCE_TAG_PREFIX = 'gitlab-aws.io/audience-';
const THUMBPRINTS_TAG = 'gitlab-aws.io/thumbprints';

export const audienceTag = (audience: string) =>
  `${AUDIENCE_TAG_PREFIX}${createHash('sha256').update(audience).digest('hex').slice(0, 12)}`;

export function audiencesWeAdded(p: OidcProvider): string[] {
  return Object.entries(p.tags)
    .filter(([k]) => k.startsWith(AUDIENCE_TAG_PREFIX))
    .map(([, v]) => v);
}

export function createdByUs(p: OidcProvider, clusterId: string): boolean {
  return p.tags[MANAGED_BY_TAG] === MANAGED_BY && p.tags[CLUSTER_TAG] === clusterId;
}

/**
 * Makes the provider for `url` list `audiences` and `thumbprints`. `known` is what
 * we last saw of it (a cache); without it the provider is read from IAM. Returns
 * the provider as it is now, for the next call's `known`.
 */
export async function ensureProvider(
  iam: IamPort,
  input: { url: string; audiences: string[]; thumbprints: string[]; clusterId: string },
  known?: OidcProvider,
): Promise<{ arn: string; changes: string[]; provider: OidcProvider }> {
  const { url, audiences, thumbprints, clusterId } = input;
  let existing = known ?? (await iam.findOidcProvider(url));
  if (!existing) {
    const tags = {
      [MANAGED_BY_TAG]: MANAGED_BY,
      [CLUSTER_TAG]: clusterId,
      ...Object.fromEntries(audiences.map((a) => [audienceTag(a), a])),
      ...(thumbprints.length ? { [THUMBPRINTS_TAG]: thumbprints.join(' ') } : {}),
    };
    const arn = await iam.createOidcProvider({ url, clientIds: audiences, thumbprints, tags });
    if (arn !== undefined) {
      return {
        arn,
        changes: [`created IAM OIDC provider ${arn}`],
        provider: { arn, url, clientIds: audiences, thumbprints, tags },
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
  const provider = { ...existing, tags: { ...existing.tags } };
  const changes: string[] = [];
  const missing = audiences.filter((a) => !provider.clientIds.includes(a));
  if (missing.length) {
    // The tags first: they are how we know later that we added an audience and may
    // remove it. An audience added without its tag (a failure in between) would stay forever.
    const added = Object.fromEntries(missing.map((a) => [audienceTag(a), a]));
    await iam.tagOidcProvider(provider.arn, added);
    Object.assign(provider.tags, added);
  }
  for (const audience of missing) {
    await iam.addClientId(provider.arn, audience);
    provider.clientIds = [...provider.clientIds, audience];
    changes.push(`added audience ${audience} to ${provider.arn}`);
  }
  const newThumbprints = thumbprints.filter((t) => !provider.thumbprints.includes(t));
  if (newThumbprints.length) {
    // UpdateOpenIDConnectProviderThumbprint replaces the list: keep what is there.
    const merged = [...provider.thumbprints, ...newThumbprints].slice(-5);
    await iam.updateThumbprints(provider.arn, merged);
    await iam.tagOidcProvider(provider.arn, { [THUMBPRINTS_TAG]: thumbprints.join(' ') });
    provider.thumbprints = merged;
    provider.tags[THUMBPRINTS_TAG] = thumbprints.join(' ');
    changes.push(`added thumbprint ${newThumbprints.join(', ')} to ${provider.arn}`);
  }
  return { arn: provider.arn, changes, provider };
}

/** Removes the audiences we added that no federation wants any more; deletes the provider if it is ours and unused. */
export async function releaseProvider(
  iam: IamPort,
  input: { url: string; stillWanted: string[]; clusterId: string },
): Promise<string[]> {
  const p = await iam.findOidcProvider(input.url);
  if (!p) return [];
  if (input.stillWanted.length === 0 && createdByUs(p, input.clusterId)) {
    await iam.deleteOidcProvider(p.arn);
    return [`deleted IAM OIDC provider ${p.arn}`];
  }
  const changes: string[] = [];
  for (const audience of audiencesWeAdded(p)) {
    if (input.stillWanted.includes(audience)) continue;
    if (p.clientIds.includes(audience)) {
      await iam.removeClientId(p.arn, audience);
      changes.push(`removed audience ${audience} from ${p.arn}`);
    }
    // Also the tag of an audience whose adding failed after the tag was written.
    await iam.untagOidcProvider(p.arn, [audienceTag(audience)]);
  }
  return changes;
}
