// Deletion: Delete removes the connection, then the host once nothing uses it;
// Orphan leaves both; AWS errors keep the finalizer until cleanup succeeds.
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  cond,
  readyReason,
  requestsOf,
  startTestbed,
  type Testbed,
  waitForConnection,
  waitForEvent,
  waitForGone,
} from './helpers.ts';

const SELF_MANAGED = { gitlab: { url: 'https://gitlab.example.com' } };
const FINALIZER = 'gitlab-aws.io/cleanup';

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

/** A self-managed connection with its host, both AVAILABLE. */
async function readySelfManaged(b: Testbed, name: string, extra: object = {}) {
  await api().create(b.ns, name, { ...SELF_MANAGED, ...extra });
  const pending = await waitForConnection(
    b.ns,
    name,
    'connection made',
    (o) => readyReason(o) === 'PendingHostSetup',
    {
      op: b.op,
    },
  );
  expect(pending.metadata?.finalizers).toEqual([FINALIZER]);
  b.fake.setHostStatus(pending.status!.hostArn!, 'AVAILABLE');
  await waitForConnection(b.ns, name, 'host set up', (o) => readyReason(o) === 'PendingGitLabAuthorization');
  b.fake.completeHandshake(pending.status!.connectionArn!);
  return waitForConnection(b.ns, name, 'Ready', (o) => cond(o, 'Ready')?.status === 'True');
}

describe('GitLabConnection deletion', () => {
  it('Delete removes the connection, then the host', async () => {
    bed = await startTestbed('glconn-del');
    const { ns, fake } = bed;
    const ready = await readySelfManaged(bed, 'doomed');
    await api().delete(ns, 'doomed');
    await waitForGone(ns, 'doomed');

    expect(fake.connections()).toEqual([]);
    expect(fake.hosts()).toEqual([]);
    const order = fake.requests
      .filter((r) => r.operation === 'DeleteConnection' || r.operation === 'DeleteHost')
      .map((r) => `${r.operation} ${String(r.body.ConnectionArn ?? r.body.HostArn)}`);
    expect(order).toEqual([
      `DeleteConnection ${ready.status!.connectionArn}`,
      `DeleteHost ${ready.status!.hostArn}`,
    ]);
    const deleted = await waitForEvent(ns, 'doomed', 'Deleted');
    expect(deleted.message).toContain(`deleted connection doomed (${ready.status!.connectionArn})`);
    expect(deleted.message).toContain(`deleted host doomed (${ready.status!.hostArn})`);
  });

  it('Orphan leaves the connection and the host in AWS', async () => {
    bed = await startTestbed('glconn-orphan');
    const { ns, fake } = bed;
    const ready = await readySelfManaged(bed, 'kept', { deletionPolicy: 'Orphan' });
    await api().delete(ns, 'kept');
    await waitForGone(ns, 'kept');
    expect(fake.connections().map((c) => c.arn)).toEqual([ready.status!.connectionArn]);
    expect(fake.hosts().map((h) => h.arn)).toEqual([ready.status!.hostArn]);
    expect(requestsOf(fake, 'DeleteConnection')).toEqual([]);
    expect(requestsOf(fake, 'DeleteHost')).toEqual([]);
  });

  it('keeps the finalizer while AWS fails, and finishes once it answers', async () => {
    bed = await startTestbed('glconn-delfail');
    const { ns, fake, op } = bed;
    await api().create(ns, 'stubborn', {});
    await waitForConnection(
      ns,
      'stubborn',
      'pending',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      {
        op,
      },
    );
    // Two reconciles' worth of 500s (the SDK tries three times each).
    const fault = fake.faults.add({ operation: 'DeleteConnection', type: 'server-error', times: 6 });
    await api().delete(ns, 'stubborn');

    const blocked = await waitForConnection(
      ns,
      'stubborn',
      'a failed cleanup',
      (o) => cond(o, 'Reconciling')?.reason === 'ProgressingWithRetry',
    );
    expect(blocked.metadata?.deletionTimestamp).toBeDefined();
    expect(blocked.metadata?.finalizers).toEqual([FINALIZER]);
    expect(cond(blocked, 'Ready')?.reason).toBe('AWSUnavailable');
    expect(fake.connections()).toHaveLength(1);

    await waitForGone(ns, 'stubborn', 30_000);
    expect(fault.hits).toBe(6);
    expect(fake.connections()).toEqual([]);
  });

  it('waits to delete a host that another connection still uses', async () => {
    bed = await startTestbed('glconn-inuse');
    const { ns, fake } = bed;
    const ready = await readySelfManaged(bed, 'shared-host');
    const squatter = fake.plantConnection({ name: 'someone-elses', hostArn: ready.status!.hostArn! });
    await api().delete(ns, 'shared-host');

    const waiting = await waitForConnection(
      ns,
      'shared-host',
      'HostInUse',
      (o) => readyReason(o) === 'HostInUse',
    );
    expect(cond(waiting, 'Ready')?.message).toContain(`still used by someone-elses (${squatter})`);
    expect(cond(waiting, 'Ready')?.message).toContain('deletionPolicy: Orphan');
    expect(cond(waiting, 'Reconciling')?.status).toBe('True');
    expect(waiting.status?.connectionArn).toBeUndefined();
    expect(fake.connections().map((c) => c.arn)).toEqual([squatter]);
    expect(fake.hosts()).toHaveLength(1);

    fake.removeConnection(squatter);
    await waitForGone(ns, 'shared-host');
    expect(fake.hosts()).toEqual([]);
  });

  it('deletes a connection whose ARN a crash kept out of status', async () => {
    bed = await startTestbed('glconn-delcrash');
    const { ns, fake, op } = bed;
    // The operator is down, so nothing reaches status; a connection with its owner tags
    // stands for one that a crashed operator created before it could write the ARN.
    await op.stop('SIGKILL');
    await api().create(ns, 'ghost', {});
    await waitForConnection(ns, 'ghost', 'exists', () => true);
    fake.plantConnection({
      name: 'ghost',
      tags: { 'gitlab-aws.io/owner': `${ns}/ghost`, 'gitlab-aws.io/cluster': 'default' },
    });
    // A finalizer as the operator would have added it before its first AWS call.
    await api().patch(ns, 'ghost', { metadata: { finalizers: [FINALIZER] } });
    await api().delete(ns, 'ghost');
    bed.restart();
    await waitForGone(ns, 'ghost');
    expect(fake.connections()).toEqual([]);
  });
});
