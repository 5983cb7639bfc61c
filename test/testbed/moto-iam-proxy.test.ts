// The moto IAM proxy, through the real AWS SDK: it supplies the two OIDC
// client ID actions and the user permissions boundaries moto lacks, forwards
// everything else, records actions, injects faults and holds calls.
import { randomUUID } from 'node:crypto';
import {
  AddClientIDToOpenIDConnectProviderCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRoleCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  PutUserPermissionsBoundaryCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startMoto } from '../../testbed/moto.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';

const THUMBPRINT = 'a'.repeat(40);
const clientConfig = (endpoint: string, maxAttempts = 3) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  maxAttempts,
});

let proxy: MotoIamProxy;
let iam: IAMClient;

beforeAll(async () => {
  proxy = await startMotoIamProxy(inject('motoUrl'));
  iam = new IAMClient(clientConfig(proxy.url));
});
afterAll(async () => {
  iam.destroy();
  await proxy.close();
});
beforeEach(() => {
  proxy.actions.length = 0;
  proxy.faults.clear();
});

/** A provider with a URL of its own (moto is shared by the whole run). */
async function createProvider(clientIds: string[]): Promise<{ arn: string; host: string }> {
  const host = `gitlab-${randomUUID().slice(0, 8)}.example.com/path`;
  const out = await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: `https://${host}`,
      ClientIDList: clientIds,
      ThumbprintList: [THUMBPRINT],
      Tags: [
        { Key: 'owner', Value: 'gitlab-aws-operator' },
        { Key: 'shared', Value: 'true' },
      ],
    }),
  );
  return { arn: out.OpenIDConnectProviderArn ?? '', host };
}

const getProvider = (arn: string) =>
  iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
const addClientId = (arn: string, clientId: string, client = iam) =>
  client.send(
    new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: clientId }),
  );
const removeClientId = (arn: string, clientId: string) =>
  iam.send(
    new RemoveClientIDFromOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: clientId }),
  );

describe('moto without the proxy', () => {
  it('fails AddClientIDToOpenIDConnectProvider with HTTP 500 (why the proxy exists)', async () => {
    const { arn } = await createProvider(['sts.amazonaws.com']);
    const direct = new IAMClient(clientConfig(inject('motoUrl'), 1));
    const err = await addClientId(arn, 'x', direct).catch((e: unknown) => e);
    expect(err).toMatchObject({ $metadata: { httpStatusCode: 500 } });
    direct.destroy();
  });
});

