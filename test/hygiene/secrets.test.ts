// Secret hygiene: the operator, as its own process at --log-level trace and
// built as the image runs it (the bundle, dist/cli.cjs), takes
// federations and connections through success, GitLab refusals (401, 403), AWS
// refusals (a role owned elsewhere, a malformed policy) and deletion, holding
// recognisable secrets: GitLab tokens `glpat-HYGIENE-…` and AWS credentials
// `AKIAHYGIENE…` / `HYGIENE-SECRET-…`. None of them may appear in its stdout
// (every level), its stderr, the namespace's Events, or any object's status
// (which holds every condition message).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getCondition } from '../../src/runtime/reconcile/conditions.ts';
import { buildBundle, PROBE_RUNNING, UNDICI_LOADED, undiciProbe } from '../../testbed/bundle.ts';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import { type OperatorProcess, runArgs, startOperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { connectionApi, readyReason, waitForConnection, waitForGone } from '../connection/helpers.ts';
import {
  apply,
  createTokenSecret,
  federation,
  type GitLabInstance,
  iamClient,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const rand = () => randomBytes(6).toString('hex').toUpperCase();
const GOOD_TOKEN = `glpat-HYGIENE-${rand()}`;
const REVOKED_TOKEN = `glpat-HYGIENE-${rand()}`;
const DEVELOPER_TOKEN = `glpat-HYGIENE-${rand()}`;
const ACCESS_KEY_ID = `AKIAHYGIENE${rand()}`.slice(0, 20);
const SECRET_ACCESS_KEY = `HYGIENE-SECRET-${rand()}${rand()}`;
const SECRETS: Record<string, string> = {
  'GitLab token': GOOD_TOKEN,
  'revoked GitLab token': REVOKED_TOKEN,
  'Developer-role GitLab token': DEVELOPER_TOKEN,
  'AWS access key id': ACCESS_KEY_ID,
  'AWS secret access key': SECRET_ACCESS_KEY,
};

let gitlab: GitLabInstance;
let cc: CodeConnectionsFake;
let ns: string;
let op: OperatorProcess;

beforeAll(async () => {
  const app = await buildBundle();
  const probe = undiciProbe(app);
  gitlab = await startGitLab();
  gitlab.fake.state.addToken('deployer', { value: GOOD_TOKEN, scopes: ['api'] });
  gitlab.fake.state.addToken('deployer', { value: REVOKED_TOKEN, scopes: ['api'], revoked: true });
  gitlab.fake.state.addMember({ project: 'payments/api' }, 'dev', 'developer');
  gitlab.fake.state.addToken('dev', { value: DEVELOPER_TOKEN, scopes: ['api'] });
  cc = await startCodeConnectionsFake();
  ns = await createNamespace('hygiene');
  await createTokenSecret(ns, GOOD_TOKEN, 'good');
  await createTokenSecret(ns, REVOKED_TOKEN, 'revoked');
  await createTokenSecret(ns, DEVELOPER_TOKEN, 'developer');
  await apply(ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'gitlab-ca' },
    stringData: { 'ca.crt': gitlab.fake.tls!.caPem },
  });
  op = startOperatorProcess(
    join(app, 'dist', 'cli.cjs'),
    [
      ...runArgs(ns, inject('kubeconfig')),
      '--propagation-delay',
      '0s',
      '--cluster-id',
      'hygiene',
      '--log-level',
      'trace',
      '--connection-poll-interval',
      '300ms',
      '--connection-poll-max-interval',
      '1500ms',
    ],
    {
      AWS_ENDPOINT_URL_IAM: inject('motoIamUrl'),
      AWS_ENDPOINT_URL_STS: inject('motoIamUrl'),
      AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: cc.endpoint,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      NODE_EXTRA_CA_CERTS: gitlab.caFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${probe}`,
    },
  );
}, 180_000);

afterAll(async () => {
  await op?.stop('SIGKILL');
  await cc?.close();
  await gitlab?.close();
});

const spec = (secret: string, overrides: Record<string, unknown> = {}) => ({
  gitlab: {
    url: gitlab.fake.url,
    tokenSecretRef: { name: secret, key: 'token' },
    caSecretRef: { name: 'gitlab-ca' },
  },
  access: [{ project: 'payments/api', refs: ['main'] }],
  ciVariables: { target: { project: 'payments/api' }, environmentScope: secret },
  ...overrides,
});

/** Every place a secret could leak to, as one string per place. */
async function surfaces(): Promise<Record<string, string>> {
  const events = await kubectl(['get', 'events', '-n', ns, '-o', 'json']);
  expect(events.code).toBe(0);
  const objects = await kubectl(['get', 'glaf,glconn', '-n', ns, '-o', 'json']);
  expect(objects.code).toBe(0);
  const items = JSON.parse(objects.stdout).items as { status?: { conditions?: { message?: string }[] } }[];
  return {
    'operator stdout': op.lines.map((l) => JSON.stringify(l)).join('\n'),
    'operator stderr': op.stderr(),
    'Kubernetes Events': events.stdout,
    'status of glaf/glconn': JSON.stringify(items.map((i) => i.status)),
    'condition messages': items
      .flatMap((i) => i.status?.conditions ?? [])
      .map((c) => c.message ?? '')
      .join('\n'),
  };
}

describe('secret hygiene', () => {
  it('never shows a token or an AWS key in logs, stderr, Events, status or condition messages', async () => {
    const conns = connectionApi();
    // A role that exists and is not the operator's.
    await iamClient().send(
      new CreateRoleCommand({
        RoleName: `${ns}-taken`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    await apply(ns, federation('ok', spec('good')));
    await apply(ns, federation('revoked', spec('revoked')));
    await apply(ns, federation('developer', spec('developer')));
    await apply(ns, federation('taken', spec('good', { ciVariables: undefined })));
    await apply(
      ns,
      federation(
        'bad-policy',
        spec('good', {
          ciVariables: undefined,
          role: { inlinePolicies: { broken: { Version: '2012-10-17', Statement: 'nope' } } },
        }),
      ),
    );
    await conns.create(ns, 'conn', { gitlab: { url: 'https://gitlab.com' } } as never);

    await waitForCondition(ns, 'ok', 'Ready', 'True');
    const revoked = await waitForCondition(ns, 'revoked', 'Stalled', 'True', {
      reason: 'GitLabUnauthorized',
    });
    expect(getCondition(revoked.status?.conditions as never, 'Ready')?.message).toContain('401');
    await waitForCondition(ns, 'developer', 'Stalled', 'True', { reason: 'GitLabForbidden' });
    await waitForCondition(ns, 'taken', 'Stalled', 'True', { reason: 'RoleOwnedElsewhere' });
    await waitForCondition(ns, 'bad-policy', 'Stalled', 'True', { reason: 'MalformedPolicy' });
    await waitForConnection(ns, 'conn', 'PENDING', (c) => readyReason(c) === 'PendingGitLabAuthorization', {
      op,
    });
    // The operator did use the secrets: GitLab saw the users, AWS saw calls.
    expect(gitlab.fake.state.variables({ project: 'payments/api' }).length).toBeGreaterThan(0);
    expect(cc.requests.length).toBeGreaterThan(0);
    const users = new Set(gitlab.fake.requests.map((r) => r.user));
    expect([users.has('deployer'), users.has('dev')]).toEqual([true, true]);
    // Nor did the operator hand a token to GitLab as data: no variable value, query or body holds one.
    const sentToGitLab = JSON.stringify([
      gitlab.fake.state.variables({ project: 'payments/api' }),
      gitlab.fake.requests.map((r) => [r.path, r.query, r.body]),
    ]);
    for (const value of Object.values(SECRETS)) expect(sentToGitLab).not.toContain(value);

    // Deletion: the operator removes what it wrote, with the token.
    await kubectl(['delete', 'glaf', 'ok', '-n', ns, '--wait=false']);
    await conns.delete(ns, 'conn');
    await waitFor(
      `${ns}/ok gone`,
      async () =>
        (await kubectl(['get', 'glaf', 'ok', '-n', ns, '--ignore-not-found', '-o', 'name'])).stdout.trim() ===
          '' || undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitForGone(ns, 'conn');
    // Events are sent in the background; give them a moment to land.
    await new Promise((r) => setTimeout(r, 1500));

    // The operator logged at trace level, and logged about these resources.
    expect(op.lines.some((l) => l.level === 'trace' || l.level === 'debug')).toBe(true);
    expect(op.lines.some((l) => l.key === `${ns}/revoked`)).toBe(true);

    const places = await surfaces();
    // The surfaces are not empty: the checks below look at real text.
    expect(places['Kubernetes Events']).toContain('RoleOwnedElsewhere');
    expect(places['condition messages']).toContain('GitLab rejected the token (401)');
    expect(places['operator stdout']).toContain('GitLabForbidden');
    const found: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [what, value] of Object.entries(SECRETS)) {
        if (text.includes(value)) found.push(`${what} in ${where}`);
      }
      // Any glpat-HYGIENE token, even a fragment long enough to identify one.
      if (/HYGIENE-[0-9A-F]{6}/.test(text.replace(/AKIAHYGIENE/g, '')))
        found.push(`a HYGIENE fragment in ${where}`);
    }
    expect(found).toEqual([]);
  });

  // After the scenario above: GitLab reads, writes (POST, and DELETE with a
  // body) and refusals, IAM, CodeConnections, Events, deletion.
  it('did all that without loading Node.js’s own undici', () => {
    expect(op.stderr()).toContain(PROBE_RUNNING);
    expect(op.stderr()).not.toContain(UNDICI_LOADED);
  });
});
