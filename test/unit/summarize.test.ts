import { describe, expect, it } from 'vitest';
import { getCondition, kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import { done, RetryableError, TerminalError, WaitError, wait } from '../../src/runtime/reconcile/outcome.ts';
import { summarize } from '../../src/runtime/reconcile/summarize.ts';

const at = (iso: string) => () => new Date(iso);
const ctx = { generation: 3, resyncMs: 600_000, now: at('2026-11-25T10:00:00Z'), random: () => 0.5 };

describe('summarize: one place from outcome to conditions and queue action', () => {
  const cases = [
    {
      name: 'done',
      ended: { outcome: done('Synced', 'all good') },
      queue: { kind: 'requeueAfter', delayMs: 600_000 },
      ready: ['True', 'Synced'],
      reconciling: undefined,
      stalled: undefined,
      observedGeneration: 3,
    },
    {
      name: 'wait',
      ended: { outcome: wait(30_000, 'PendingGitLabAuthorization', 'an Owner must approve') },
      queue: { kind: 'requeueAfter', delayMs: 30_000 },
      ready: ['False', 'PendingGitLabAuthorization'],
      reconciling: ['True', 'PendingGitLabAuthorization'],
      stalled: undefined,
      observedGeneration: undefined,
    },
    {
      name: 'retryable error',
      ended: { error: new RetryableError('Throttled', 'IAM throttled the request', { retryAfterMs: 5000 }) },
      queue: { kind: 'backoff', minDelayMs: 5000 },
      ready: ['False', 'Throttled'],
      reconciling: ['True', 'ProgressingWithRetry'],
      stalled: undefined,
      observedGeneration: undefined,
    },
    {
      name: 'unknown error',
      ended: { error: new Error('socket hang up') },
      queue: { kind: 'backoff' },
      ready: ['False', 'ReconcileError'],
      reconciling: ['True', 'ProgressingWithRetry'],
      stalled: undefined,
      observedGeneration: undefined,
    },
    {
      name: 'terminal error',
      ended: { error: new TerminalError('InvalidSpec', 'fix spec.role.name') },
      queue: { kind: 'none' },
      ready: ['False', 'InvalidSpec'],
      reconciling: undefined,
      stalled: ['True', 'InvalidSpec'],
      observedGeneration: 3,
    },
    {
      name: 'terminal error fixed outside the spec: looked at again each resync',
      ended: { error: new TerminalError('AWSAccessDenied', 'grant iam:GetRole', { recheck: true }) },
      queue: { kind: 'requeueAfter', delayMs: 600_000 },
      ready: ['False', 'AWSAccessDenied'],
      reconciling: undefined,
      stalled: ['True', 'AWSAccessDenied'],
      observedGeneration: 3,
    },
    {
      name: 'terminal error looked at again sooner',
      ended: { error: new TerminalError('GitLabUnauthorized', 'new token', { recheckAfterMs: 30_000 }) },
      queue: { kind: 'requeueAfter', delayMs: 30_000 },
      ready: ['False', 'GitLabUnauthorized'],
      reconciling: undefined,
      stalled: ['True', 'GitLabUnauthorized'],
      observedGeneration: 3,
    },
    {
      name: 'a wait thrown from deep inside is a wait',
      ended: { error: new WaitError(60_000, 'SecretNotFound', 'create Secret gitlab-token') },
      queue: { kind: 'requeueAfter', delayMs: 60_000 },
      ready: ['False', 'SecretNotFound'],
      reconciling: ['True', 'SecretNotFound'],
      stalled: undefined,
      observedGeneration: undefined,
    },
  ] as const;

  for (const c of cases) {
    it(c.name, () => {
      const s = summarize({ conditions: [] }, c.ended, ctx);
      expect(s.queue).toEqual(c.queue);
      const pick = (type: string) => {
        const cond = getCondition(s.status.conditions, type);
        return cond ? [cond.status, cond.reason] : undefined;
      };
      expect(pick('Ready')).toEqual(c.ready);
      expect(pick('Reconciling')).toEqual(c.reconciling);
      expect(pick('Stalled')).toEqual(c.stalled);
      expect(s.status.observedGeneration).toBe(c.observedGeneration);
      expect(kstatusViolations({ metadata: { generation: 3 }, status: s.status })).toEqual([]);
      expect(s.status.conditions?.every((cond) => cond.observedGeneration === 3)).toBe(true);
    });
  }

  it('clears Stalled when work resumes, and Reconciling when it stalls', () => {
    const stalled = summarize({}, { error: new TerminalError('Bad', 'bad') }, ctx).status;
    const retrying = summarize(stalled, { error: new Error('x') }, { ...ctx, generation: 4 }).status;
    expect(getCondition(retrying.conditions, 'Stalled')).toBeUndefined();
    const stalledAgain = summarize(
      retrying,
      { error: new TerminalError('Bad', 'bad') },
      { ...ctx, generation: 4 },
    ).status;
    expect(getCondition(stalledAgain.conditions, 'Reconciling')).toBeUndefined();
  });

  it('keeps lastTransitionTime when nothing but the generation changed', () => {
    const first = summarize({}, { outcome: done('Synced', 'ok') }, ctx).status;
    const second = summarize(
      first,
      { outcome: done('Synced', 'ok') },
      { ...ctx, generation: 4, now: at('2026-11-25T11:00:00Z') },
    ).status;
    expect(getCondition(second.conditions, 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'Synced',
      message: 'ok',
      observedGeneration: 4,
      lastTransitionTime: '2026-11-25T10:00:00Z',
    });
    const third = summarize(
      second,
      { outcome: wait(1, 'Propagating', 'IAM') },
      { ...ctx, now: at('2026-11-25T12:00:00Z') },
    ).status;
    expect(getCondition(third.conditions, 'Ready')?.lastTransitionTime).toBe('2026-11-25T12:00:00Z');
  });

  it('keeps the reconciler’s own conditions and fields', () => {
    const s = summarize(
      {
        roleArn: 'arn:aws:iam::1:role/x',
        conditions: [
          {
            type: 'RoleReady',
            status: 'True',
            reason: 'Created',
            message: '',
            lastTransitionTime: 'x',
            observedGeneration: 3,
          },
        ],
      },
      { outcome: done() },
      ctx,
    );
    expect(s.status.roleArn).toBe('arn:aws:iam::1:role/x');
    expect(s.status.conditions?.map((c) => c.type)).toEqual(['Ready', 'RoleReady']);
  });
});

describe('kstatusViolations', () => {
  it('names each broken invariant', () => {
    expect(
      kstatusViolations({
        metadata: { generation: 2 },
        status: {
          observedGeneration: 3,
          conditions: [
            {
              type: 'Reconciling',
              status: 'True',
              reason: 'R',
              message: '',
              lastTransitionTime: 'x',
              observedGeneration: 2,
            },
            { type: 'Stalled', status: 'True', reason: 'S', message: '', lastTransitionTime: 'x' },
          ],
        },
      }),
    ).toEqual([
      'Ready condition is missing',
      'Reconciling and Stalled are both True',
      'Stalled=True but Ready is not False',
      'Stalled has no observedGeneration',
      'status.observedGeneration 3 > generation 2',
    ]);
  });
});
