// The moto IAM proxy keeps IAM users' permissions boundaries, which moto
// 5.2.5 does not have (testbed/moto-user-boundaries.ts), through the real SDK.
import { randomUUID } from 'node:crypto';
import {
  CreateUserCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetUserCommand,
  IAMClient,
  NoSuchEntityException,
  PutUserPermissionsBoundaryCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';

const BOUNDARY = 'arn:aws:iam::123456789012:policy/gitlab-boundary';
const OTHER = 'arn:aws:iam::123456789012:policy/other-boundary';

let proxy: MotoIamProxy;
let iam: IAMClient;

beforeAll(async () => {
  proxy = await startMotoIamProxy(inject('motoUrl'));
  iam = new IAMClient({
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  iam.destroy();
  await proxy.close();
});

const boundaryOf = async (name: string) =>
  (await iam.send(new GetUserCommand({ UserName: name }))).User?.PermissionsBoundary;

describe('moto IAM proxy: permissions boundaries of IAM users', () => {
  it('keeps the boundary given to CreateUser, and Put and Delete change it', async () => {
    const name = `u-${randomUUID().slice(0, 8)}`;
    const created = await iam.send(new CreateUserCommand({ UserName: name, PermissionsBoundary: BOUNDARY }));
    expect(created.User?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(BOUNDARY);
    expect(await boundaryOf(name)).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: BOUNDARY,
    });
    await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: name, PermissionsBoundary: OTHER }));
    expect((await boundaryOf(name))?.PermissionsBoundaryArn).toBe(OTHER);
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: name }));
    expect(await boundaryOf(name)).toBeUndefined();
    expect(proxy.actions).toContain('iam:PutUserPermissionsBoundary');
  });

  it('forgets it with the user, and answers NoSuchEntity for a user that does not exist', async () => {
    const name = `u-${randomUUID().slice(0, 8)}`;
    await iam.send(new CreateUserCommand({ UserName: name, PermissionsBoundary: BOUNDARY }));
    await iam.send(new DeleteUserCommand({ UserName: name }));
    await iam.send(new CreateUserCommand({ UserName: name }));
    expect(await boundaryOf(name)).toBeUndefined();
    await iam.send(new DeleteUserCommand({ UserName: name }));
    await expect(
      iam.send(new PutUserPermissionsBoundaryCommand({ UserName: name, PermissionsBoundary: BOUNDARY })),
    ).rejects.toBeInstanceOf(NoSuchEntityException);
  });
});