describe('OIDC provider client IDs', () => {
  it('adds and removes client IDs, keeping ARN, URL, thumbprints and tags', async () => {
    const { arn, host } = await createProvider(['sts.amazonaws.com']);
    expect(arn).toBe(`arn:aws:iam::123456789012:oidc-provider/${host}`);

    const added = await addClientId(arn, 'https://gitlab.example.com');
    expect(added.$metadata.httpStatusCode).toBe(200);
    expect(added.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    let provider = await getProvider(arn);
    expect(provider.ClientIDList).toEqual(['sts.amazonaws.com', 'https://gitlab.example.com']);
    expect(provider.Url).toBe(host);
    expect(provider.ThumbprintList).toEqual([THUMBPRINT]);
    expect(provider.Tags).toEqual([
      { Key: 'owner', Value: 'gitlab-aws-operator' },
      { Key: 'shared', Value: 'true' },
    ]);
    const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(listed.OpenIDConnectProviderList?.filter((p) => p.Arn === arn)).toHaveLength(1);

    await removeClientId(arn, 'sts.amazonaws.com');
    provider = await getProvider(arn);
    expect(provider.ClientIDList).toEqual(['https://gitlab.example.com']);
    expect(provider.ThumbprintList).toEqual([THUMBPRINT]);
    expect(provider.Tags).toHaveLength(2);

    await removeClientId(arn, 'https://gitlab.example.com');
    provider = await getProvider(arn);
    expect(provider.ClientIDList ?? []).toEqual([]);
    expect(provider.Url).toBe(host);
  });

  it('is idempotent and leaves moto alone when nothing changes', async () => {
    const { arn } = await createProvider(['sts.amazonaws.com', 'aud-2']);
    const before = await getProvider(arn);

    await addClientId(arn, 'sts.amazonaws.com');
    await removeClientId(arn, 'never-added');

    const after = await getProvider(arn);
    expect(after.ClientIDList).toEqual(['sts.amazonaws.com', 'aud-2']);
    // A delete + create would have given the provider a new CreateDate.
    expect(after.CreateDate).toEqual(before.CreateDate);
  });

  it('handles special characters in client IDs and tag values', async () => {
    const { arn } = await createProvider([]);
    const odd = 'aud <&> "quoted" \'single\' ü';
    await addClientId(arn, odd);
    const provider = await getProvider(arn);
    expect(provider.ClientIDList).toEqual([odd]);
    await removeClientId(arn, odd);
    expect((await getProvider(arn)).ClientIDList ?? []).toEqual([]);
  });

  it('answers NoSuchEntity for a missing provider', async () => {
    const arn = `arn:aws:iam::123456789012:oidc-provider/missing-${randomUUID()}.example.com`;
    for (const call of [() => addClientId(arn, 'x'), () => removeClientId(arn, 'x')]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoSuchEntityException);
      expect(err).toMatchObject({
        name: 'NoSuchEntityException',
        message: `OpenIDConnect Provider not found for arn ${arn}`,
        $metadata: { httpStatusCode: 404 },
      });
    }
  });

  it('validates the client ID length and the quota of 100 client IDs', async () => {
    const { arn } = await createProvider(Array.from({ length: 100 }, (_, i) => `aud-${i}`));
    for (const clientId of ['', 'x'.repeat(256)]) {
      const err = await addClientId(arn, clientId).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    }
    // The SDK counts LimitExceeded as throttling and retries it: one attempt is enough here.
    const once = new IAMClient(clientConfig(proxy.url, 1));
    const err = await addClientId(arn, 'aud-100', once).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'LimitExceededException',
      message: 'Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100',
      $metadata: { httpStatusCode: 409 },
    });
    once.destroy();
    // At the limit, adding one already present is still fine.
    await addClientId(arn, 'aud-7');
    expect((await getProvider(arn)).ClientIDList).toHaveLength(100);
  });

  it('serialises concurrent changes: none is lost and readers never see the provider missing', async () => {
    const { arn } = await createProvider(['sts.amazonaws.com']);
    const ids = Array.from({ length: 8 }, (_, i) => `concurrent-${i}`);
    await Promise.all([...ids.map((id) => addClientId(arn, id)), ...ids.map(() => getProvider(arn))]);
    const provider = await getProvider(arn);
    expect(new Set(provider.ClientIDList)).toEqual(new Set(['sts.amazonaws.com', ...ids]));
  });
});

describe('IAM user permissions boundaries (moto ignores them)', () => {
  const BOUNDARY = 'arn:aws:iam::123456789012:policy/boundary';
  it('keeps the boundary of CreateUser and PutUserPermissionsBoundary, shows it in GetUser, and hides its tag', async () => {
    const name = `u-${randomUUID().slice(0, 8)}`;
    const created = await iam.send(
      new CreateUserCommand({
        UserName: name,
        PermissionsBoundary: BOUNDARY,
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    expect(created.User?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY);
    const got = await iam.send(new GetUserCommand({ UserName: name }));
    expect(got.User?.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: BOUNDARY,
    });
    expect(got.User?.Tags).toEqual([{ Key: 'team', Value: 'a' }]);
    expect((await iam.send(new ListUserTagsCommand({ UserName: name }))).Tags).toEqual([
      { Key: 'team', Value: 'a' },
    ]);

    const other = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
    await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: name, PermissionsBoundary: other }));
    expect(
      (await iam.send(new GetUserCommand({ UserName: name }))).User?.PermissionsBoundary
        ?.PermissionsBoundaryArn,
    ).toBe(other);
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: name }));
    expect(
      (await iam.send(new GetUserCommand({ UserName: name }))).User?.PermissionsBoundary,
    ).toBeUndefined();
    await iam.send(new DeleteUserCommand({ UserName: name }));
  });

  it('answers NoSuchEntity for a missing user and InvalidInput for a bad ARN', async () => {
    await expect(
      iam.send(
        new PutUserPermissionsBoundaryCommand({ UserName: 'no-such-user', PermissionsBoundary: BOUNDARY }),
      ),
    ).rejects.toThrow(/cannot be found|NoSuchEntity/);
    await expect(
      iam.send(
        new CreateUserCommand({ UserName: `u-${randomUUID().slice(0, 8)}`, PermissionsBoundary: 'nope' }),
      ),
    ).rejects.toThrow(/PermissionsBoundary is invalid/);
  });
});

