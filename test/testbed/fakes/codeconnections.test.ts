// The CodeConnections fake, driven only through the real client (@aws-sdk/client-codestar-connections)
// over HTTP. These tests pin the fake to the service's documented behaviour (docs/fakes.md).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CodeStarConnectionsClient,
  type CodeStarConnectionsClientConfig,
  CodeStarConnectionsServiceException,
  ConflictException,
  CreateConnectionCommand,
  CreateHostCommand,
  DeleteConnectionCommand,
  DeleteHostCommand,
  GetConnectionCommand,
  GetHostCommand,
  LimitExceededException,
  ListConnectionsCommand,
  type ListConnectionsCommandInput,
  ListHostsCommand,
  ListRepositoryLinksCommand,
  ListTagsForResourceCommand,
  paginateListConnections,
  ResourceNotFoundException,
  ResourceUnavailableException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  TagResourceCommand,
  ThrottlingException,
  UnsupportedOperationException,
  UntagResourceCommand,
  UpdateHostCommand,
} from '@aws-sdk/client-codestar-connections';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CodeConnectionsFake,
  type CodeConnectionsFakeOptions,
  startCodeConnectionsFake,
} from '../../../testbed/fakes/codeconnections/index.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const ACCOUNT = '123456789012';
const CONNECTION_ARN =
  /^arn:aws:codestar-connections:us-east-1:123456789012:connection\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VPC = { VpcId: 'vpc-0123abcd', SubnetIds: ['subnet-0123abcd'], SecurityGroupIds: ['sg-0123abcd'] };

let fake: CodeConnectionsFake;
beforeAll(async () => {
  fake = await startCodeConnectionsFake();
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  fake.reset();
});

/** A real client on the fake. maxAttempts 1 unless a test is about retries. */
function client(extra: Partial<CodeStarConnectionsClientConfig> = {}, on = fake): CodeStarConnectionsClient {
  return new CodeStarConnectionsClient({
    endpoint: on.endpoint,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
    ...extra,
  });
}

/** A fake with other options, closed after the callback. */
async function withFake(
  opts: CodeConnectionsFakeOptions,
  fn: (f: CodeConnectionsFake) => Promise<void>,
): Promise<void> {
  const f = await startCodeConnectionsFake(opts);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

async function rejection(p: Promise<unknown>): Promise<CodeStarConnectionsServiceException> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CodeStarConnectionsServiceException);
    return err as CodeStarConnectionsServiceException;
  }
  throw new Error('expected the call to fail');
}

async function validationError(p: Promise<unknown>): Promise<string> {
  const err = await rejection(p);
  expect(err.name).toBe('ValidationException');
  expect(err.$metadata.httpStatusCode).toBe(400);
  expect(err.$fault).toBe('client');
  return err.message;
}

