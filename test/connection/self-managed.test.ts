// Self-managed GitLab: a host (GitLabSelfManaged, the URL as endpoint, optional VPC)
// first, waited for through its statuses, then a connection on the host's ARN.
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  CLUSTER_TAG,
  CONNECTION_ARN,
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

const URL = 'https://gitlab.example.com';
const HOST_ARN = /^arn:aws:codestar-connections:us-east-1:123456789012:host\/gitlab-example-[0-9a-f]{8}$/;
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const VPC = {
  vpcId: 'vpc-0123abcd',
  subnetIds: ['subnet-0123abcd', 'subnet-4567efab'],
  securityGroupIds: ['sg-0123abcd'],
  tlsCertificate: CERT,
};

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

describe('GitLabConnection to a self-managed GitLab', () => {
  it('creates a host, then a connection on it; Ready after host set-up and handshake', async () => {
    bed = await startTestbed('glconn-sm');
    const { ns, fake, op } = bed;
    await api().create(ns, 'gitlab-sm', { gitlab: { url: URL }, host: { name: 'gitlab-example' } });

    // A new host is PENDING until a person sets it up; the connection is made meanwhile,
    // so that both can be done in one visit to the console.
    const hostPending = await waitForConnection(
      ns,
      'gitlab-sm',
      'PendingHostSetup',
      (o) => readyReason(o) === 'PendingHostSetup',
      { op },
    );
    const [host] = fake.hosts();
    const [connection] = fake.connections();
    expect(fake.hosts()).toHaveLength(1);
    expect(fake.connections()).toHaveLength(1);
    expect(host).toMatchObject({
      name: 'gitlab-example',
      providerType: 'GitLabSelfManaged',
      providerEndpoint: URL,
      status: 'PENDING',
    });
    expect(host!.arn).toMatch(HOST_ARN);
    expect(host!.vpcConfiguration).toBeUndefined();
    expect(fake.tagsOf(host!.arn)).toEqual({ [OWNER_TAG]: `${ns}/gitlab-sm`, [CLUSTER_TAG]: 'default' });
    expect(connection).toMatchObject({
      name: 'gitlab-sm',
      hostArn: host!.arn,
      providerType: 'GitLabSelfManaged',
    });
    expect(connection!.arn).toMatch(CONNECTION_ARN);
    expect(requestsOf(fake, 'CreateConnection')[0]?.body).toEqual({
      ConnectionName: 'gitlab-sm',
      HostArn: host!.arn,
      Tags: [
        { Key: OWNER_TAG, Value: `${ns}/gitlab-sm` },
        { Key: CLUSTER_TAG, Value: 'default' },
      ],
    });
    expect(hostPending.status).toMatchObject({
      hostArn: host!.arn,
      hostStatus: 'PENDING',
      connectionArn: connection!.arn,
      connectionStatus: 'PENDING',
    });
    expect(cond(hostPending, 'HostReady')).toMatchObject({ status: 'False', reason: 'PendingHostSetup' });
    expect(cond(hostPending, 'HostReady')?.message).toContain('Set up host');
    expect(cond(hostPending, 'Authorized')).toMatchObject({
      status: 'False',
      reason: 'PendingGitLabAuthorization',
    });
    expect(cond(hostPending, 'Reconciling')).toMatchObject({ status: 'True', reason: 'PendingHostSetup' });

    // The person sets up the host: now the handshake is what is left.
    fake.setHostStatus(host!.arn, 'AVAILABLE');
    const authPending = await waitForConnection(
      ns,
      'gitlab-sm',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
    );
    expect(authPending.status?.hostStatus).toBe('AVAILABLE');
    expect(cond(authPending, 'HostReady')).toMatchObject({ status: 'True', reason: 'HostAvailable' });

    fake.completeHandshake(connection!.arn);
    const ready = await waitForConnection(
      ns,
      'gitlab-sm',
      'Ready',
      (o) => cond(o, 'Ready')?.status === 'True',
    );
    expect(ready.status).toMatchObject({ connectionStatus: 'AVAILABLE', hostStatus: 'AVAILABLE' });
    expect(cond(ready, 'Authorized')?.status).toBe('True');
    expect(requestsOf(fake, 'CreateHost')).toHaveLength(1);
    expect(requestsOf(fake, 'CreateConnection')).toHaveLength(1);
    await waitForEvent(ns, 'gitlab-sm', 'Available');
    const reasons = (await eventsOf(ns, 'gitlab-sm')).map((e) => e.reason).sort();
    expect(reasons).toEqual([
      'Available',
      'ConnectionCreated',
      'HostCreated',
      'PendingGitLabAuthorization',
      'PendingHostSetup',
    ]);
  });

  it('with a VPC configuration: waits while AWS provisions the VPC side, then goes on', async () => {
    bed = await startTestbed('glconn-vpc');
    const { ns, fake, op } = bed;
    // The default host name is the connection name, which defaults to metadata.name.
    await api().create(ns, 'gitlab-vpc', { gitlab: { url: URL }, host: { vpcConfiguration: VPC } });

    const provisioning = await waitForConnection(
      ns,
      'gitlab-vpc',
      'HostProvisioning',
      (o) => readyReason(o) === 'HostProvisioning',
      { op },
    );
    const [host] = fake.hosts();
    expect(host).toMatchObject({ name: 'gitlab-vpc', status: 'VPC_CONFIG_INITIALIZING' });
    expect(requestsOf(fake, 'CreateHost')[0]?.body).toMatchObject({
      Name: 'gitlab-vpc',
      ProviderType: 'GitLabSelfManaged',
      ProviderEndpoint: URL,
      VpcConfiguration: {
        VpcId: VPC.vpcId,
        SubnetIds: VPC.subnetIds,
        SecurityGroupIds: VPC.securityGroupIds,
        TlsCertificate: CERT,
      },
    });
    expect(provisioning.status).toMatchObject({ hostArn: host!.arn, hostStatus: 'VPC_CONFIG_INITIALIZING' });
    expect(provisioning.status?.connectionArn).toBeUndefined();
    expect(cond(provisioning, 'HostReady')).toMatchObject({ status: 'False', reason: 'HostProvisioning' });
    expect(cond(provisioning, 'Reconciling')?.status).toBe('True');
    expect(cond(provisioning, 'Stalled')).toBeUndefined();
    // No connection on a host that is still being provisioned.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(fake.connections()).toEqual([]);

    fake.setHostStatus(host!.arn, 'PENDING');
    await waitForConnection(
      ns,
      'gitlab-vpc',
      'PendingHostSetup',
      (o) => readyReason(o) === 'PendingHostSetup',
    );
    expect(fake.connections()).toHaveLength(1);
    fake.setHostStatus(host!.arn, 'AVAILABLE');
    await waitForConnection(
      ns,
      'gitlab-vpc',
      'PendingGitLabAuthorization',
      (o) => readyReason(o) === 'PendingGitLabAuthorization',
    );
    fake.completeHandshake(fake.connections()[0]!.arn);
    const ready = await waitForConnection(
      ns,
      'gitlab-vpc',
      'Ready',
      (o) => cond(o, 'Ready')?.status === 'True',
    );
    expect(ready.status).toMatchObject({ hostStatus: 'AVAILABLE', connectionStatus: 'AVAILABLE' });
    expect(fake.hosts()).toHaveLength(1);
  });

  it('stalls with what to do when the VPC set-up fails', async () => {
    bed = await startTestbed('glconn-vpcfail');
    const { ns, fake, op } = bed;
    await api().create(ns, 'gitlab-vpc', { gitlab: { url: URL }, host: { vpcConfiguration: VPC } });
    await waitForConnection(
      ns,
      'gitlab-vpc',
      'HostProvisioning',
      (o) => readyReason(o) === 'HostProvisioning',
      {
        op,
      },
    );
    const [host] = fake.hosts();
    fake.setHostStatus(host!.arn, 'VPC_CONFIG_FAILED_INITIALIZATION', 'subnet-4567efab was not found');

    const stalled = await waitForConnection(
      ns,
      'gitlab-vpc',
      'Stalled',
      (o) => cond(o, 'Stalled')?.status === 'True',
    );
    expect(cond(stalled, 'Stalled')?.reason).toBe('HostFailed');
    expect(cond(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'HostFailed' });
    expect(cond(stalled, 'Reconciling')).toBeUndefined();
    expect(cond(stalled, 'HostReady')).toMatchObject({ status: 'False', reason: 'HostFailed' });
    const message = cond(stalled, 'Stalled')!.message;
    expect(message).toContain('VPC_CONFIG_FAILED_INITIALIZATION (subnet-4567efab was not found)');
    expect(message).toContain('Fix the host in the AWS console');
    expect(message).toContain('delete and recreate this GitLabConnection');
    expect(stalled.status?.hostStatus).toBe('VPC_CONFIG_FAILED_INITIALIZATION');
    expect(stalled.status?.observedGeneration).toBe(stalled.metadata?.generation);
    expect(fake.connections()).toEqual([]);
    // Stalled means no polling until something changes.
    const looks = requestsOf(fake, 'ListHosts').length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(requestsOf(fake, 'ListHosts').length).toBe(looks);
    expect((await waitForEvent(ns, 'gitlab-vpc', 'HostFailed')).type).toBe('Warning');
  });

  it('moves the host to a new URL when spec.gitlab.url changes', async () => {
    bed = await startTestbed('glconn-url');
    const { ns, fake, op } = bed;
    await api().create(ns, 'gitlab-sm', { gitlab: { url: URL } });
    await waitForConnection(
      ns,
      'gitlab-sm',
      'PendingHostSetup',
      (o) => readyReason(o) === 'PendingHostSetup',
      {
        op,
      },
    );
    await api().patch(ns, 'gitlab-sm', { spec: { gitlab: { url: 'https://code.example.org/gitlab' } } });
    await waitFor(() => fake.hosts()[0]?.providerEndpoint === 'https://code.example.org/gitlab');
    expect(requestsOf(fake, 'UpdateHost').map((r) => r.body)).toEqual([
      { HostArn: fake.hosts()[0]!.arn, ProviderEndpoint: 'https://code.example.org/gitlab' },
    ]);
    expect(fake.hosts()).toHaveLength(1);
    expect((await waitForEvent(ns, 'gitlab-sm', 'Updated')).message).toContain(
      `endpoint ${URL} -> https://code.example.org/gitlab`,
    );
  });
});

async function waitFor(probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