describe('IAM user permissions boundaries on a moto that enforces IAM', () => {
  it('authorises each caller for its own action, and signs the proxy’s own calls with its credentials', async () => {
    const moto = await startMoto();
    const clients: IAMClient[] = [];
    const client = (endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }) => {
      const c = new IAMClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
      clients.push(c);
      return c;
    };
    let own: MotoIamProxy | undefined;
    try {
      // The first 4 requests make an administrator; every later one is authenticated and authorised.
      expect((await fetch(`${moto.url}/moto-api/reset-auth`, { method: 'POST', body: '4' })).ok).toBe(true);
      const bootstrap = client(moto.url, { accessKeyId: 'testing', secretAccessKey: 'testing' });
      const keyOf = async (c: IAMClient, user: string, actions: string) => {
        await c.send(new CreateUserCommand({ UserName: user }));
        const policy = await c.send(
          new CreatePolicyCommand({
            PolicyName: user,
            PolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
            }),
          }),
        );
        await c.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: policy.Policy!.Arn! }));
        const k = (await c.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!;
        return { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! };
      };
      const adminKey = await keyOf(bootstrap, 'admin', '*');
      const admin = client(moto.url, adminKey);
      const creatorKey = await keyOf(admin, 'creator', 'iam:CreateUser');
      own = await startMotoIamProxy(moto.url, { credentials: adminKey });
      const creator = client(own.url, creatorKey);
      const viaProxy = client(own.url, adminKey);
      const BOUNDARY = 'arn:aws:iam::123456789012:policy/admin';

      // The creator may create (the proxy tags the boundary as the administrator) ...
      await creator.send(new CreateUserCommand({ UserName: 'made', PermissionsBoundary: BOUNDARY }));
      const got = await viaProxy.send(new GetUserCommand({ UserName: 'made' }));
      expect(got.User?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY);
      expect(got.User?.Tags ?? []).toEqual([]);
      // ... but not change or remove a boundary: moto refuses the creator, whatever the proxy may do.
      for (const command of [
        new PutUserPermissionsBoundaryCommand({ UserName: 'made', PermissionsBoundary: BOUNDARY }),
        new DeleteUserPermissionsBoundaryCommand({ UserName: 'made' }),
      ])
        await expect(creator.send(command as never)).rejects.toMatchObject({ name: 'AccessDenied' });
      expect(
        (await viaProxy.send(new GetUserCommand({ UserName: 'made' }))).User?.PermissionsBoundary
          ?.PermissionsBoundaryArn,
      ).toBe(BOUNDARY);
      await viaProxy.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'made' }));
      expect(
        (await viaProxy.send(new GetUserCommand({ UserName: 'made' }))).User?.PermissionsBoundary,
      ).toBeUndefined();

      // Without credentials of its own, the proxy's tagging is refused, and it says why.
      const bare = await startMotoIamProxy(moto.url);
      try {
        const err = await client(bare.url, adminKey)
          .send(new CreateUserCommand({ UserName: 'unkept', PermissionsBoundary: BOUNDARY }))
          .catch((e: unknown) => e);
        expect(String((err as Error).message)).toMatch(/needs the proxy started with credentials/);
      } finally {
        await bare.close();
      }
    } finally {
      for (const c of clients) c.destroy();
      await own?.close();
      await moto.stop();
    }
  }, 60_000);
});

