// Step 4: what AWS says about the connection. PENDING is normal: a GitLab Owner
// must complete the handshake in the console, and the operator looks again
// with backoff. AVAILABLE is Ready. ERROR needs a person: Stalled, looked at
// again every resync (and at once when the object changes).
import { regionOf } from '../../../adapters/aws/connections.ts';
import { done, TerminalError, wait } from '../../../runtime/reconcile/outcome.ts';
import { type Step, stop } from '../../../runtime/reconcile/steps.ts';
import {
  AUTHORIZED,
  availableMessage,
  connectionErrorMessage,
  HOST_READY,
  hostPendingMessage,
  pendingAuthorizationMessage,
  REASONS,
} from '../conditions.ts';
import { authorizationUrl } from '../defaults.ts';
import { hostPhase } from '../desired.ts';
import { type ConnectionState, pollDelay } from '../state.ts';

export const authorizationStep: Step<ConnectionState> = {
  name: 'authorization',
  condition: AUTHORIZED,
  async run(s) {
    const { r, status, host } = s;
    const connection = s.connection!;
    const conditions = s.ctx.conditions;
    const url = authorizationUrl(regionOf(connection.arn) ?? s.port.region);
    s.deps.pending.set(s.ctx.key, connection.status === 'PENDING');
    switch (connection.status) {
      case 'AVAILABLE':
        delete status.authorizationUrl;
        conditions.set(
          AUTHORIZED,
          true,
          REASONS.authorized,
          'The handshake is complete: AWS reports AVAILABLE',
        );
        return stop(done(REASONS.available, availableMessage(r.connectionName, connection.arn)));
      case 'PENDING': {
        status.authorizationUrl = url;
        const message = pendingAuthorizationMessage(r.connectionName, url, s.deps.pollMaxMs);
        conditions.set(AUTHORIZED, false, REASONS.pendingAuthorization, message);
        // A host must be set up before its connection can be: say that first.
        if (host && hostPhase(host.status) === 'pending') {
          return stop(
            wait(
              pollDelay(s, HOST_READY, REASONS.pendingHostSetup),
              REASONS.pendingHostSetup,
              hostPendingMessage(host.name, url, r.connectionName),
            ),
          );
        }
        return stop(
          wait(pollDelay(s, AUTHORIZED, REASONS.pendingAuthorization), REASONS.pendingAuthorization, message),
        );
      }
      case 'ERROR': {
        status.authorizationUrl = url;
        const message = connectionErrorMessage(r.connectionName, connection.arn, url, s.ref);
        conditions.set(AUTHORIZED, false, REASONS.connectionError, message);
        throw new TerminalError(REASONS.connectionError, message, { recheck: true });
      }
      default:
        return stop(
          wait(
            s.deps.pollMaxMs,
            REASONS.connectionUnknownStatus,
            `Connection ${r.connectionName} reports the status "${connection.status}", which the operator does not know; it checks again later`,
          ),
        );
    }
  },
};
