// The one place that turns the end of a reconcile into conditions, the
// observedGeneration, and what the work queue does next (Flux's
// ComputeReconcileResult). Pure, so every case is table-tested.

import type { ReconcileResult } from '../process/metrics.ts';
import type { Condition, StatusWithConditions } from '../transport/kube.ts';
import { jitter } from '../watch/backoff.ts';
import { READY, RECONCILING, removeCondition, STALLED, setCondition } from './conditions.ts';
import { type Outcome, RetryableError, TerminalError, WaitError } from './outcome.ts';

export type QueueAction =
  | { kind: 'requeueAfter'; delayMs: number }
  | { kind: 'backoff'; minDelayMs?: number }
  | { kind: 'none' };

export interface Summary {
  status: StatusWithConditions;
  queue: QueueAction;
  result: ReconcileResult;
}

const MAX_MESSAGE = 2048;

export function summarize(
  status: StatusWithConditions,
  ended: { outcome: Outcome } | { error: unknown },
  context: { generation: number | undefined; resyncMs: number; now?: () => Date; random?: () => number },
): Summary {
  const { generation } = context;
  let conditions: Condition[] = status.conditions ?? [];
  const set = (type: string, s: Condition['status'], reason: string, message: string) => {
    conditions = setCondition(
      conditions,
      { type, status: s, reason, message: message.slice(0, MAX_MESSAGE) },
      generation,
      context.now,
    );
  };
  const next: StatusWithConditions = { ...status };

  // A wait thrown from deep inside a step is a wait like any other.
  if ('error' in ended && ended.error instanceof WaitError) ended = { outcome: ended.error.outcome };
  if ('outcome' in ended) {
    const { outcome } = ended;
    if (outcome.kind === 'done') {
      set(READY, 'True', outcome.reason ?? 'Succeeded', outcome.message ?? 'Reconciliation succeeded');
      conditions = removeCondition(removeCondition(conditions, RECONCILING), STALLED);
      next.observedGeneration = generation;
      next.conditions = conditions;
      return {
        status: next,
        queue: {
          kind: 'requeueAfter',
          delayMs: Math.min(
            jitter(context.resyncMs, 0.1, context.random),
            Math.max(outcome.dueInMs ?? Infinity, 0),
          ),
        },
        result: 'done',
      };
    }
    set(READY, 'False', outcome.reason, outcome.message);
    set(RECONCILING, 'True', outcome.reason, outcome.message);
    conditions = removeCondition(conditions, STALLED);
    next.conditions = conditions;
    return { status: next, queue: { kind: 'requeueAfter', delayMs: outcome.afterMs }, result: 'wait' };
  }

  const { error } = ended;
  if (error instanceof TerminalError) {
    set(READY, 'False', error.reason, error.message);
    set(STALLED, 'True', error.reason, error.message);
    conditions = removeCondition(conditions, RECONCILING);
    next.observedGeneration = generation;
    next.conditions = conditions;
    // What a person fixes outside the spec is looked at again each resync; the rest waits for a new generation.
    const queue: QueueAction = error.recheck
      ? {
          kind: 'requeueAfter',
          delayMs: error.recheckAfterMs ?? jitter(context.resyncMs, 0.1, context.random),
        }
      : { kind: 'none' };
    return { status: next, queue, result: 'terminal' };
  }
  const reason = error instanceof RetryableError ? error.reason : 'ReconcileError';
  const message = error instanceof Error ? error.message : String(error);
  set(READY, 'False', reason, message);
  set(RECONCILING, 'True', 'ProgressingWithRetry', `${message} (will retry)`);
  conditions = removeCondition(conditions, STALLED);
  next.conditions = conditions;
  const minDelayMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
  return { status: next, queue: { kind: 'backoff', ...(minDelayMs ? { minDelayMs } : {}) }, result: 'retry' };
}