describe('forwarding and recording', () => {
  it('forwards every other call to moto and records the actions in order', async () => {
    const roleName = `proxy-${randomUUID().slice(0, 8)}`;
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    expect(created.Role?.Arn).toBe(`arn:aws:iam::123456789012:role/${roleName}`);
    await iam.send(new TagRoleCommand({ RoleName: roleName, Tags: [{ Key: 'k', Value: 'v' }] }));
    const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    expect(role.Role?.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
    // moto's errors come through as they are.
    const err = await iam.send(new GetRoleCommand({ RoleName: roleName })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoSuchEntityException);

    const sts = new STSClient(clientConfig(proxy.url));
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe('123456789012');
    sts.destroy();

    expect(proxy.actions).toEqual([
      'iam:CreateRole',
      'iam:TagRole',
      'iam:GetRole',
      'iam:DeleteRole',
      'iam:GetRole',
      'sts:GetCallerIdentity',
    ]);
  });

  it('records the synthetic actions but not its own calls to moto', async () => {
    const { arn } = await createProvider([]);
    await addClientId(arn, 'a');
    await removeClientId(arn, 'a');
    expect(proxy.actions).toEqual([
      'iam:CreateOpenIDConnectProvider',
      'iam:AddClientIDToOpenIDConnectProvider',
      'iam:RemoveClientIDFromOpenIDConnectProvider',
    ]);
  });

  it('keeps the answers to the actions named in keepAnswers, and to no other', async () => {
    const keeping = await startMotoIamProxy(inject('motoUrl'), { keepAnswers: ['iam:CreateAccessKey'] });
    const client = new IAMClient(clientConfig(keeping.url, 1));
    try {
      const user = `proxy-${randomUUID().slice(0, 8)}`;
      await client.send(new CreateUserCommand({ UserName: user }));
      const made = await client.send(new CreateAccessKeyCommand({ UserName: user }));
      await client.send(new GetUserCommand({ UserName: user }));
      keeping.faults.add({ action: 'CreateAccessKey', type: 'server-error', times: 1 });
      await expect(client.send(new CreateAccessKeyCommand({ UserName: user }))).rejects.toThrow();
      expect(keeping.answers.map((a) => [a.action, a.status])).toEqual([
        ['iam:CreateAccessKey', 200],
        ['iam:CreateAccessKey', 500],
      ]);
      // What the caller was told, body and all: the secret too.
      const secret = made.AccessKey!.SecretAccessKey!;
      expect(keeping.answers[0]!.body).toContain(`<SecretAccessKey>${secret}</SecretAccessKey>`);
      expect(keeping.answers[1]!.body).toContain('ServiceFailure');
      expect(proxy.answers).toEqual([]);
    } finally {
      client.destroy();
      await keeping.close();
    }
  });

  it('passes the bytes through unchanged', async () => {
    const body = 'Action=ListOpenIDConnectProviders&Version=2010-05-08';
    const headers = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    };
    const [viaProxy, direct] = await Promise.all(
      [proxy.url, inject('motoUrl')].map((url) => fetch(`${url}/`, { method: 'POST', headers, body })),
    );
    expect(viaProxy?.status).toBe(direct?.status);
    expect(viaProxy?.headers.get('content-type')).toBe(direct?.headers.get('content-type'));
    const requestId = (s: string) => s.replace(/<RequestId>[^<]*<\/RequestId>/, '');
    expect(requestId(await (viaProxy as Response).text())).toBe(requestId(await (direct as Response).text()));
  });
});

