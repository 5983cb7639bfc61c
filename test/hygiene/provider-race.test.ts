// Federations of one GitLab instance share one IAM OIDC provider. When several
// are reconciled at once and the provider does not exist yet, each sees it
// absent and calls CreateOpenIDConnectProvider; all but one get
// EntityAlreadyExists (409). They must adopt the provider the first one made,
// not report AWSUnavailable and wait for a retry (found by the hygiene suite).
import { describe, expect, inject, it } from 'vitest';
import { runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import {
  apply,
  awsEnv,
  CLI,
  createTokenSecret,
  federation,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace } from '../harness/kube.ts';

describe('shared OIDC provider, created concurrently', () => {
  it('never reports AWSUnavailable because another federation created the provider first', async () => {
    const gitlab = await startGitLab();
    const ns = await createNamespace('provider-race');
    await createTokenSecret(ns, gitlab.token);
    const op = startOperatorProcess(
      CLI,
      [
        ...runArgs(ns, inject('kubeconfig')),
        '--propagation-delay',
        '0s',
        '--cluster-id',
        'race',
        '--log-level',
        'debug',
        '--max-concurrent-reconciles',
        '4',
      ],
      { ...awsEnv(), NODE_EXTRA_CA_CERTS: gitlab.caFile },
    );
    try {
      const names = ['r0', 'r1', 'r2', 'r3'];
      await Promise.all(
        names.map((n) =>
          apply(
            ns,
            federation(n, {
              gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'gitlab-token', key: 'token' } },
              access: [{ project: 'payments/api', refs: ['main'] }],
            }),
          ),
        ),
      );
      await Promise.all(names.map((n) => waitForCondition(ns, n, 'Ready', 'True')));
      const spurious = op.lines
        .filter((l) => l.reason === 'AWSUnavailable')
        .map((l) => `${l.key}: ${l.message}`);
      expect(spurious).toEqual([]);
    } finally {
      await op.stop('SIGKILL');
      await gitlab.close();
    }
  }, 60_000);
});
