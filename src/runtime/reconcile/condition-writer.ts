// Sets a kind's own conditions (RoleReady, Authorized, ...) on the status draft
// of one reconcile, remembers which ones this reconcile decided on, and times
// the next look at something that waits from how long its condition has been
// in that state (read from the status as it was stored).
import type { Condition } from '../transport/kube.ts';
import { getCondition, removeCondition, setCondition } from './conditions.ts';
import { pollDelay } from './poll.ts';

export class ConditionWriter {
  private readonly status: { conditions?: Condition[] };
  private readonly stored: Condition[] | undefined;
  private readonly generation: number | undefined;
  private readonly now: () => Date;
  private readonly decided = new Set<string>();

  constructor(
    status: { conditions?: Condition[] },
    stored: Condition[] | undefined,
    generation: number | undefined,
    now: () => Date = () => new Date(),
  ) {
    this.status = status;
    this.stored = stored;
    this.generation = generation;
    this.now = now;
  }

  set(type: string, status: boolean | 'Unknown', reason: string, message: string): void {
    this.decided.add(type);
    this.status.conditions = setCondition(
      this.status.conditions ?? [],
      { type, status: status === 'Unknown' ? 'Unknown' : status ? 'True' : 'False', reason, message },
      this.generation,
      this.now,
    );
  }

  /** For a condition whose step no longer applies: a condition that stays would tell of the past. */
  remove(type: string): void {
    this.decided.add(type);
    if (this.status.conditions) this.status.conditions = removeCondition(this.status.conditions, type);
  }

  /** Whether this reconcile has set or removed the condition. */
  decidedOn(type: string): boolean {
    return this.decided.has(type);
  }

  /** The condition in the draft, as this reconcile has it so far. */
  current(type: string): Condition | undefined {
    return getCondition(this.status.conditions, type);
  }

  /** The condition as stored before this reconcile. */
  previous(type: string): Condition | undefined {
    return getCondition(this.stored, type);
  }

  /** How long `type` has been False with `reason`, by its stored lastTransitionTime; 0 when it is new. */
  waitedMs(type: string, reason: string): number {
    const c = getCondition(this.stored, type);
    const since = c && c.status === 'False' && c.reason === reason ? Date.parse(c.lastTransitionTime) : NaN;
    return Number.isNaN(since) ? 0 : this.now().getTime() - since;
  }

  /** The backoff for a wait that `type` has been in with `reason`. */
  pollDelay(type: string, reason: string, firstMs: number, maxMs: number): number {
    return pollDelay(this.waitedMs(type, reason), firstMs, maxMs);
  }
}
