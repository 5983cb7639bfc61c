// The IAM calls the federation controller makes, as a narrow port: domain
// types in, domain types out, NoSuchEntity as undefined, every other error
// classified. One ExternalSystem counts and rate-limits them all.
import {
  AddClientIDToOpenIDConnectProviderCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  TagOpenIDConnectProviderCommand,
  TagRoleCommand,
  TagUserCommand,
  UntagOpenIDConnectProviderCommand,
  UntagRoleCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateOpenIDConnectProviderThumbprintCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import type { ExternalSystem } from '../../runtime/transport/external.ts';
import { classifyAwsError, isAwsError, outcomeOfAwsError } from './errors.ts';
import { fromTags, type Tags, toTags } from './tags.ts';

export type { Tags };

export interface OidcProvider {
  arn: string;
  /** Without https://, as IAM keeps it. */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags: Tags;
}

export interface Role {
  arn: string;
  name: string;
  path: string;
  trustPolicy: string;
  description: string;
  maxSessionDuration: number;
  permissionsBoundaryArn?: string;
  tags: Tags;
}

export interface User {
  arn: string;
  name: string;
  path: string;
  permissionsBoundaryArn?: string;
  tags: Tags;
}

export interface AccessKey {
  id: string;
  active: boolean;
  createdAt: Date;
}

/** A role or a user: what policies, tags and a boundary are attached to. */
export interface PrincipalRef {
  kind: 'role' | 'user';
  name: string;
}

const KIND = { role: 'Role', user: 'User' } as const;
const describe = (p: PrincipalRef) => `${p.kind} ${p.name}`;

export class IamPort {
  private readonly client: IAMClient;
  private readonly system: ExternalSystem;

  constructor(client: IAMClient, system: ExternalSystem) {
    this.client = client;
    this.system = system;
  }

  private async send<T>(operation: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.system.call(operation, fn, outcomeOfAwsError);
    } catch (err) {
      throw classifyAwsError(err, `iam:${operation}`, what);
    }
  }

  /** Like send, for reads: NoSuchEntity is undefined. */
  private async read<T>(operation: string, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.system.call(operation, fn, outcomeOfAwsError);
    } catch (err) {
      if (isAwsError(err, 'NoSuchEntity')) return undefined;
      throw classifyAwsError(err, `iam:${operation}`, what);
    }
  }

  /** Like send, for deletes: already gone is done. */
  private async remove(operation: string, what: string, fn: () => Promise<unknown>): Promise<void> {
    await this.read(operation, what, fn);
  }

  /** The provider for this URL (no scheme), if the account has one. */
  async findOidcProvider(url: string): Promise<OidcProvider | undefined> {
    const list = await this.send('ListOpenIDConnectProviders', 'OIDC providers', () =>
      this.client.send(new ListOpenIDConnectProvidersCommand({})),
    );
    const arn = list.OpenIDConnectProviderList?.map((p) => p.Arn ?? '').find((a) =>
      a.endsWith(`:oidc-provider/${url}`),
    );
    return arn ? this.getOidcProvider(arn) : undefined;
  }

  async getOidcProvider(arn: string): Promise<OidcProvider | undefined> {
    const out = await this.read('GetOpenIDConnectProvider', arn, () =>
      this.client.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
    );
    if (!out) return undefined;
    return {
      arn,
      url: (out.Url ?? '').replace(/^https:\/\//, ''),
      clientIds: out.ClientIDList ?? [],
      thumbprints: out.ThumbprintList ?? [],
      tags: toTags(out.Tags),
    };
  }

  /** The new provider's ARN; undefined when one for this URL exists already (someone was faster). */
  async createOidcProvider(input: {
    url: string;
    clientIds: string[];
    thumbprints: string[];
    tags: Tags;
  }): Promise<string | undefined> {
    const what = `OIDC provider https://${input.url}`;
    try {
      const out = await this.system.call(
        'CreateOpenIDConnectProvider',
        () =>
          this.client.send(
            new CreateOpenIDConnectProviderCommand({
              Url: `https://${input.url}`,
              ClientIDList: input.clientIds,
              ...(input.thumbprints.length ? { ThumbprintList: input.thumbprints } : {}),
              Tags: fromTags(input.tags),
            }),
          ),
        outcomeOfAwsError,
      );
      return out.OpenIDConnectProviderArn ?? '';
    } catch (err) {
      if (isAwsError(err, 'EntityAlreadyExists')) return undefined;
      throw classifyAwsError(err, 'iam:CreateOpenIDConnectProvider', what);
    }
  }

  addClientId(arn: string, clientId: string): Promise<unknown> {
    return this.send('AddClientIDToOpenIDConnectProvider', arn, () =>
      this.client.send(
        new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: clientId }),
      ),
    );
  }

  removeClientId(arn: string, clientId: string): Promise<unknown> {
    return this.send('RemoveClientIDFromOpenIDConnectProvider', arn, () =>
      this.client.send(
        new RemoveClientIDFromOpenIDConnectProviderCommand({
          OpenIDConnectProviderArn: arn,
          ClientID: clientId,
        }),
      ),
    );
  }

  updateThumbprints(arn: string, thumbprints: string[]): Promise<unknown> {
    return this.send('UpdateOpenIDConnectProviderThumbprint', arn, () =>
      this.client.send(
        new UpdateOpenIDConnectProviderThumbprintCommand({
          OpenIDConnectProviderArn: arn,
          ThumbprintList: thumbprints,
        }),
      ),
    );
  }

  tagOidcProvider(arn: string, tags: Tags): Promise<unknown> {
    return this.send('TagOpenIDConnectProvider', arn, () =>
      this.client.send(
        new TagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, Tags: fromTags(tags) }),
      ),
    );
  }

  untagOidcProvider(arn: string, keys: string[]): Promise<unknown> {
    return this.send('UntagOpenIDConnectProvider', arn, () =>
      this.client.send(
        new UntagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, TagKeys: keys }),
      ),
    );
  }

  deleteOidcProvider(arn: string): Promise<void> {
    return this.remove('DeleteOpenIDConnectProvider', arn, () =>
      this.client.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
    );
  }

  async getRole(name: string): Promise<Role | undefined> {
    const out = await this.read('GetRole', `role ${name}`, () =>
      this.client.send(new GetRoleCommand({ RoleName: name })),
    );
    const r = out?.Role;
    if (!r) return undefined;
    return {
      arn: r.Arn ?? '',
      name: r.RoleName ?? name,
      path: r.Path ?? '/',
      trustPolicy: r.AssumeRolePolicyDocument ?? '{}',
      description: r.Description ?? '',
      maxSessionDuration: r.MaxSessionDuration ?? 3600,
      permissionsBoundaryArn: r.PermissionsBoundary?.PermissionsBoundaryArn,
      tags: toTags(r.Tags),
    };
  }

  async createRole(input: Omit<Role, 'arn'>): Promise<string> {
    const out = await this.send('CreateRole', `role ${input.name}`, () =>
      this.client.send(
        new CreateRoleCommand({
          RoleName: input.name,
          Path: input.path,
          AssumeRolePolicyDocument: input.trustPolicy,
          Description: input.description,
          MaxSessionDuration: input.maxSessionDuration,
          ...(input.permissionsBoundaryArn ? { PermissionsBoundary: input.permissionsBoundaryArn } : {}),
          Tags: fromTags(input.tags),
        }),
      ),
    );
    return out.Role?.Arn ?? '';
  }

  updateTrustPolicy(name: string, document: string): Promise<unknown> {
    return this.send('UpdateAssumeRolePolicy', `role ${name}`, () =>
      this.client.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: document })),
    );
  }

  updateRole(name: string, description: string, maxSessionDuration: number): Promise<unknown> {
    return this.send('UpdateRole', `role ${name}`, () =>
      this.client.send(
        new UpdateRoleCommand({
          RoleName: name,
          Description: description,
          MaxSessionDuration: maxSessionDuration,
        }),
      ),
    );
  }

  /**
   * Sets (or replaces) the permissions boundary of a role or user. There is no
   * way to remove one: removing a boundary can raise a principal's permissions,
   * so the operator's IAM policy never grants iam:Delete*PermissionsBoundary.
   */
  setPermissionsBoundary(p: PrincipalRef, arn: string): Promise<unknown> {
    return this.send(`Put${KIND[p.kind]}PermissionsBoundary`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(
            new PutRolePermissionsBoundaryCommand({ RoleName: p.name, PermissionsBoundary: arn }),
          )
        : this.client.send(
            new PutUserPermissionsBoundaryCommand({ UserName: p.name, PermissionsBoundary: arn }),
          ),
    );
  }

  tag(p: PrincipalRef, tags: Tags): Promise<unknown> {
    return this.send(`Tag${KIND[p.kind]}`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new TagRoleCommand({ RoleName: p.name, Tags: fromTags(tags) }))
        : this.client.send(new TagUserCommand({ UserName: p.name, Tags: fromTags(tags) })),
    );
  }

  untag(p: PrincipalRef, keys: string[]): Promise<unknown> {
    return this.send(`Untag${KIND[p.kind]}`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new UntagRoleCommand({ RoleName: p.name, TagKeys: keys }))
        : this.client.send(new UntagUserCommand({ UserName: p.name, TagKeys: keys })),
    );
  }

  async attachedPolicies(p: PrincipalRef): Promise<string[]> {
    const out = await this.send(`ListAttached${KIND[p.kind]}Policies`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new ListAttachedRolePoliciesCommand({ RoleName: p.name, MaxItems: 1000 }))
        : this.client.send(new ListAttachedUserPoliciesCommand({ UserName: p.name, MaxItems: 1000 })),
    );
    return (out.AttachedPolicies ?? []).map((a) => a.PolicyArn ?? '');
  }

  attachPolicy(p: PrincipalRef, arn: string): Promise<unknown> {
    return this.send(`Attach${KIND[p.kind]}Policy`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new AttachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
        : this.client.send(new AttachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })),
    );
  }

  detachPolicy(p: PrincipalRef, arn: string): Promise<unknown> {
    return this.send(`Detach${KIND[p.kind]}Policy`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new DetachRolePolicyCommand({ RoleName: p.name, PolicyArn: arn }))
        : this.client.send(new DetachUserPolicyCommand({ UserName: p.name, PolicyArn: arn })),
    );
  }

  /** The names of the inline policies. */
  async inlinePolicyNames(p: PrincipalRef): Promise<string[]> {
    const list = await this.send(`List${KIND[p.kind]}Policies`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new ListRolePoliciesCommand({ RoleName: p.name, MaxItems: 1000 }))
        : this.client.send(new ListUserPoliciesCommand({ UserName: p.name, MaxItems: 1000 })),
    );
    return list.PolicyNames ?? [];
  }

  /** The inline policies by name, each document as IAM returns it (URL-encoded JSON). */
  async inlinePolicies(p: PrincipalRef): Promise<Record<string, string>> {
    const entries = await Promise.all(
      (await this.inlinePolicyNames(p)).map(async (policyName) => {
        const out = await this.send<{ PolicyDocument?: string }>(
          `Get${KIND[p.kind]}Policy`,
          describe(p),
          () =>
            p.kind === 'role'
              ? this.client.send(new GetRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }))
              : this.client.send(new GetUserPolicyCommand({ UserName: p.name, PolicyName: policyName })),
        );
        return [policyName, out.PolicyDocument ?? '{}'] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  putInlinePolicy(p: PrincipalRef, policyName: string, document: string): Promise<unknown> {
    return this.send(`Put${KIND[p.kind]}Policy`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(
            new PutRolePolicyCommand({ RoleName: p.name, PolicyName: policyName, PolicyDocument: document }),
          )
        : this.client.send(
            new PutUserPolicyCommand({ UserName: p.name, PolicyName: policyName, PolicyDocument: document }),
          ),
    );
  }

  deleteInlinePolicy(p: PrincipalRef, policyName: string): Promise<unknown> {
    return this.send(`Delete${KIND[p.kind]}Policy`, describe(p), () =>
      p.kind === 'role'
        ? this.client.send(new DeleteRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }))
        : this.client.send(new DeleteUserPolicyCommand({ UserName: p.name, PolicyName: policyName })),
    );
  }

  deleteRole(name: string): Promise<void> {
    return this.remove('DeleteRole', `role ${name}`, () =>
      this.client.send(new DeleteRoleCommand({ RoleName: name })),
    );
  }
  async getUser(name: string): Promise<User | undefined> {
    const out = await this.read('GetUser', `user ${name}`, () =>
      this.client.send(new GetUserCommand({ UserName: name })),
    );
    const u = out?.User;
    if (!u) return undefined;
    return {
      arn: u.Arn ?? '',
      name: u.UserName ?? name,
      path: u.Path ?? '/',
      permissionsBoundaryArn: u.PermissionsBoundary?.PermissionsBoundaryArn,
      tags: toTags(u.Tags),
    };
  }

  async createUser(input: Omit<User, 'arn'>): Promise<string> {
    const out = await this.send('CreateUser', `user ${input.name}`, () =>
      this.client.send(
        new CreateUserCommand({
          UserName: input.name,
          Path: input.path,
          ...(input.permissionsBoundaryArn ? { PermissionsBoundary: input.permissionsBoundaryArn } : {}),
          Tags: fromTags(input.tags),
        }),
      ),
    );
    return out.User?.Arn ?? '';
  }

  deleteUser(name: string): Promise<void> {
    return this.remove('DeleteUser', `user ${name}`, () =>
      this.client.send(new DeleteUserCommand({ UserName: name })),
    );
  }

  /** The user's access keys (IDs, status and age; IAM never returns a secret again). */
  async accessKeys(user: string): Promise<AccessKey[]> {
    const out = await this.send('ListAccessKeys', `the access keys of user ${user}`, () =>
      this.client.send(new ListAccessKeysCommand({ UserName: user })),
    );
    return (out.AccessKeyMetadata ?? []).map((k) => ({
      id: k.AccessKeyId ?? '',
      active: k.Status === 'Active',
      createdAt: k.CreateDate ?? new Date(0),
    }));
  }

  /**
   * A new access key. The secret is handed to `use` and to nothing else: it is
   * not returned, kept or logged, so it is unreachable once `use` settles.
   */
  async createAccessKey<T>(user: string, use: (key: AccessKey, secret: string) => Promise<T>): Promise<T> {
    const out = await this.send('CreateAccessKey', `an access key of user ${user}`, () =>
      this.client.send(new CreateAccessKeyCommand({ UserName: user })),
    );
    const k = out.AccessKey;
    const key: AccessKey = { id: k?.AccessKeyId ?? '', active: true, createdAt: k?.CreateDate ?? new Date() };
    const secret = k?.SecretAccessKey ?? '';
    if (k) k.SecretAccessKey = undefined;
    return use(key, secret);
  }

  deactivateAccessKey(user: string, id: string): Promise<unknown> {
    return this.send('UpdateAccessKey', `access key ${id} of user ${user}`, () =>
      this.client.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: id, Status: 'Inactive' })),
    );
  }

  deleteAccessKey(user: string, id: string): Promise<void> {
    return this.remove('DeleteAccessKey', `access key ${id} of user ${user}`, () =>
      this.client.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id })),
    );
  }

  /** When the key was last used, and for what; undefined when never. */
  async accessKeyLastUsed(id: string): Promise<{ at: Date; service: string; region: string } | undefined> {
    const out = await this.send('GetAccessKeyLastUsed', `access key ${id}`, () =>
      this.client.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id })),
    );
    const u = out.AccessKeyLastUsed;
    return u?.LastUsedDate
      ? { at: u.LastUsedDate, service: u.ServiceName ?? 'N/A', region: u.Region ?? 'N/A' }
      : undefined;
  }
}
