// AWS trouble: throttling and 5xx are retried with backoff (the create without
// SDK retries, since it has no idempotency token); a connection in ERROR stalls
// with what to do, and is looked at again once the object is touched.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import { metricValue, scrapeMetrics } from '../runtime/widgets.ts';
import {
  api,
  CONSOLE_URL,
  cond,
  readyReason,
  requestsOf,
  startTestbed,
  type Testbed,
  waitForConnection,
  waitForEvent,
} from './helpers.ts';

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

describe('GitLabConnection and AWS errors', () => {
  it('retries throttling and server errors until they pass, and creates once', async () => {
    bed = await startTestbed('glconn-retry');
    const { ns, fake, op } = bed;
    const throttled = fake.faults.add({ operation: 'CreateConnection', type: 'throttle', times: 2 });
    // Three SDK attempts fail in one reconcile; the fourth request (next reconcile) passes.
    const failing = fake.faults.add({
      operation: 'GetConnection',
      type: 'server-error',
      status: 503,
      times: 4,
    });
    await api().create(ns, 'flaky', {});

    const retrying = await waitForConnection(
      ns,
      'flaky',
      'a retry',
      (o) => cond(o, 'Reconciling')?.reason === 'ProgressingWithRetry',
      { op },
    );
    expect(cond(retrying, 'Ready')?.status).toBe('False');
    expect(cond(retrying, 'Stalled')).toBeUndefined();

    const pending = await waitForConnection(
      ns,
      'flaky',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      { timeoutMs: 30_000, op },
    );
    expect(throttled.hits).toBe(2);
    expect(failing.hits).toBe(4);
    // The create is never retried by the SDK: each throttled reconcile sent it once.
    expect(requestsOf(fake, 'CreateConnection').map((r) => r.status)).toEqual([400, 400, 200]);
    expect(fake.connections()).toHaveLength(1);
    expect(pending.status?.connectionArn).toBe(fake.connections()[0]!.arn);

    const retries = op.lines.filter((l) => l.msg === 'reconcile failed; will retry').map((l) => l.reason);
    expect(retries).toContain('AWSThrottled');
    expect(retries).toContain('AWSUnavailable');
    const metrics = await scrapeMetrics(op);
    const calls = (operation: string, outcome: string) =>
      metricValue(metrics, 'gitlab_aws_operator_external_requests_total', {
        system: 'aws-codeconnections',
        operation,
        outcome,
      });
    expect(calls('CreateConnection', 'Throttling')).toBe(2);
    expect(calls('GetConnection', 'InternalServer')).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(metrics, 'gitlab_aws_operator_reconcile_total', {
        controller: 'gitlabconnection',
        result: 'retry',
      }),
    ).toBeGreaterThanOrEqual(3);
  });

  it('stalls on ERROR with what to do, stops polling, and recovers when touched after a fix', async () => {
    bed = await startTestbed('glconn-error');
    const { ns, fake, op } = bed;
    await api().create(ns, 'broken', {});
    const pending = await waitForConnection(
      ns,
      'broken',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      { op },
    );
    const arn = pending.status!.connectionArn!;
    fake.breakConnection(arn);

    const stalled = await waitForConnection(
      ns,
      'broken',
      'Stalled',
      (o) => cond(o, 'Stalled')?.status === 'True',
    );
    expect(stalled.status).toMatchObject({
      connectionStatus: 'ERROR',
      connectionArn: arn,
      authorizationUrl: CONSOLE_URL,
    });
    expect(cond(stalled, 'Stalled')?.reason).toBe('ConnectionError');
    expect(cond(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'ConnectionError' });
    expect(cond(stalled, 'Authorized')).toMatchObject({ status: 'False', reason: 'ConnectionError' });
    expect(cond(stalled, 'Reconciling')).toBeUndefined();
    const message = cond(stalled, 'Stalled')!.message;
    expect(message).toContain(`Connection broken (${arn}) is in ERROR`);
    expect(message).toContain(`Check it at ${CONSOLE_URL}`);
    expect(message).toContain('delete and recreate this GitLabConnection');
    expect(message).toContain(`kubectl annotate glconn/broken -n ${ns} recheck=`);
    expect(stalled.status?.observedGeneration).toBe(stalled.metadata?.generation);
    expect((await waitForEvent(ns, 'broken', 'ConnectionError')).type).toBe('Warning');
    // A person's problem: no polling meanwhile, and never a new connection.
    const polls = requestsOf(fake, 'GetConnection').length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(requestsOf(fake, 'GetConnection').length).toBe(polls);
    expect(requestsOf(fake, 'CreateConnection')).toHaveLength(1);
    expect(requestsOf(fake, 'DeleteConnection')).toHaveLength(0);

    // Fixed in the console; the annotation the message suggests makes the operator look again.
    fake.setConnectionStatus(arn, 'AVAILABLE');
    await api().patch(ns, 'broken', { metadata: { annotations: { recheck: String(Date.now()) } } });
    const ready = await waitForConnection(ns, 'broken', 'Ready', (o) => cond(o, 'Ready')?.status === 'True');
    expect(cond(ready, 'Stalled')).toBeUndefined();
    expect(ready.status?.connectionStatus).toBe('AVAILABLE');
  });

  it('notices ERROR on a Ready connection at the next resync', async () => {
    bed = await startTestbed('glconn-resync', { args: ['--resync-interval', '1s'] });
    const { ns, fake, op } = bed;
    await api().create(ns, 'resynced', {});
    const pending = await waitForConnection(
      ns,
      'resynced',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      { op },
    );
    fake.completeHandshake(pending.status!.connectionArn!);
    await waitForConnection(ns, 'resynced', 'Ready', (o) => cond(o, 'Ready')?.status === 'True');
    fake.breakConnection(pending.status!.connectionArn!);
    await waitForConnection(
      ns,
      'resynced',
      'ConnectionError',
      (o) => cond(o, 'Stalled')?.reason === 'ConnectionError',
    );
    await waitFor('no second connection', async () => (fake.connections().length === 1 ? true : undefined));
  });
});
