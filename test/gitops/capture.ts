// Real status objects from the real operator (its own process, against the
// testbed's API server, moto and the GitLab and CodeConnections fakes): a Ready
// federation, a Stalled federation, and PENDING, AVAILABLE and ERROR connections.
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { inject } from 'vitest';
import type { GitLabAwsFederation, GitLabConnection } from '../../src/api/v1alpha1/index.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { cond, connectionApi, waitForConnection } from '../connection/helpers.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  type GitLabInstance,
  iamClient,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

export interface Captured {
  ns: string;
  readyFederation: GitLabAwsFederation;
  stalledFederation: GitLabAwsFederation;
  pendingConnection: GitLabConnection;
  availableConnection: GitLabConnection;
  errorConnection: GitLabConnection;
}

export interface CaptureBed {
  captured: Captured;
  stop: () => Promise<void>;
}

/** The object as `kubectl get -o json` (and Argo CD's cache) shows it. */
async function getJson<T>(ns: string, kind: string, name: string): Promise<T> {
  const r = await kubectl(['get', kind, name, '-n', ns, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

export async function captureStatusObjects(): Promise<CaptureBed> {
  let gitlab: GitLabInstance | undefined;
  let fake: CodeConnectionsFake | undefined;
  let op: OperatorProcess | undefined;
  const stop = async () => {
    await op?.stop('SIGKILL');
    await fake?.close();
    await gitlab?.close();
  };
  try {
    gitlab = await startGitLab();
    fake = await startCodeConnectionsFake();
    const ns = await createNamespace('gitops');
    await createTokenSecret(ns, gitlab.token);
    op = startOperatorProcess(
      CLI,
      [
        ...runArgs(ns, inject('kubeconfig')),
        '--propagation-delay',
        '1s',
        '--connection-poll-interval',
        '300ms',
        '--connection-poll-max-interval',
        '1500ms',
        '--cluster-id',
        'itest',
      ],
      {
        AWS_ENDPOINT_URL_IAM: inject('motoIamUrl'),
        AWS_ENDPOINT_URL_STS: inject('motoIamUrl'),
        AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        NODE_EXTRA_CA_CERTS: gitlab.caFile,
      },
    );
    const spec = {
      gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
      access: [{ project: 'payments/api', refs: ['main'] }],
    };
    // A role of the same name that the operator did not make: RoleOwnedElsewhere, Stalled.
    await iamClient().send(
      new CreateRoleCommand({
        RoleName: `${ns}-foreign`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    await apply(ns, federation('ready', spec));
    await apply(ns, federation('foreign', spec));

    const connections = connectionApi();
    for (const name of ['pending', 'available', 'broken'])
      await connections.create(ns, name, { gitlab: { url: 'https://gitlab.com' } });
    const pendingOf = (name: string) =>
      waitForConnection(
        ns,
        name,
        'PENDING',
        (o) =>
          o.status?.connectionStatus === 'PENDING' &&
          cond(o, 'Ready')?.reason === 'PendingGitLabAuthorization',
        { op },
      );
    const [, available, broken] = await Promise.all(['pending', 'available', 'broken'].map(pendingOf));
    fake.completeHandshake(available!.status!.connectionArn!);
    fake.breakConnection(broken!.status!.connectionArn!);

    await waitForCondition(ns, 'ready', 'Ready', 'True');
    await waitForCondition(ns, 'foreign', 'Stalled', 'True', { reason: 'RoleOwnedElsewhere' });
    await waitForConnection(ns, 'available', 'AVAILABLE', (o) => cond(o, 'Ready')?.status === 'True', { op });
    await waitForConnection(ns, 'broken', 'ERROR', (o) => cond(o, 'Stalled')?.status === 'True', { op });

    const captured: Captured = {
      ns,
      readyFederation: await getJson(ns, 'gitlabawsfederation', 'ready'),
      stalledFederation: await getJson(ns, 'gitlabawsfederation', 'foreign'),
      pendingConnection: await getJson(ns, 'gitlabconnection', 'pending'),
      availableConnection: await getJson(ns, 'gitlabconnection', 'available'),
      errorConnection: await getJson(ns, 'gitlabconnection', 'broken'),
    };
    return { captured, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
