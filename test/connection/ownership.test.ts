// Ownership: no second connection (or host) after a crash between create and
// status write; a same-named connection of someone else is never touched; an
// unmarked one is taken over only with the adopt annotation.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import {
  api,
  CLUSTER_TAG,
  cond,
  OWNER_TAG,
  readyReason,
  requestsOf,
  startTestbed,
  type Testbed,
  waitForConnection,
  waitForEvent,
} from './helpers.ts';
import { type HoldingProxy, startHoldingProxy } from './holding-proxy.ts';

let bed: Testbed | undefined;
let proxy: HoldingProxy | undefined;
afterEach(async () => {
  await bed?.stop();
  await proxy?.close();
  bed = undefined;
  proxy = undefined;
});

describe('GitLabConnection ownership', () => {
  it.each([
    ['CreateConnection', {}, 'PendingGitLabAuthorization'],
    ['CreateHost', { gitlab: { url: 'https://gitlab.example.com' } }, 'PendingHostSetup'],
  ] as const)(
    'a crash right after %s (before the status write) makes no duplicate',
    async (operation, spec, settled) => {
      // The operator talks to AWS through a proxy that lets the create happen but never
      // answers it: the operator is killed while the create has taken effect in AWS.
      bed = await startTestbed('glconn-crash', {
        endpoint: async (fake) => {
          proxy = await startHoldingProxy(fake.endpoint, operation);
          return proxy.url;
        },
      });
      const { ns, fake, op } = bed;
      await api().create(ns, 'crashy', spec);
      await waitFor(
        'the create to take effect in AWS',
        async () => (proxy!.held() === 1 ? true : undefined),
        {
          timeoutMs: 15_000,
        },
      );
      const count = () => (operation === 'CreateConnection' ? fake.connections() : fake.hosts()).length;
      expect(count()).toBe(1);
      await op.stop('SIGKILL');
      const afterCrash = await api().get(ns, 'crashy');
      expect(afterCrash.status?.connectionArn).toBeUndefined();
      if (operation === 'CreateHost') expect(afterCrash.status?.hostArn).toBeUndefined();

      // A new operator, straight to AWS, finds what the first one made (by name and owner tag).
      const restarted = bed.restart(fake.endpoint);
      const recovered = await waitForConnection(ns, 'crashy', settled, (o) => readyReason(o) === settled, {
        op: restarted,
      });
      expect(requestsOf(fake, operation)).toHaveLength(1);
      expect(count()).toBe(1);
      expect(fake.connections()).toHaveLength(1);
      expect(recovered.status?.connectionArn).toBe(fake.connections()[0]!.arn);
      if (operation === 'CreateHost') expect(recovered.status?.hostArn).toBe(fake.hosts()[0]!.arn);
    },
  );

  it('never touches a same-named connection of another owner, and says so', async () => {
    bed = await startTestbed('glconn-foreign');
    const { ns, fake, op } = bed;
    const foreign = fake.plantConnection({
      name: 'shared-name',
      tags: { [OWNER_TAG]: 'other-team/their-conn', [CLUSTER_TAG]: 'default', team: 'theirs' },
    });
    await api().create(ns, 'mine', { connectionName: 'shared-name' }, { 'gitlab-aws.io/adopt': 'true' });

    const stalled = await waitForConnection(
      ns,
      'mine',
      'Stalled',
      (o) => cond(o, 'Stalled')?.status === 'True',
      {
        op,
      },
    );
    expect(cond(stalled, 'Stalled')?.reason).toBe('ConnectionNameInUse');
    expect(cond(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'ConnectionNameInUse' });
    const message = cond(stalled, 'Stalled')!.message;
    expect(message).toContain(`A connection named shared-name already exists (${foreign})`);
    expect(message).toContain('"other-team/their-conn"');
    expect(message).toContain('leaves it untouched');
    expect(message).toContain('another spec.connectionName');
    expect(message).not.toContain('adopt');
    expect(stalled.status?.connectionArn).toBeUndefined();
    // Nothing was created or changed in AWS.
    expect(fake.connections()).toHaveLength(1);
    expect(fake.tagsOf(foreign)).toEqual({
      [OWNER_TAG]: 'other-team/their-conn',
      [CLUSTER_TAG]: 'default',
      team: 'theirs',
    });
    for (const op of ['CreateConnection', 'TagResource', 'UntagResource', 'DeleteConnection'])
      expect(requestsOf(fake, op)).toEqual([]);
    expect((await waitForEvent(ns, 'mine', 'ConnectionNameInUse')).type).toBe('Warning');

    // Deleting the resource leaves the other connection alone too.
    await api().delete(ns, 'mine');
    await waitFor('deleted', async () => ((await api().exists(ns, 'mine')) ? undefined : true), {
      timeoutMs: 15_000,
    });
    expect(fake.connections().map((c) => c.arn)).toEqual([foreign]);
  });

  it('takes over an unmarked connection only with the adopt annotation', async () => {
    bed = await startTestbed('glconn-adopt');
    const { ns, fake, op } = bed;
    const unmarked = fake.plantConnection({ name: 'legacy', providerType: 'GitLab' });
    await api().create(ns, 'legacy', { tags: { team: 'pipelines' } });

    const stalled = await waitForConnection(
      ns,
      'legacy',
      'Stalled',
      (o) => cond(o, 'Stalled')?.status === 'True',
      {
        op,
      },
    );
    expect(cond(stalled, 'Stalled')?.reason).toBe('ConnectionNameInUse');
    expect(cond(stalled, 'Stalled')?.message).toContain(`it has no ${OWNER_TAG} tag`);
    expect(cond(stalled, 'Stalled')?.message).toContain('gitlab-aws.io/adopt: "true"');
    expect(fake.tagsOf(unmarked)).toEqual({});

    await api().patch(ns, 'legacy', { metadata: { annotations: { 'gitlab-aws.io/adopt': 'true' } } });
    const adopted = await waitForConnection(
      ns,
      'legacy',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
    );
    expect(adopted.status?.connectionArn).toBe(unmarked);
    expect(fake.connections()).toHaveLength(1);
    expect(requestsOf(fake, 'CreateConnection')).toEqual([]);
    expect(fake.tagsOf(unmarked)).toEqual({
      team: 'pipelines',
      [OWNER_TAG]: `${ns}/legacy`,
      [CLUSTER_TAG]: 'default',
    });
    expect((await waitForEvent(ns, 'legacy', 'Adopted')).message).toContain(
      `adopted connection legacy (${unmarked})`,
    );
  });
});
