// GitLab.com: a connection with ProviderType GitLab, PENDING until a GitLab Owner
// completes the handshake (fake.completeHandshake), then Ready.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import { metricValue, scrapeMetrics } from '../runtime/widgets.ts';
import {
  api,
  CLUSTER_TAG,
  CONNECTION_ARN,
  CONSOLE_URL,
  cond,
  eventsOf,
  OWNER_TAG,
  readyReason,
  requestsOf,
  startTestbed,
  type Testbed,
  waitForConnection,
  waitForEvent,
} from './helpers.ts';

const PENDING_GAUGE = 'gitlab_aws_operator_connections_pending_authorization';
let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

describe('GitLabConnection to GitLab.com', () => {
  it('is PENDING with one event and a console link, polls with backoff, and turns Ready after the handshake', async () => {
    bed = await startTestbed('glconn-com');
    const { ns, fake, op } = bed;
    await api().create(ns, 'gitlab-main', { tags: { team: 'pipelines' } });

    const pending = await waitForConnection(
      ns,
      'gitlab-main',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      { op },
    );
    expect(pending.status).toMatchObject({
      connectionArn: expect.stringMatching(CONNECTION_ARN),
      connectionStatus: 'PENDING',
      authorizationUrl: CONSOLE_URL,
    });
    expect(pending.status?.hostArn).toBeUndefined();
    expect(cond(pending, 'Ready')).toMatchObject({ status: 'False', reason: 'PendingGitLabAuthorization' });
    expect(cond(pending, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'PendingGitLabAuthorization',
    });
    expect(cond(pending, 'Stalled')).toBeUndefined();
    expect(cond(pending, 'HostReady')).toBeUndefined();
    const authorized = cond(pending, 'Authorized');
    expect(authorized).toMatchObject({ status: 'False', reason: 'PendingGitLabAuthorization' });
    expect(authorized?.message).toContain(
      `a user with the Owner role in GitLab must complete the handshake at ${CONSOLE_URL}`,
    );
    expect(cond(pending, 'Ready')?.message).toBe(authorized?.message);

    // In AWS: one GitLab.com connection with the spec's and the owner's tags.
    const arn = pending.status!.connectionArn!;
    expect(fake.connections()).toHaveLength(1);
    expect(fake.connections()[0]).toMatchObject({ arn, name: 'gitlab-main', providerType: 'GitLab' });
    expect(fake.tagsOf(arn)).toEqual({
      team: 'pipelines',
      [OWNER_TAG]: `${ns}/gitlab-main`,
      [CLUSTER_TAG]: 'default',
    });
    expect(requestsOf(fake, 'CreateConnection').map((r) => r.body)).toEqual([
      {
        ConnectionName: 'gitlab-main',
        ProviderType: 'GitLab',
        Tags: [
          { Key: 'team', Value: 'pipelines' },
          { Key: OWNER_TAG, Value: `${ns}/gitlab-main` },
          { Key: CLUSTER_TAG, Value: 'default' },
        ],
      },
    ]);
    // One lookup by name before the create; afterwards the ARN is known (even before the
    // informer has seen the status write), so the connection is never looked up by name again.
    expect(requestsOf(fake, 'ListConnections')).toHaveLength(1);
    expect(await scrapeMetrics(op).then((m) => metricValue(m, PENDING_GAUGE))).toBe(1);

    // What a user sees: kubectl get (printer columns) and describe.
    const get = await kubectl(['get', 'glconn', '-n', ns]);
    expect(get.stdout).toMatch(/NAME\s+READY\s+STATUS\s+CONNECTION\s+AGE/);
    expect(get.stdout).toMatch(
      new RegExp(`gitlab-main\\s+False\\s+PENDING\\s+${arn.replace(/[/.]/g, '\\$&')}`),
    );
    const describe = await kubectl(['describe', 'glconn', 'gitlab-main', '-n', ns]);
    expect(describe.stdout).toContain('PendingGitLabAuthorization');
    expect(describe.stdout).toContain(CONSOLE_URL);

    // It keeps polling, each time later than the time before, and records no more events.
    await waitFor(
      'six polls',
      async () => (requestsOf(fake, 'GetConnection').length >= 6 ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    const polls = requestsOf(fake, 'GetConnection').map((r) => r.timestamp);
    const gaps = polls.slice(1).map((t, i) => t - polls[i]!);
    // The first look follows the create at once; then 300 ms doubling towards the 1.5 s cap.
    for (const gap of gaps.slice(1)) expect(gap).toBeGreaterThanOrEqual(250);
    expect(gaps.at(-1)!).toBeGreaterThanOrEqual(1_000);
    expect(gaps.at(-1)!).toBeLessThan(2_500);
    expect(requestsOf(fake, 'CreateConnection')).toHaveLength(1);
    const stillPending = await api().get(ns, 'gitlab-main');
    expect(cond(stillPending, 'Authorized')?.lastTransitionTime).toBe(authorized?.lastTransitionTime);
    // Polls that find nothing new write nothing.
    expect(stillPending.metadata?.resourceVersion).toBe(pending.metadata?.resourceVersion);
    await waitForEvent(ns, 'gitlab-main', 'PendingGitLabAuthorization');
    const pendingEvents = (await eventsOf(ns, 'gitlab-main')).filter(
      (e) => e.reason === 'PendingGitLabAuthorization',
    );
    expect(pendingEvents).toEqual([expect.objectContaining({ type: 'Normal', count: 1 })]);

    // kubectl wait blocks while PENDING and returns once AWS says AVAILABLE.
    let waitEnded = false;
    const kubectlWait = kubectl([
      'wait',
      '--for=condition=Ready',
      'glconn/gitlab-main',
      '-n',
      ns,
      '--timeout=60s',
    ]).then((r) => {
      waitEnded = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(waitEnded).toBe(false);
    fake.completeHandshake(arn);
    const waited = await kubectlWait;
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('condition met');

    const ready = await waitForConnection(
      ns,
      'gitlab-main',
      'Ready',
      (o) => cond(o, 'Ready')?.status === 'True',
    );
    expect(ready.status).toMatchObject({ connectionArn: arn, connectionStatus: 'AVAILABLE' });
    expect(ready.status?.authorizationUrl).toBeUndefined();
    expect(ready.status?.observedGeneration).toBe(ready.metadata?.generation);
    expect(cond(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(cond(ready, 'Ready')?.message).toContain(arn);
    expect(cond(ready, 'Authorized')).toMatchObject({ status: 'True', reason: 'Authorized' });
    expect(cond(ready, 'Reconciling')).toBeUndefined();
    expect(cond(ready, 'Stalled')).toBeUndefined();
    await waitFor(
      'gauge back to 0',
      async () =>
        (await scrapeMetrics(op).then((m) => metricValue(m, PENDING_GAUGE))) === 0 ? true : undefined,
      { timeoutMs: 5_000 },
    );

    await waitForEvent(ns, 'gitlab-main', 'Available');
    const events = await eventsOf(ns, 'gitlab-main');
    expect(events.filter((e) => e.reason === 'PendingGitLabAuthorization')).toHaveLength(1);
    expect(events.map((e) => `${e.type}/${e.reason}`).sort()).toEqual([
      'Normal/Available',
      'Normal/ConnectionCreated',
      'Normal/PendingGitLabAuthorization',
    ]);
    const metrics = await scrapeMetrics(op);
    expect(
      metricValue(metrics, 'gitlab_aws_operator_reconcile_total', { controller: 'gitlabconnection' }),
    ).toBeGreaterThan(3);
    expect(
      metricValue(metrics, 'gitlab_aws_operator_external_requests_total', {
        system: 'aws-codeconnections',
        operation: 'CreateConnection',
        outcome: 'success',
      }),
    ).toBe(1);
  });
});
