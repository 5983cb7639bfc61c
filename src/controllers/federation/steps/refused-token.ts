// Before anything else: a federation stalled because GitLab refused its token
// (401, 403, or a 404 for a project an under-scoped token cannot see) recovers
// when someone puts a new token into the Secret. The
// Secret is read again every --connection-poll-interval (30 s; a GET, as every
// reconcile does); while it holds the token that was refused, nothing else is
// called and the status stays as it is. A new token, a new generation, or the
// resync interval runs every step again.
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { type FederationState, gitlabOf } from '../state.ts';

const REFUSALS = new Set(['GitLabUnauthorized', 'GitLabForbidden', 'GitLabNotFound']);

export const refusedTokenStep: Step<FederationState> = {
  name: 'refused-token',
  async run(s) {
    const uid = s.fed.metadata.uid ?? '';
    const refused = s.shared.refusedTokens.get(uid);
    if (!refused) return next();
    const stale =
      refused.generation !== s.fed.metadata.generation ||
      s.deps.now().getTime() - refused.at >= s.deps.resyncMs;
    if (!stale) {
      await gitlabOf(s);
      if (s.tokenHash === refused.tokenHash) {
        throw new TerminalError(refused.reason, refused.message, {
          recheckAfterMs: s.deps.personPollMs.first,
        });
      }
    }
    s.shared.refusedTokens.delete(uid);
    return next();
  },
};

/**
 * Remembers a refusal of this reconcile's token, so the next looks are cheap;
 * returns the error to end the reconcile with (looked at again soon).
 */
export function rememberRefusal(s: FederationState, err: unknown): unknown {
  if (!(err instanceof TerminalError) || !REFUSALS.has(err.reason) || !s.tokenHash) return err;
  s.shared.refusedTokens.set(s.fed.metadata.uid ?? '', {
    tokenHash: s.tokenHash,
    generation: s.fed.metadata.generation,
    at: s.deps.now().getTime(),
    reason: err.reason,
    message: err.message,
  });
  return new TerminalError(err.reason, err.message, {
    recheckAfterMs: s.deps.personPollMs.first,
    cause: err,
  });
}
