// Conditions with the kstatus contract that Flux, Argo CD and `kubectl wait`
// rely on: Ready is always present; Reconciling and Stalled are never both
// set; each condition carries observedGeneration; lastTransitionTime moves
// only when status, reason or message change.
import type { Condition } from '../transport/kube.ts';

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Sets a condition in place; keeps lastTransitionTime when nothing but the generation changed. */
export function setCondition(
  conditions: Condition[],
  input: ConditionInput,
  generation: number | undefined,
  now: () => Date = () => new Date(),
): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      existing &&
      existing.status === input.status &&
      existing.reason === input.reason &&
      existing.message === input.message
        ? existing.lastTransitionTime
        : now()
            .toISOString()
            .replace(/\.\d+Z$/, 'Z'),
  };
  return [...conditions.filter((c) => c.type !== input.type), next].sort(byType);
}

export function removeCondition(conditions: Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

// Ready first, then alphabetical: stable output means no status write for a mere reorder.
function byType(a: Condition, b: Condition): number {
  if (a.type === b.type) return 0;
  if (a.type === READY) return -1;
  if (b.type === READY) return 1;
  return a.type < b.type ? -1 : 1;
}

/** Violations of the kstatus invariants; empty when the conditions are well-formed. */
export function kstatusViolations(obj: {
  metadata?: { generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}): string[] {
  const problems: string[] = [];
  const conditions = obj.status?.conditions ?? [];
  const generation = obj.metadata?.generation;
  const ready = getCondition(conditions, READY);
  const reconciling = getCondition(conditions, RECONCILING);
  const stalled = getCondition(conditions, STALLED);
  if (!ready) problems.push('Ready condition is missing');
  if (reconciling?.status === 'True' && stalled?.status === 'True')
    problems.push('Reconciling and Stalled are both True');
  if (stalled?.status === 'True' && ready?.status !== 'False')
    problems.push('Stalled=True but Ready is not False');
  if (ready?.status === 'True' && (reconciling?.status === 'True' || stalled?.status === 'True')) {
    problems.push('Ready=True while Reconciling or Stalled is True');
  }
  for (const c of conditions) {
    if (c.observedGeneration === undefined) problems.push(`${c.type} has no observedGeneration`);
    else if (generation !== undefined && c.observedGeneration > generation) {
      problems.push(`${c.type}.observedGeneration ${c.observedGeneration} > generation ${generation}`);
    }
    if (!c.reason) problems.push(`${c.type} has no reason`);
  }
  const observed = obj.status?.observedGeneration;
  if (observed !== undefined && generation !== undefined && observed > generation) {
    problems.push(`status.observedGeneration ${observed} > generation ${generation}`);
  }
  return problems;
}
