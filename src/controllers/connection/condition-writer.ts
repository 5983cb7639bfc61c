// Sets a GitLabConnection's own conditions (Authorized, HostReady) on the status
// draft, and times the next look at something that waits: from how long the
// condition has been in that state, read from the status as it was stored.
import type { GitLabConnection } from '../../api/v1alpha1/index.ts';
import { getCondition, removeCondition, setCondition } from '../../runtime/reconcile/conditions.ts';
import type { Condition } from '../../runtime/transport/kube.ts';
import { pollDelay } from './desired.ts';
import type { Status } from './reconciler.ts';

interface Timing {
  pollFirstMs: number;
  pollMaxMs: number;
  now?: () => Date;
}

/** Sets this kind's own conditions on the status draft, and times polls from them. */
export class ConditionWriter {
  private readonly status: Status;
  private readonly previous: Condition[] | undefined;
  private readonly generation: number | undefined;
  private readonly deps: Timing;

  constructor(status: Status, obj: GitLabConnection, deps: Timing) {
    this.status = status;
    this.previous = obj.status?.conditions as Condition[] | undefined;
    this.generation = obj.metadata.generation;
    this.deps = deps;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  set(type: string, ok: boolean, reason: string, message: string): void {
    this.status.conditions = setCondition(
      this.status.conditions ?? [],
      { type, status: ok ? 'True' : 'False', reason, message },
      this.generation,
      () => this.now(),
    );
  }

  remove(type: string): void {
    if (this.status.conditions) this.status.conditions = removeCondition(this.status.conditions, type);
  }

  /** The backoff for a wait that condition `type` has been in with `reason` (since its lastTransitionTime). */
  pollDelay(type: string, reason: string): number {
    const c = getCondition(this.previous, type);
    const since = c && c.status === 'False' && c.reason === reason ? Date.parse(c.lastTransitionTime) : NaN;
    const waited = Number.isNaN(since) ? 0 : this.now().getTime() - since;
    return pollDelay(waited, this.deps.pollFirstMs, this.deps.pollMaxMs);
  }
}
