// gitlab_aws_operator_connections_pending_authorization: how many connections
// wait for a GitLab Owner right now, so an alert can say "someone must click".
// gitlab_aws_operator_connection_pending_since_timestamp_seconds (read with
// pendingSince): since when each one waits, so an alert can say "for a day".
import { Gauge, type Registry } from 'prom-client';
import type { GitLabConnection } from '../../api/v1alpha1/index.ts';
import { AUTHORIZED, REASONS } from './conditions.ts';

export class PendingConnections {
  private readonly keys = new Set<string>();

  constructor(registry: Registry) {
    const keys = this.keys;
    new Gauge({
      name: 'gitlab_aws_operator_connections_pending_authorization',
      help: 'GitLabConnections whose AWS connection is PENDING: a GitLab Owner must complete the handshake.',
      registers: [registry],
      collect() {
        this.set(keys.size);
      },
    });
  }

  set(key: string, pending: boolean): void {
    if (pending) this.keys.add(key);
    else this.keys.delete(key);
  }

  /** Drops keys whose object is gone without a finalize (e.g. its finalizer was removed by hand). */
  retain(live: Iterable<string>): void {
    const keep = new Set(live);
    for (const key of this.keys) if (!keep.has(key)) this.keys.delete(key);
  }
}

/** When the connection became PENDING: its Authorized condition moved then (the message is stable while it waits). */
export function pendingSince(obj: GitLabConnection): string | undefined {
  const authorized = obj.status?.conditions?.find((c) => c.type === AUTHORIZED);
  return authorized?.status === 'False' && authorized.reason === REASONS.pendingAuthorization
    ? authorized.lastTransitionTime
    : undefined;
}
