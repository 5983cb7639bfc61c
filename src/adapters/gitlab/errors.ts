// GitLab errors mapped to the runtime's classes, with messages that name the
// fix. The token itself never appears in a message. A refused or unknown token
// and a missing project are fixed outside the spec (a new token in the Secret,
// a membership, a project): looked at again every resync.
import { RetryableError, TerminalError } from '../../runtime/reconcile/outcome.ts';
import { type EgressRefusedError, isEgressRefused } from '../../runtime/transport/egress.ts';

/**
 * A connection the egress policy refused, for a condition: which URL, and the
 * class of address, never the address nor a connection error (a tenant must
 * not learn from it what the operator can reach). Looked at again every
 * resync: a policy or DNS change fixes it.
 */
export function addressNotAllowed(err: EgressRefusedError, what: string): TerminalError {
  const why =
    err.addressClass === 'link-local'
      ? 'the operator never connects to link-local or cloud metadata addresses'
      : `the operator connects to ${err.addressClass} addresses only for a GitLab URL that a GitLabAwsPolicy selecting this namespace lists in spec.gitlab.urls (or with --tenancy open)`;
  return new TerminalError(
    'AddressNotAllowed',
    `${what}: ${err.host} resolves to an address that is not allowed (${err.addressClass}); ${why}`,
    { recheck: true },
  );
}

interface GitbeakerLikeError {
  name?: string;
  message?: string;
  cause?: { description?: string; response?: { status?: number }; retryAfterMs?: number };
}

export function gitlabStatus(err: unknown): number | undefined {
  return (err as GitbeakerLikeError)?.cause?.response?.status;
}

/** `what` names the object ("project payments/api"); `need` the role the call needs ("Maintainer"). */
export function classifyGitLabError(
  err: unknown,
  operation: string,
  what: string,
  need = 'Maintainer',
): Error {
  if (err instanceof TerminalError || err instanceof RetryableError) return err;
  if (isEgressRefused(err)) return addressNotAllowed(err, `could not ${operation} ${what}`);
  const e = err as GitbeakerLikeError;
  const status = gitlabStatus(err);
  const detail = e?.cause?.description ?? e?.message ?? String(err);
  switch (status) {
    case 401:
      return new TerminalError(
        'GitLabUnauthorized',
        `GitLab rejected the token (401) while trying to ${operation} ${what}: it is invalid, expired or revoked. Put a valid access token with the api scope into the Secret named by spec.gitlab.tokenSecretRef`,
        { cause: err, recheck: true },
      );
    case 403:
      return new TerminalError(
        'GitLabForbidden',
        `GitLab refused to ${operation} ${what} (403): the token needs the api scope and its user needs at least the ${need} role there`,
        { cause: err, recheck: true },
      );
    case 404:
      return new TerminalError(
        'GitLabNotFound',
        `GitLab has no ${what}, or the token's user cannot see it (404): check the path in the spec and the user's membership`,
        { cause: err, recheck: true },
      );
    case 400:
    case 409:
    case 422:
      return new TerminalError(
        'GitLabInvalid',
        `GitLab refused to ${operation} ${what} (${status}): ${detail}`,
        { cause: err },
      );
  }
  if (status === 429 || status === 502 || status === 503) {
    return new RetryableError(
      'GitLabThrottled',
      `GitLab answered ${status} while trying to ${operation} ${what}; retrying after the wait it asked for`,
      {
        cause: err,
        retryAfterMs: e.cause?.retryAfterMs,
      },
    );
  }
  if (e?.name === 'GitbeakerRetryError') {
    return new RetryableError(
      'GitLabThrottled',
      `GitLab kept answering 429/502 while trying to ${operation} ${what}`,
      {
        cause: err,
        retryAfterMs: 60_000,
      },
    );
  }
  return new RetryableError(
    'GitLabUnavailable',
    `could not ${operation} ${what}${status ? ` (HTTP ${status})` : ''}: ${detail}`,
    { cause: err },
  );
}

export function outcomeOfGitLabError(err: unknown): string {
  const status = gitlabStatus(err);
  return status ? String(status) : ((err as GitbeakerLikeError)?.name ?? 'error');
}