describe('fault injection', () => {
  it('throttles: the SDK retries and succeeds when the fault runs out', async () => {
    proxy.faults.add({ action: 'iam:ListOpenIDConnectProviders', type: 'throttle', times: 2 });
    const out = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(out.$metadata.attempts).toBe(3);
    expect(proxy.actions).toEqual(Array(3).fill('iam:ListOpenIDConnectProviders'));
  });

  it('throttles until cleared: the SDK gives up after maxAttempts with Throttling', async () => {
    proxy.faults.add({ action: 'GetRole', type: 'throttle' });
    const err = await iam.send(new GetRoleCommand({ RoleName: 'whatever' })).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
    expect(proxy.actions).toEqual(Array(3).fill('iam:GetRole'));

    proxy.faults.clear();
    const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(listed.$metadata.attempts).toBe(1);
  });

  it('fails with ServiceFailure (500), only for the named action, also for the synthetic ones', async () => {
    const { arn } = await createProvider([]);
    proxy.faults.add({ action: 'iam:AddClientIDToOpenIDConnectProvider', type: 'server-error', times: 1 });
    const once = new IAMClient(clientConfig(proxy.url, 1));
    const err = await addClientId(arn, 'a', once).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ServiceFailureException', $metadata: { httpStatusCode: 500 } });
    once.destroy();
    expect((await getProvider(arn)).ClientIDList ?? []).toEqual([]);

    proxy.faults.add({ action: 'iam:AddClientIDToOpenIDConnectProvider', type: 'server-error', times: 1 });
    const retried = await addClientId(arn, 'a');
    expect(retried.$metadata.attempts).toBe(2);
    expect((await getProvider(arn)).ClientIDList).toEqual(['a']);
  });
});

describe('fault injection at random (probability)', () => {
  const list = (client: IAMClient) =>
    client.send(new ListOpenIDConnectProvidersCommand({})).then(
      () => 'ok',
      (e: { name?: string }) => e.name,
    );

  it('throttles about that share of the matching requests, and counts them', async () => {
    const once = new IAMClient(clientConfig(proxy.url, 1));
    const fault = proxy.faults.add({
      action: 'ListOpenIDConnectProviders',
      type: 'throttle',
      probability: 0.5,
    });
    const outcomes: (string | undefined)[] = [];
    for (let i = 0; i < 200; i++) outcomes.push(await list(once));
    const throttled = outcomes.filter((o) => o === 'Throttling').length;
    expect(outcomes.filter((o) => o !== 'Throttling' && o !== 'ok')).toEqual([]);
    // Binomial(200, 0.5): 100 ± 7 (1 sigma); 60..140 is beyond 5 sigma.
    expect(throttled).toBeGreaterThan(60);
    expect(throttled).toBeLessThan(140);
    expect(fault.hits).toBe(throttled);
    // Another action is not affected.
    const sts = new STSClient(clientConfig(proxy.url, 1));
    for (let i = 0; i < 10; i++) {
      expect((await sts.send(new GetCallerIdentityCommand({}))).$metadata.httpStatusCode).toBe(200);
    }
    sts.destroy();
    once.destroy();
  });

  it('never fires at probability 0, always at 1; spared requests do not use up times', async () => {
    const once = new IAMClient(clientConfig(proxy.url, 1));
    const never = proxy.faults.add({ type: 'throttle', probability: 0, times: 1 });
    for (let i = 0; i < 20; i++) expect(await list(once)).toBe('ok');
    expect(never.hits).toBe(0);
    proxy.faults.clear();
    const always = proxy.faults.add({ type: 'server-error', probability: 1, times: 2 });
    expect([await list(once), await list(once), await list(once)]).toEqual([
      'ServiceFailureException',
      'ServiceFailureException',
      'ok',
    ]);
    expect(always.hits).toBe(2);
    once.destroy();
  });
});

