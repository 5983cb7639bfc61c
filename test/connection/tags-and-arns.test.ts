// Tags converge (spec.tags plus the owner tags) on the connection and the host;
// both ARN prefixes work wherever the operator reads or compares an ARN.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../testbed/processes.ts';
import { kubectl } from '../harness/kube.ts';
import {
  api,
  CLUSTER_TAG,
  cond,
  eventsOf,
  OWNER_TAG,
  readyReason,
  requestsOf,
  startTestbed,
  type Testbed,
  waitForConnection,
  waitForEvent,
  waitForGone,
} from './helpers.ts';

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

describe('GitLabConnection tags', () => {
  it('converge to the spec on the connection and the host, and drift in AWS is undone at resync', async () => {
    bed = await startTestbed('glconn-tags', { args: ['--resync-interval', '1s'] });
    const { ns, fake, op } = bed;
    await api().create(ns, 'tagged', {
      gitlab: { url: 'https://gitlab.example.com' },
      tags: { team: 'pipelines', env: 'dev' },
    });
    const pending = await waitForConnection(
      ns,
      'tagged',
      'made',
      (o) => readyReason(o) === 'PendingHostSetup',
      {
        op,
      },
    );
    const { connectionArn, hostArn } = pending.status!;
    const owner = { [OWNER_TAG]: `${ns}/tagged`, [CLUSTER_TAG]: 'default' };
    expect(fake.tagsOf(connectionArn!)).toEqual({ team: 'pipelines', env: 'dev', ...owner });
    expect(fake.tagsOf(hostArn!)).toEqual({ team: 'pipelines', env: 'dev', ...owner });

    // A spec change: one value changes, one tag goes, one comes.
    await api().patch(ns, 'tagged', { spec: { tags: { team: 'platform', env: null, cost: 'ci' } } });
    const want = { team: 'platform', cost: 'ci', ...owner };
    await waitFor('tags converged', async () =>
      JSON.stringify(sorted(fake.tagsOf(connectionArn!))) === JSON.stringify(sorted(want)) &&
      JSON.stringify(sorted(fake.tagsOf(hostArn!))) === JSON.stringify(sorted(want))
        ? true
        : undefined,
    );
    const updated = await waitForEvent(ns, 'tagged', 'Updated');
    expect(updated.message).toContain('set tags cost, team on connection tagged');
    expect(updated.message).toContain('removed tags env on connection tagged');

    // Once Ready, drift made in AWS (a tag added, a value changed) is undone at the
    // next resync; tags under aws: belong to AWS and stay.
    fake.setHostStatus(hostArn!, 'AVAILABLE');
    fake.completeHandshake(connectionArn!);
    await waitForConnection(ns, 'tagged', 'Ready', (o) => cond(o, 'Ready')?.status === 'True');
    fake
      .host(hostArn!)!
      .tags.push({ Key: 'added-by-hand', Value: 'x' }, { Key: 'aws:cloudformation:stack-name', Value: 's' });
    const c = fake.connection(connectionArn!)!;
    c.tags = c.tags.map((t) => (t.Key === 'team' ? { Key: 'team', Value: 'hijacked' } : t));
    await waitFor('drift undone', async () =>
      fake.tagsOf(connectionArn!).team === 'platform' && !('added-by-hand' in fake.tagsOf(hostArn!))
        ? true
        : undefined,
    );
    expect(fake.tagsOf(hostArn!)['aws:cloudformation:stack-name']).toBe('s');
    expect(requestsOf(fake, 'CreateConnection')).toHaveLength(1);
    expect(requestsOf(fake, 'CreateHost')).toHaveLength(1);
  });
});

describe('GitLabConnection ARN prefixes', () => {
  it('works end to end with codeconnections ARNs, sending host ARNs as the older API expects', async () => {
    // New ARNs with the post-2024 prefix; HostArn members of this API accept only the old one.
    bed = await startTestbed('glconn-arn', {
      fake: { arnPrefix: 'codeconnections', acceptCodeconnectionsHostArns: false },
    });
    const { ns, fake, op } = bed;
    await api().create(ns, 'renamed', { gitlab: { url: 'https://gitlab.example.com' } });
    const pending = await waitForConnection(
      ns,
      'renamed',
      'made',
      (o) => readyReason(o) === 'PendingHostSetup',
      {
        op,
      },
    );
    expect(pending.status?.hostArn).toMatch(/^arn:aws:codeconnections:us-east-1:123456789012:host\//);
    expect(pending.status?.connectionArn).toMatch(
      /^arn:aws:codeconnections:us-east-1:123456789012:connection\//,
    );
    expect(requestsOf(fake, 'CreateConnection')[0]?.body.HostArn).toBe(
      pending.status!.hostArn!.replace(':codeconnections:', ':codestar-connections:'),
    );
    fake.setHostStatus(pending.status!.hostArn!, 'AVAILABLE');
    await waitForConnection(
      ns,
      'renamed',
      'host set up',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
    );
    fake.completeHandshake(pending.status!.connectionArn!);
    await waitForConnection(ns, 'renamed', 'Ready', (o) => cond(o, 'Ready')?.status === 'True');

    await api().delete(ns, 'renamed');
    await waitForGone(ns, 'renamed');
    expect(fake.connections()).toEqual([]);
    expect(fake.hosts()).toEqual([]);
  });

  it('compares ARNs across prefixes: what status records under one is found under the other', async () => {
    bed = await startTestbed('glconn-arn2');
    const { ns, fake, op } = bed;
    // AWS issued codeconnections ARNs; status recorded them under the old prefix (as an
    // operator that normalised them would have). Same resources: nothing is made again.
    await op.stop('SIGKILL');
    const owner = { [OWNER_TAG]: `${ns}/mixed`, [CLUSTER_TAG]: 'default' };
    const hostArn = fake.plantHost({
      name: 'mixed',
      tags: owner,
      prefix: 'codeconnections',
      status: 'AVAILABLE',
    });
    const connectionArn = fake.plantConnection({
      name: 'mixed',
      hostArn,
      tags: owner,
      prefix: 'codeconnections',
    });
    const old = (arn: string) => arn.replace(':codeconnections:', ':codestar-connections:');
    await api().create(ns, 'mixed', { gitlab: { url: 'https://gitlab.example.com' } });
    const patched = await kubectl([
      'patch',
      'glconn',
      'mixed',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { hostArn: old(hostArn), connectionArn: old(connectionArn) } }),
    ]);
    expect(patched.stderr).toBe('');
    bed.restart();
    const pending = await waitForConnection(
      ns,
      'mixed',
      'pending',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
      { op: bed.op },
    );
    // Status now carries the ARNs as AWS reports them.
    expect(pending.status).toMatchObject({ hostArn, connectionArn });
    for (const operation of ['CreateHost', 'CreateConnection', 'ListConnections'])
      expect(requestsOf(fake, operation)).toEqual([]);
    expect(requestsOf(fake, 'GetConnection')[0]?.body.ConnectionArn).toBe(old(connectionArn));
    expect((await eventsOf(ns, 'mixed')).map((e) => e.reason)).not.toContain('HostDeleted');
  });
});

function sorted(tags: Record<string, string>): [string, string][] {
  return Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : 1));
}
