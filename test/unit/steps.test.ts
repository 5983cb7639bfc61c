// The step runner: each step owns its condition, a failure sets it False with
// the error's reason (a True from before never outlives a failure), a step can
// ask for a checkpoint before the next one, and the first stop ends the run.
import { describe, expect, it } from 'vitest';
import { ConditionWriter } from '../../src/runtime/reconcile/condition-writer.ts';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { RetryableError, TerminalError, wait } from '../../src/runtime/reconcile/outcome.ts';
import { checkpoint, next, runSteps, type Step, stop } from '../../src/runtime/reconcile/steps.ts';
import type { Condition } from '../../src/runtime/transport/kube.ts';

const READY_BEFORE: Condition = {
  type: 'RoleReady',
  status: 'True',
  reason: 'Ready',
  message: 'from an earlier reconcile',
  lastTransitionTime: '2026-12-01T00:00:00Z',
  observedGeneration: 1,
};

function runner(conditions: Condition[] = [READY_BEFORE]) {
  const status: { conditions?: Condition[] } = { conditions: [...conditions] };
  const writes: string[] = [];
  const trail: string[] = [];
  return {
    status,
    writes,
    trail,
    runner: {
      conditions: new ConditionWriter(status, conditions, 2),
      checkpoint: async () => {
        writes.push(trail.join(','));
      },
    },
  };
}

const step = (
  name: string,
  result: () => ReturnType<Step<string[]>['run']>,
  condition?: string,
): Step<string[]> => ({
  name,
  condition,
  run: async (trail) => {
    trail.push(name);
    return result();
  },
});

describe('runSteps', () => {
  it('runs the steps in order, writing the status at a checkpoint before the next step', async () => {
    const r = runner();
    const outcome = await runSteps(
      [step('a', async () => next()), step('b', async () => checkpoint()), step('c', async () => next())],
      r.trail,
      r.runner,
    );
    expect(outcome).toBeUndefined();
    expect(r.trail).toEqual(['a', 'b', 'c']);
    expect(r.writes).toEqual(['a,b']);
  });

  it('ends at the first step that stops, with its outcome', async () => {
    const r = runner();
    const outcome = await runSteps(
      [step('a', async () => stop(wait(5, 'Propagating', 'IAM'))), step('b', async () => next())],
      r.trail,
      r.runner,
    );
    expect(outcome).toEqual(wait(5, 'Propagating', 'IAM'));
    expect(r.trail).toEqual(['a']);
  });

  it.each([
    [new TerminalError('AWSAccessDenied', 'grant iam:GetRole'), 'AWSAccessDenied'],
    [new RetryableError('AWSThrottled', 'slow down'), 'AWSThrottled'],
    [new Error('socket hang up'), 'ReconcileError'],
  ])(
    'sets the failing step’s condition False (%s), never leaving the True of before',
    async (err, reason) => {
      const r = runner();
      await expect(
        runSteps([step('role', async () => Promise.reject(err), 'RoleReady')], r.trail, r.runner),
      ).rejects.toBe(err);
      expect(getCondition(r.status.conditions, 'RoleReady')).toMatchObject({
        status: 'False',
        reason,
        message: err.message,
        observedGeneration: 2,
      });
    },
  );

  it('keeps the False a step said itself, with its better reason', async () => {
    const r = runner();
    const failing: Step<string[]> = {
      name: 'role',
      condition: 'RoleReady',
      run: async () => {
        r.runner.conditions.set('RoleReady', false, 'TrustPolicyTooLarge', '2,300 characters');
        throw new TerminalError('Other', 'thrown later');
      },
    };
    await expect(runSteps([failing], r.trail, r.runner)).rejects.toThrow('thrown later');
    expect(getCondition(r.status.conditions, 'RoleReady')).toMatchObject({ reason: 'TrustPolicyTooLarge' });
  });

  it('overrides a True the failing step set before it threw', async () => {
    const r = runner([]);
    const failing: Step<string[]> = {
      name: 'role',
      condition: 'RoleReady',
      run: async () => {
        r.runner.conditions.set('RoleReady', true, 'Ready', 'too early');
        throw new RetryableError('AWSUnavailable', 'IAM is down');
      },
    };
    await expect(runSteps([failing], r.trail, r.runner)).rejects.toThrow('IAM is down');
    expect(getCondition(r.status.conditions, 'RoleReady')).toMatchObject({
      status: 'False',
      reason: 'AWSUnavailable',
    });
  });
});

describe('ConditionWriter', () => {
  it('times a wait from how long the stored condition has said it', () => {
    const stored: Condition[] = [
      {
        type: 'Ready',
        status: 'False',
        reason: 'UnprotectedRefs',
        message: 'm',
        lastTransitionTime: '2026-12-06T10:00:00Z',
      },
    ];
    const writer = new ConditionWriter(
      { conditions: stored },
      stored,
      1,
      () => new Date('2026-12-06T10:02:00Z'),
    );
    expect(writer.waitedMs('Ready', 'UnprotectedRefs')).toBe(120_000);
    expect(writer.pollDelay('Ready', 'UnprotectedRefs', 30_000, 300_000)).toBe(120_000);
    // Another reason has not waited at all.
    expect(writer.pollDelay('Ready', 'Propagating', 30_000, 300_000)).toBe(30_000);
  });

  it('removes a condition whose step no longer applies, and says it decided on it', () => {
    const status = { conditions: [READY_BEFORE] };
    const writer = new ConditionWriter(status, status.conditions, 2);
    writer.remove('RoleReady');
    expect(status.conditions).toEqual([]);
    expect(writer.decidedOn('RoleReady')).toBe(true);
    expect(writer.previous('RoleReady')).toEqual(READY_BEFORE);
  });
});