describe('holding a call (type hold)', () => {
  const role = () => `held-${randomUUID().slice(0, 8)}`;
  const create = (name: string, signal?: AbortSignal) =>
    iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
      { abortSignal: signal },
    );
  const roleExists = (name: string) =>
    iam.send(new GetRoleCommand({ RoleName: name })).then(
      () => true,
      (e: unknown) => (e instanceof NoSuchEntityException ? false : Promise.reject(e)),
    );
  /** The caller goes away, as a SIGKILLed operator does: its connection closes. */
  const gone = async (call: Promise<unknown>, abort: AbortController) => {
    abort.abort();
    await call.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  };

  it('not forwarded: the call never reaches moto when its caller goes away', async () => {
    const name = role();
    const held = proxy.faults.add({ action: 'CreateRole', type: 'hold', forward: false, times: 1 });
    const abort = new AbortController();
    const call = create(name, abort.signal);
    await held.arrived;
    expect(held.hits).toBe(1);
    await gone(call, abort);
    expect(await roleExists(name)).toBe(false);
    // Dropped with its caller, not still waiting: a release has nothing left to let go.
    held.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(await roleExists(name)).toBe(false);
  });

  it('forwarded: moto carries the call out before it is held; the caller gets no answer', async () => {
    const name = role();
    const held = proxy.faults.add({ action: 'CreateRole', type: 'hold', forward: true, times: 1 });
    const abort = new AbortController();
    let answered = false;
    const call = create(name, abort.signal).then(() => {
      answered = true;
    });
    await held.arrived;
    expect(await roleExists(name)).toBe(true);
    expect(answered).toBe(false);
    await gone(call, abort);
    expect(answered).toBe(false);
  });

  it('release() lets a held call go on, to moto and back', async () => {
    const name = role();
    const held = proxy.faults.add({ action: 'CreateRole', type: 'hold', times: 1 });
    const call = create(name);
    await held.arrived;
    expect(await roleExists(name)).toBe(false);
    held.release();
    expect((await call).Role?.RoleName).toBe(name);
    await iam.send(new DeleteRoleCommand({ RoleName: name }));
  });

  it("holds only the named user's calls", async () => {
    const [mine, other] = [`held-${randomUUID().slice(0, 8)}`, `free-${randomUUID().slice(0, 8)}`];
    await Promise.all([mine, other].map((u) => iam.send(new CreateUserCommand({ UserName: u }))));
    const held = proxy.faults.add({ action: 'CreateAccessKey', user: mine, type: 'hold', times: 1 });
    const made = await iam.send(new CreateAccessKeyCommand({ UserName: other }));
    expect(made.AccessKey?.UserName).toBe(other);
    expect(held.hits).toBe(0);
  });

  it('keeps in answers only what reached the caller: not an answer lost with it, a released one yes', async () => {
    const keeping = await startMotoIamProxy(inject('motoUrl'), { keepAnswers: ['iam:CreateAccessKey'] });
    const client = new IAMClient(clientConfig(keeping.url, 1));
    try {
      const user = `held-${randomUUID().slice(0, 8)}`;
      await client.send(new CreateUserCommand({ UserName: user }));
      const lost = keeping.faults.add({ action: 'CreateAccessKey', type: 'hold', forward: true, times: 1 });
      const abort = new AbortController();
      const call = client.send(new CreateAccessKeyCommand({ UserName: user }), { abortSignal: abort.signal });
      await lost.arrived;
      await gone(call, abort);
      expect(keeping.answers).toEqual([]);
      const released = keeping.faults.add({
        action: 'CreateAccessKey',
        type: 'hold',
        forward: true,
        times: 1,
      });
      const delivered = client.send(new CreateAccessKeyCommand({ UserName: user }));
      await released.arrived;
      released.release();
      const id = (await delivered).AccessKey?.AccessKeyId;
      expect(keeping.answers).toHaveLength(1);
      expect(keeping.answers[0]?.body).toContain(`<AccessKeyId>${id}</AccessKeyId>`);
    } finally {
      client.destroy();
      await keeping.close();
    }
  });
});

describe('the shared proxy of the test run', () => {
  it('is provided as motoIamUrl', async () => {
    const shared = new IAMClient(clientConfig(inject('motoIamUrl')));
    const { arn } = await createProvider([]);
    await addClientId(arn, 'via-shared', shared);
    expect((await getProvider(arn)).ClientIDList).toEqual(['via-shared']);
    shared.destroy();
  });
});