const createGitLab = (c: CodeStarConnectionsClient, name = 'gitlab-main', tags?: Record<string, string>) =>
  c.send(
    new CreateConnectionCommand({
      ConnectionName: name,
      ProviderType: 'GitLab',
      ...(tags ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    }),
  );

const createHost = (
  c: CodeStarConnectionsClient,
  name = 'gitlab-example',
  extra: Record<string, unknown> = {},
) =>
  c.send(
    new CreateHostCommand({
      Name: name,
      ProviderType: 'GitLabSelfManaged',
      ProviderEndpoint: 'https://gitlab.example.com',
      ...extra,
    }),
  );

describe('protocol', () => {
  it('answers the real client on POST / with the target it sends, and records each call', async () => {
    const out = await createGitLab(client());
    expect(out.ConnectionArn).toMatch(CONNECTION_ARN);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      operation: 'CreateConnection',
      body: { ConnectionName: 'gitlab-main', ProviderType: 'GitLab' },
      region: 'us-east-1',
      status: 200,
    });
    expect(fake.callCount('CreateConnection')).toBe(1);
    expect(fake.callCount('GetConnection')).toBe(0);
  });

  it('also accepts the long botocore target prefix', async () => {
    const c = client();
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers: Record<string, string> };
        req.headers['x-amz-target'] = `com.amazonaws.codestar.connections.${req.headers['x-amz-target']}`;
        return next(args);
      },
      { step: 'build', name: 'longTarget' },
    );
    const out = await c.send(new ListConnectionsCommand({}));
    expect(out.Connections).toEqual([]);
  });

  it('refuses a request without an Authorization header', async () => {
    const c = client();
    const stripAuth: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =
      (next) => async (args) => {
        delete (args.request as { headers: Record<string, string> }).headers.authorization;
        return next(args);
      };
    c.middlewareStack.addRelativeTo(stripAuth, {
      relation: 'after',
      toMiddleware: 'httpSigningMiddleware',
      name: 'stripAuth',
    });
    const err = await rejection(c.send(new ListConnectionsCommand({})));
    expect(err.name).toBe('MissingAuthenticationTokenException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers UnknownOperationException for an unknown target and for operations it does not serve', async () => {
    const c = client();
    c.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-target'] =
          'CodeStar_connections_20191201.Frobnicate';
        return next(args);
      },
      { step: 'build', name: 'badTarget' },
    );
    expect((await rejection(c.send(new ListConnectionsCommand({})))).name).toBe('UnknownOperationException');
    const err = await rejection(client().send(new ListRepositoryLinksCommand({})));
    expect(err.name).toBe('UnknownOperationException');
  });

  it('takes the Region from the SigV4 credential scope', async () => {
    const out = await createGitLab(client({ region: 'eu-west-1' }));
    expect(out.ConnectionArn).toMatch(/^arn:aws:codestar-connections:eu-west-1:123456789012:connection\//);
    expect(fake.requests[0]?.region).toBe('eu-west-1');
  });

  it('is reachable through AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS (in a child process, so no env leaks)', async () => {
    const script = `
      import { CodeStarConnectionsClient, CreateConnectionCommand, GetConnectionCommand } from '@aws-sdk/client-codestar-connections';
      const c = new CodeStarConnectionsClient({});
      const { ConnectionArn } = await c.send(new CreateConnectionCommand({ ConnectionName: 'from-env', ProviderType: 'GitLab' }));
      const { Connection } = await c.send(new GetConnectionCommand({ ConnectionArn }));
      console.log(JSON.stringify(Connection));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS: fake.endpoint,
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
    });
    const conn = JSON.parse(stdout);
    expect(conn).toMatchObject({ ConnectionName: 'from-env', ConnectionStatus: 'PENDING' });
    expect(conn.ConnectionArn).toMatch(/^arn:aws:codestar-connections:eu-central-1:/);
    expect(fake.connections().map((c) => c.name)).toEqual(['from-env']);
    expect(process.env.AWS_ENDPOINT_URL_CODESTAR_CONNECTIONS).toBeUndefined();
  });
});

describe('connections', () => {
  it('create, get, list, delete; a new connection is PENDING', async () => {
    const c = client();
    const created = await createGitLab(c, 'gitlab-main', { 'gitlab-aws.io/owner': 'pipelines/gitlab-main' });
    expect(created.Tags).toEqual([{ Key: 'gitlab-aws.io/owner', Value: 'pipelines/gitlab-main' }]);
    const arn = created.ConnectionArn!;

    const { Connection } = await c.send(new GetConnectionCommand({ ConnectionArn: arn }));
    expect(Connection).toEqual({
      ConnectionName: 'gitlab-main',
      ConnectionArn: arn,
      ProviderType: 'GitLab',
      OwnerAccountId: ACCOUNT,
      ConnectionStatus: 'PENDING',
    });
    const listed = await c.send(new ListConnectionsCommand({}));
    expect(listed.Connections).toEqual([Connection]);
    expect(listed.NextToken).toBeUndefined();

    await c.send(new DeleteConnectionCommand({ ConnectionArn: arn }));
    const gone = await rejection(c.send(new GetConnectionCommand({ ConnectionArn: arn })));
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect(gone.$metadata.httpStatusCode).toBe(400);
    expect(await rejection(c.send(new DeleteConnectionCommand({ ConnectionArn: arn })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect((await c.send(new ListConnectionsCommand({}))).Connections).toEqual([]);
  });

  it('allows two connections of the same name (no uniqueness error, no client token)', async () => {
    const c = client();
    const a = await createGitLab(c, 'same');
    const b = await createGitLab(c, 'same');
    expect(a.ConnectionArn).not.toBe(b.ConnectionArn);
    expect((await c.send(new ListConnectionsCommand({}))).Connections?.map((x) => x.ConnectionName)).toEqual([
      'same',
      'same',
    ]);
  });

  it("rejects a duplicate name with ResourceAlreadyExistsException under duplicateConnectionNames: 'reject'", async () => {
    await withFake({ duplicateConnectionNames: 'reject' }, async (f) => {
      const c = client({}, f);
      await createGitLab(c, 'same');
      const err = await rejection(createGitLab(c, 'same'));
      expect(err.name).toBe('ResourceAlreadyExistsException');
    });
  });

  it('never reuses an ARN, not even after reset()', async () => {
    const c = client();
    const first = (await createGitLab(c, 'x')).ConnectionArn!;
    await c.send(new DeleteConnectionCommand({ ConnectionArn: first }));
    const second = (await createGitLab(c, 'x')).ConnectionArn!;
    fake.reset();
    const third = (await createGitLab(c, 'x')).ConnectionArn!;
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('validates ConnectionName: 1 to 32 characters, required', async () => {
    const c = client();
    expect(await validationError(createGitLab(c, 'x'.repeat(33)))).toBe(
      `1 validation error detected: Value '${'x'.repeat(33)}' at 'connectionName' failed to satisfy constraint: Member must have length less than or equal to 32`,
    );
    expect(await validationError(createGitLab(c, ''))).toContain(
      "at 'connectionName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    expect(
      await validationError(c.send(new CreateConnectionCommand({ ProviderType: 'GitLab' } as never))),
    ).toContain("Value null at 'connectionName' failed to satisfy constraint: Member must not be null");
    // The model's pattern is [\s\S]*: anything goes, spaces and non-ASCII included.
    await expect(createGitLab(c, 'ü 32 characters, really'.padEnd(32, '.'))).resolves.toBeDefined();
  });

  it('validates ProviderType against the enum (AzureDevOps is CodeConnections-only) and reports every violation', async () => {
    const c = client();
    const msg = await validationError(
      c.send(
        new CreateConnectionCommand({ ConnectionName: 'x'.repeat(40), ProviderType: 'AzureDevOps' as never }),
      ),
    );
    expect(msg).toMatch(/^2 validation errors detected: /);
    expect(msg).toContain(
      "Value 'AzureDevOps' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [Bitbucket, GitHub, GitHubEnterpriseServer, GitLab, GitLabSelfManaged]",
    );
  });

  it('needs a ProviderType or a HostArn; installed providers need the host', async () => {
    const c = client();
    expect(await validationError(c.send(new CreateConnectionCommand({ ConnectionName: 'none' })))).toContain(
      'Either ProviderType or HostArn',
    );
    expect(
      await validationError(
        c.send(new CreateConnectionCommand({ ConnectionName: 'sm', ProviderType: 'GitLabSelfManaged' })),
      ),
    ).toContain('HostArn is required');
  });

  it('creates a connection on a host (even a PENDING one), taking the provider type from the host', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    const { ConnectionArn } = await c.send(new CreateConnectionCommand({ ConnectionName: 'sm', HostArn }));
    const { Connection } = await c.send(new GetConnectionCommand({ ConnectionArn }));
    expect(Connection).toMatchObject({
      ProviderType: 'GitLabSelfManaged',
      HostArn,
      ConnectionStatus: 'PENDING',
    });
    // Both given and agreeing is fine; disagreeing is not.
    await c.send(
      new CreateConnectionCommand({ ConnectionName: 'both', HostArn, ProviderType: 'GitLabSelfManaged' }),
    );
    expect(
      await validationError(
        c.send(new CreateConnectionCommand({ ConnectionName: 'bad', HostArn, ProviderType: 'GitLab' })),
      ),
    ).toContain('does not match');
  });

  it('refuses an unknown host (ResourceNotFoundException) and a malformed host ARN (ValidationException)', async () => {
    const c = client();
    const missing = `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:host/nope-12345678`;
    const err = await rejection(
      c.send(new CreateConnectionCommand({ ConnectionName: 'x', HostArn: missing })),
    );
    expect(err).toBeInstanceOf(ResourceNotFoundException);
    expect(
      await validationError(
        c.send(
          new CreateConnectionCommand({
            ConnectionName: 'x',
            HostArn: `arn:aws:s3:us-east-1:${ACCOUNT}:host/x`,
          }),
        ),
      ),
    ).toContain("at 'hostArn' failed to satisfy constraint: Member must satisfy regular expression pattern");
  });

  it('accepts both ARN prefixes wherever an ARN is read', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    const hostNew = HostArn!.replace(':codestar-connections:', ':codeconnections:');
    const { ConnectionArn } = await c.send(
      new CreateConnectionCommand({ ConnectionName: 'sm', HostArn: hostNew }),
    );
    const connNew = ConnectionArn!.replace(':codestar-connections:', ':codeconnections:');
    const { Connection } = await c.send(new GetConnectionCommand({ ConnectionArn: connNew }));
    // The service answers with the ARNs it issued.
    expect(Connection).toMatchObject({ ConnectionArn, HostArn });
    expect((await c.send(new GetHostCommand({ HostArn: hostNew }))).Name).toBe('gitlab-example');
    expect((await c.send(new ListConnectionsCommand({ HostArnFilter: hostNew }))).Connections).toHaveLength(
      1,
    );
    await c.send(new TagResourceCommand({ ResourceArn: connNew, Tags: [{ Key: 'k', Value: 'v' }] }));
    expect((await c.send(new ListTagsForResourceCommand({ ResourceArn: ConnectionArn }))).Tags).toEqual([
      { Key: 'k', Value: 'v' },
    ]);
    await c.send(new DeleteConnectionCommand({ ConnectionArn: connNew }));
    await c.send(new DeleteHostCommand({ HostArn: hostNew }));
    expect(fake.connections()).toEqual([]);
    expect(fake.hosts()).toEqual([]);
  });

  it("refuses codeconnections host ARNs under acceptCodeconnectionsHostArns: false (the 2019-12-01 model's pattern)", async () => {
    await withFake({ acceptCodeconnectionsHostArns: false }, async (f) => {
      const c = client({}, f);
      const { HostArn } = await createHost(c);
      const hostNew = HostArn!.replace(':codestar-connections:', ':codeconnections:');
      expect(await validationError(c.send(new GetHostCommand({ HostArn: hostNew })))).toContain(
        'arn:aws(-[\\w]+)*:codestar-connections:.+:[0-9]{12}:host\\/.+',
      );
    });
  });

  it("issues codeconnections ARNs under arnPrefix: 'codeconnections'", async () => {
    await withFake({ arnPrefix: 'codeconnections' }, async (f) => {
      const c = client({}, f);
      const { HostArn } = await createHost(c);
      expect(HostArn).toMatch(
        /^arn:aws:codeconnections:us-east-1:123456789012:host\/gitlab-example-[0-9a-f]{8}$/,
      );
      const { ConnectionArn } = await createGitLab(c);
      expect(ConnectionArn).toMatch(/^arn:aws:codeconnections:us-east-1:123456789012:connection\//);
      const old = ConnectionArn!.replace(':codeconnections:', ':codestar-connections:');
      expect((await c.send(new GetConnectionCommand({ ConnectionArn: old }))).Connection?.ConnectionArn).toBe(
        ConnectionArn,
      );
    });
  });

  it('validates connection ARNs; a well-formed ARN of something else is not found', async () => {
    const c = client();
    expect(
      await validationError(c.send(new GetConnectionCommand({ ConnectionArn: 'not-an-arn' }))),
    ).toContain(
      "Value 'not-an-arn' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws(-[\\w]+)*:.+:.+:[0-9]{12}:.+",
    );
    expect(
      await rejection(
        c.send(new GetConnectionCommand({ ConnectionArn: `arn:aws:s3:us-east-1:${ACCOUNT}:thing/x` })),
      ),
    ).toBeInstanceOf(ResourceNotFoundException);
    const { ConnectionArn } = await createGitLab(c);
    const otherAccount = ConnectionArn!.replace(ACCOUNT, '210987654321');
    expect(await rejection(c.send(new GetConnectionCommand({ ConnectionArn: otherAccount })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('enforces the connection quota with LimitExceededException, which the SDK retries like throttling', async () => {
    await withFake({ connectionQuota: 2 }, async (f) => {
      await createGitLab(client({}, f), 'a');
      await createGitLab(client({}, f), 'b');
      const err = await rejection(createGitLab(client({ maxAttempts: 3 }, f), 'c'));
      expect(err).toBeInstanceOf(LimitExceededException);
      expect(f.callCount('CreateConnection')).toBe(5); // 2 + 3 attempts (API-FACTS pitfall 8)
    });
  });

  it('pages ListConnections with MaxResults and NextToken, in creation order', async () => {
    const c = client();
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
    for (const n of names) await createGitLab(c, n);
    const p1 = await c.send(new ListConnectionsCommand({ MaxResults: 3 }));
    expect(p1.Connections?.map((x) => x.ConnectionName)).toEqual(['c1', 'c2', 'c3']);
    expect(p1.NextToken).toBeDefined();
    // A deletion between pages does not disturb the cursor.
    await c.send(new DeleteConnectionCommand({ ConnectionArn: p1.Connections![0]!.ConnectionArn }));
    const p2 = await c.send(new ListConnectionsCommand({ MaxResults: 3, NextToken: p1.NextToken }));
    expect(p2.Connections?.map((x) => x.ConnectionName)).toEqual(['c4', 'c5', 'c6']);
    const p3 = await c.send(new ListConnectionsCommand({ MaxResults: 3, NextToken: p2.NextToken }));
    expect(p3.Connections?.map((x) => x.ConnectionName)).toEqual(['c7']);
    expect(p3.NextToken).toBeUndefined();

    const all: string[] = [];
    for await (const page of paginateListConnections({ client: c, pageSize: 2 }, {})) {
      all.push(...(page.Connections ?? []).map((x) => x.ConnectionName!));
    }
    expect(all).toEqual(names.slice(1));
    expect(fake.callCount('ListConnections')).toBe(3 + 3);

    expect(await validationError(c.send(new ListConnectionsCommand({ MaxResults: 101 })))).toContain(
      "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    expect(await validationError(c.send(new ListConnectionsCommand({ NextToken: 'garbage' })))).toContain(
      'NextToken',
    );
  });

  it('filters ListConnections by provider type and by host', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    await createGitLab(c, 'cloud');
    await c.send(new CreateConnectionCommand({ ConnectionName: 'bb', ProviderType: 'Bitbucket' }));
    await c.send(new CreateConnectionCommand({ ConnectionName: 'sm', HostArn }));
    const names = async (input: ListConnectionsCommandInput) =>
      (await c.send(new ListConnectionsCommand(input))).Connections?.map((x) => x.ConnectionName);
    expect(await names({ ProviderTypeFilter: 'GitLab' })).toEqual(['cloud']);
    expect(await names({ ProviderTypeFilter: 'GitLabSelfManaged' })).toEqual(['sm']);
    expect(await names({ HostArnFilter: HostArn })).toEqual(['sm']);
    const missing = `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:host/nope-12345678`;
    expect(await rejection(c.send(new ListConnectionsCommand({ HostArnFilter: missing })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('lists connections from every Region (connections are global)', async () => {
    const { ConnectionArn } = await createGitLab(client({ region: 'eu-west-1' }), 'eu');
    const us = client({ region: 'us-east-1' });
    expect((await us.send(new ListConnectionsCommand({}))).Connections?.map((x) => x.ConnectionArn)).toEqual([
      ConnectionArn,
    ]);
    expect((await us.send(new GetConnectionCommand({ ConnectionArn }))).Connection?.ConnectionName).toBe(
      'eu',
    );
  });

  it('moves PENDING -> AVAILABLE on the handshake, and to ERROR when broken', async () => {
    const c = client();
    const { ConnectionArn } = await createGitLab(c);
    const status = async () =>
      (await c.send(new GetConnectionCommand({ ConnectionArn }))).Connection?.ConnectionStatus;
    expect(await status()).toBe('PENDING');
    fake.completeHandshake(ConnectionArn!);
    expect(await status()).toBe('AVAILABLE');
    expect(() => fake.completeHandshake(ConnectionArn!)).toThrow(/not PENDING/);
    fake.breakConnection(ConnectionArn!);
    expect(await status()).toBe('ERROR');
    fake.setConnectionStatus(ConnectionArn!, 'AVAILABLE');
    expect(await status()).toBe('AVAILABLE');
  });

  it('completes the handshake of a host connection only once the host is AVAILABLE', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    const { ConnectionArn } = await c.send(new CreateConnectionCommand({ ConnectionName: 'sm', HostArn }));
    expect(() => fake.completeHandshake(ConnectionArn!)).toThrow(/set it up first/);
    fake.setHostStatus(HostArn!, 'AVAILABLE');
    fake.completeHandshake(ConnectionArn!);
    expect((await c.send(new GetConnectionCommand({ ConnectionArn }))).Connection?.ConnectionStatus).toBe(
      'AVAILABLE',
    );
  });

  it('lets a test plant a same-named connection with other tags, seen through the API', async () => {
    const c = client();
    const planted = fake.plantConnection({
      name: 'gitlab-main',
      tags: { 'gitlab-aws.io/owner': 'other/owner' },
    });
    const { ConnectionArn } = await createGitLab(c, 'gitlab-main', {
      'gitlab-aws.io/owner': 'pipelines/gitlab-main',
    });
    const listed = (await c.send(new ListConnectionsCommand({}))).Connections ?? [];
    expect(listed.map((x) => [x.ConnectionName, x.ConnectionArn])).toEqual([
      ['gitlab-main', planted],
      ['gitlab-main', ConnectionArn],
    ]);
    expect((await c.send(new ListTagsForResourceCommand({ ResourceArn: planted }))).Tags).toEqual([
      { Key: 'gitlab-aws.io/owner', Value: 'other/owner' },
    ]);
    fake.removeConnection(planted);
    expect(await rejection(c.send(new GetConnectionCommand({ ConnectionArn: planted })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe('hosts', () => {
  it('create, get, list, update, delete; a new host is PENDING', async () => {
    const c = client();
    const { HostArn, Tags } = await createHost(c, 'gitlab-example', {
      Tags: [{ Key: 'team', Value: 'pipelines' }],
    });
    expect(HostArn).toMatch(
      /^arn:aws:codestar-connections:us-east-1:123456789012:host\/gitlab-example-[0-9a-f]{8}$/,
    );
    expect(Tags).toEqual([{ Key: 'team', Value: 'pipelines' }]);
    const got = await c.send(new GetHostCommand({ HostArn }));
    expect({ ...got, $metadata: undefined }).toEqual({
      $metadata: undefined,
      Name: 'gitlab-example',
      Status: 'PENDING',
      ProviderType: 'GitLabSelfManaged',
      ProviderEndpoint: 'https://gitlab.example.com',
    });

    fake.setHostStatus(HostArn!, 'AVAILABLE', 'Host is ready');
    const { Hosts } = await c.send(new ListHostsCommand({}));
    expect(Hosts).toEqual([
      {
        Name: 'gitlab-example',
        HostArn,
        ProviderType: 'GitLabSelfManaged',
        ProviderEndpoint: 'https://gitlab.example.com',
        Status: 'AVAILABLE',
        StatusMessage: 'Host is ready',
      },
    ]);

    await c.send(new UpdateHostCommand({ HostArn, ProviderEndpoint: 'https://gitlab2.example.com' }));
    expect((await c.send(new GetHostCommand({ HostArn }))).ProviderEndpoint).toBe(
      'https://gitlab2.example.com',
    );

    await c.send(new DeleteHostCommand({ HostArn }));
    expect(await rejection(c.send(new GetHostCommand({ HostArn })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect(await rejection(c.send(new DeleteHostCommand({ HostArn })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('validates name (1..64), provider type (installed providers only) and endpoint (URL, up to 512)', async () => {
    const c = client();
    expect(await validationError(createHost(c, 'h'.repeat(65)))).toContain(
      "at 'name' failed to satisfy constraint: Member must have length less than or equal to 64",
    );
    await expect(createHost(c, 'h'.repeat(64))).resolves.toBeDefined();
    expect(await validationError(createHost(c, 'x', { ProviderType: 'GitLab' }))).toContain(
      'not supported for hosts',
    );
    expect(
      await validationError(
        createHost(c, 'x', { ProviderEndpoint: `https://gitlab.example.com/${'p'.repeat(500)}` }),
      ),
    ).toContain(
      "at 'providerEndpoint' failed to satisfy constraint: Member must have length less than or equal to 512",
    );
    expect(await validationError(createHost(c, 'x', { ProviderEndpoint: 'gitlab.example.com' }))).toContain(
      'not a valid URL',
    );
    expect(await validationError(c.send(new CreateHostCommand({ Name: 'x' } as never)))).toMatch(
      /^2 validation errors/,
    );
  });

  it('validates the VPC configuration against the model patterns and limits', async () => {
    const c = client();
    const msg = await validationError(
      createHost(c, 'x', {
        VpcConfiguration: {
          VpcId: 'vpc-0abc',
          SubnetIds: Array.from({ length: 11 }, (_, i) => `subnet-0000000${i % 10}`),
          SecurityGroupIds: [],
          TlsCertificate: 'c'.repeat(16385),
        },
      }),
    );
    expect(msg).toMatch(/^5 validation errors detected: /);
    expect(msg).toContain("Value 'vpc-0abc' at 'vpcConfiguration.vpcId' failed to satisfy constraint");
    expect(msg).toContain(
      "at 'vpcConfiguration.subnetIds' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
    expect(msg).toContain(
      "at 'vpcConfiguration.securityGroupIds' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    expect(msg).toContain(
      "at 'vpcConfiguration.tlsCertificate' failed to satisfy constraint: Member must have length less than or equal to 16384",
    );
    expect(
      await validationError(createHost(c, 'x', { VpcConfiguration: { ...VPC, SecurityGroupIds: ['sg-1'] } })),
    ).toContain("Value 'sg-1' at 'vpcConfiguration.securityGroupIds.1.member'");
    await expect(
      createHost(c, 'ok', {
        VpcConfiguration: {
          ...VPC,
          SubnetIds: ['subnet-0123456789abcdef0'],
          TlsCertificate: '-----BEGIN CERTIFICATE-----',
        },
      }),
    ).resolves.toBeDefined();
  });

  it('a VPC host starts VPC_CONFIG_INITIALIZING and cannot be updated or deleted until it settles', async () => {
    const c = client();
    const { HostArn } = await createHost(c, 'vpc-host', { VpcConfiguration: VPC });
    const host = await c.send(new GetHostCommand({ HostArn }));
    expect(host.Status).toBe('VPC_CONFIG_INITIALIZING');
    expect(host.VpcConfiguration).toEqual(VPC);
    expect(await rejection(c.send(new DeleteHostCommand({ HostArn })))).toBeInstanceOf(
      ResourceUnavailableException,
    );
    expect(
      await rejection(c.send(new UpdateHostCommand({ HostArn, ProviderEndpoint: 'https://x.example' }))),
    ).toBeInstanceOf(ConflictException);

    fake.setHostStatus(HostArn!, 'VPC_CONFIG_FAILED_INITIALIZATION', 'Subnet has no route to the endpoint');
    expect((await c.send(new ListHostsCommand({}))).Hosts?.[0]).toMatchObject({
      Status: 'VPC_CONFIG_FAILED_INITIALIZATION',
      StatusMessage: 'Subnet has no route to the endpoint',
    });
    // A new VPC configuration is provisioned again.
    await c.send(new UpdateHostCommand({ HostArn, VpcConfiguration: { ...VPC, VpcId: 'vpc-9999aaaa' } }));
    expect((await c.send(new GetHostCommand({ HostArn }))).Status).toBe('VPC_CONFIG_INITIALIZING');
    fake.setHostStatus(HostArn!, 'PENDING');
    await c.send(new DeleteHostCommand({ HostArn }));
    expect(fake.hosts()).toEqual([]);
  });

  it('moves VPC hosts by itself with vpcInitializationMs / vpcDeletionMs', async () => {
    await withFake({ vpcInitializationMs: 100, vpcDeletionMs: 100 }, async (f) => {
      const c = client({}, f);
      const { HostArn } = await createHost(c, 'vpc-host', { VpcConfiguration: VPC });
      const status = async () => (await c.send(new GetHostCommand({ HostArn }))).Status;
      expect(await status()).toBe('VPC_CONFIG_INITIALIZING');
      await new Promise((r) => setTimeout(r, 150));
      expect(await status()).toBe('PENDING');
      await c.send(new DeleteHostCommand({ HostArn }));
      expect(await status()).toBe('VPC_CONFIG_DELETING');
      await new Promise((r) => setTimeout(r, 150));
      expect(await rejection(c.send(new GetHostCommand({ HostArn })))).toBeInstanceOf(
        ResourceNotFoundException,
      );
    });
  });

  it('refuses to delete a host while a connection uses it', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    const { ConnectionArn } = await c.send(new CreateConnectionCommand({ ConnectionName: 'sm', HostArn }));
    const err = await rejection(c.send(new DeleteHostCommand({ HostArn })));
    expect(err).toBeInstanceOf(ResourceUnavailableException);
    expect(err.message).toContain('used by 1 connection');
    await c.send(new DeleteConnectionCommand({ ConnectionArn }));
    await c.send(new DeleteHostCommand({ HostArn }));
  });

  it('keeps hosts Regional', async () => {
    const { HostArn } = await createHost(client({ region: 'eu-west-1' }));
    expect(HostArn).toContain(':eu-west-1:');
    const us = client({ region: 'us-east-1' });
    expect((await us.send(new ListHostsCommand({}))).Hosts).toEqual([]);
    expect(await rejection(us.send(new GetHostCommand({ HostArn })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect((await client({ region: 'eu-west-1' }).send(new ListHostsCommand({}))).Hosts).toHaveLength(1);
  });

  it('enforces the host quota', async () => {
    await withFake({ hostQuota: 1 }, async (f) => {
      await createHost(client({}, f), 'one');
      expect(await rejection(createHost(client({}, f), 'two'))).toBeInstanceOf(LimitExceededException);
    });
  });

  it('pages ListHosts', async () => {
    const c = client();
    for (const n of ['h1', 'h2', 'h3']) await createHost(c, n);
    const p1 = await c.send(new ListHostsCommand({ MaxResults: 2 }));
    expect(p1.Hosts?.map((h) => h.Name)).toEqual(['h1', 'h2']);
    const p2 = await c.send(new ListHostsCommand({ MaxResults: 2, NextToken: p1.NextToken }));
    expect(p2.Hosts?.map((h) => h.Name)).toEqual(['h3']);
    expect(p2.NextToken).toBeUndefined();
  });
});

describe('tags', () => {
  it('adds, modifies, removes and lists tags on connections and hosts', async () => {
    const c = client();
    const { ConnectionArn } = await createGitLab(c, 'x', { a: '1', b: '2' });
    await c.send(
      new TagResourceCommand({
        ResourceArn: ConnectionArn,
        Tags: [
          { Key: 'b', Value: 'two' },
          { Key: 'c', Value: '' },
        ],
      }),
    );
    expect(fake.tagsOf(ConnectionArn!)).toEqual({ a: '1', b: 'two', c: '' });
    await c.send(new UntagResourceCommand({ ResourceArn: ConnectionArn, TagKeys: ['a', 'missing'] }));
    expect((await c.send(new ListTagsForResourceCommand({ ResourceArn: ConnectionArn }))).Tags).toEqual([
      { Key: 'b', Value: 'two' },
      { Key: 'c', Value: '' },
    ]);

    const { HostArn } = await createHost(c);
    await c.send(new TagResourceCommand({ ResourceArn: HostArn, Tags: [{ Key: 'owner', Value: 'me' }] }));
    expect((await c.send(new ListTagsForResourceCommand({ ResourceArn: HostArn }))).Tags).toEqual([
      { Key: 'owner', Value: 'me' },
    ]);
  });

  it('validates tag keys (1..128), values (0..256) and the list (up to 200)', async () => {
    const c = client();
    const { ConnectionArn } = await createGitLab(c);
    const msg = await validationError(
      c.send(
        new TagResourceCommand({
          ResourceArn: ConnectionArn,
          Tags: [
            { Key: 'k'.repeat(129), Value: 'v' },
            { Key: '', Value: 'v'.repeat(257) },
          ],
        }),
      ),
    );
    expect(msg).toMatch(/^3 validation errors detected: /);
    expect(msg).toContain(
      "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
    );
    expect(msg).toContain(
      "at 'tags.2.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    expect(msg).toContain(
      "at 'tags.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
    );

    const many = Array.from({ length: 201 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(
      await validationError(
        c.send(new CreateConnectionCommand({ ConnectionName: 'x', ProviderType: 'GitLab', Tags: many })),
      ),
    ).toContain("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200");
    expect(
      await validationError(c.send(new UntagResourceCommand({ ResourceArn: ConnectionArn, TagKeys: [''] }))),
    ).toContain("at 'tagKeys.1.member'");
  });

  it('refuses to go past 200 tags on a resource with LimitExceededException', async () => {
    const c = client();
    const tags = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
    const { ConnectionArn } = await c.send(
      new CreateConnectionCommand({ ConnectionName: 'x', ProviderType: 'GitLab', Tags: tags(0, 150) }),
    );
    // Overwriting existing keys does not count twice.
    await c.send(new TagResourceCommand({ ResourceArn: ConnectionArn, Tags: tags(100, 100) }));
    expect(Object.keys(fake.tagsOf(ConnectionArn!))).toHaveLength(200);
    expect(
      await rejection(c.send(new TagResourceCommand({ ResourceArn: ConnectionArn, Tags: tags(200, 1) }))),
    ).toBeInstanceOf(LimitExceededException);
  });

  it('answers ResourceNotFoundException for an unknown resource and ValidationException for a bad ARN', async () => {
    const c = client();
    const missing = `arn:aws:codestar-connections:us-east-1:${ACCOUNT}:connection/00000000-0000-4000-8000-000000000000`;
    expect(await rejection(c.send(new ListTagsForResourceCommand({ ResourceArn: missing })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    expect(
      await validationError(c.send(new ListTagsForResourceCommand({ ResourceArn: 'connection/x' }))),
    ).toContain("at 'resourceArn'");
  });
});

describe('faults', () => {
  it('throttles; the SDK retries ThrottlingException and succeeds', async () => {
    const f = fake.faults.add({ operation: 'GetConnection', type: 'throttle', times: 2 });
    const c = client({ maxAttempts: 3 });
    const { ConnectionArn } = await createGitLab(c);
    const out = await c.send(new GetConnectionCommand({ ConnectionArn }));
    expect(out.Connection?.ConnectionStatus).toBe('PENDING');
    expect(out.$metadata.attempts).toBe(3);
    expect(f.hits).toBe(2);
    expect(
      fake.requests.filter((r) => r.operation === 'GetConnection').map((r) => [r.status, r.errorType]),
    ).toEqual([
      [400, 'ThrottlingException'],
      [400, 'ThrottlingException'],
      [200, undefined],
    ]);
  });

  it('surfaces ThrottlingException once the attempts are used up', async () => {
    fake.faults.add({ type: 'throttle' });
    const err = await rejection(client({ maxAttempts: 2 }).send(new ListConnectionsCommand({})));
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(fake.callCount('ListConnections')).toBe(2);
  });

  it('answers 5xx server errors, which the SDK retries', async () => {
    fake.faults.add({ type: 'server-error', times: 1 });
    const ok = await client({ maxAttempts: 3 }).send(new ListConnectionsCommand({}));
    expect(ok.$metadata.attempts).toBe(2);

    fake.faults.add({ type: 'server-error', status: 503, errorType: 'ServiceUnavailableException' });
    const err = await rejection(client().send(new ListConnectionsCommand({})));
    expect(err.name).toBe('ServiceUnavailableException');
    expect(err.$fault).toBe('server');
    expect(err.$metadata.httpStatusCode).toBe(503);
    fake.faults.clear();
    await client().send(new ListConnectionsCommand({}));
  });

  it('answers any named service error for one operation', async () => {
    const c = client();
    const { HostArn } = await createHost(c);
    fake.faults.add({
      operation: 'UpdateHost',
      type: 'error',
      errorType: 'UnsupportedOperationException',
      times: 1,
    });
    const err = await rejection(
      c.send(new UpdateHostCommand({ HostArn, ProviderEndpoint: 'https://x.example' })),
    );
    expect(err).toBeInstanceOf(UnsupportedOperationException);
    await c.send(new GetHostCommand({ HostArn })); // other operations untouched
    await c.send(new UpdateHostCommand({ HostArn, ProviderEndpoint: 'https://x.example' })); // consumed
  });

  it('adds latency to matching operations only', async () => {
    fake.faults.add({ operation: 'ListHosts', type: 'latency', delayMs: 300 });
    const c = client();
    let t = Date.now();
    await c.send(new ListConnectionsCommand({}));
    expect(Date.now() - t).toBeLessThan(250);
    t = Date.now();
    await c.send(new ListHostsCommand({}));
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
  });

  it('drops the connection; the SDK retries the reset', async () => {
    fake.faults.add({ type: 'disconnect', times: 1 });
    const out = await client({ maxAttempts: 2 }).send(new ListConnectionsCommand({}));
    expect(out.$metadata.attempts).toBe(2);
    expect(fake.requests.map((r) => r.errorType)).toEqual(['disconnect', undefined]);
  });
});
