// The IAM calls the federation controller makes, as a narrow port: domain
// types in, domain types out, NoSuchEntity as undefined, every other error
// classified. One ExternalSystem counts and rate-limits them all.
import {
  AddClientIDToOpenIDConnectProviderCommand,
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  TagOpenIDConnectProviderCommand,
  TagRoleCommand,
  UntagOpenIDConnectProviderCommand,
  UntagRoleCommand,
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
   * Sets (or replaces) the role's permissions boundary. There is no way to
   * remove one: removing a boundary can raise a role's permissions, so the
   * operator's IAM policy never grants iam:DeleteRolePermissionsBoundary.
   */
  setPermissionsBoundary(name: string, arn: string): Promise<unknown> {
    return this.send('PutRolePermissionsBoundary', `role ${name}`, () =>
      this.client.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: arn })),
    );
  }

  tagRole(name: string, tags: Tags): Promise<unknown> {
    return this.send('TagRole', `role ${name}`, () =>
      this.client.send(new TagRoleCommand({ RoleName: name, Tags: fromTags(tags) })),
    );
  }

  untagRole(name: string, keys: string[]): Promise<unknown> {
    return this.send('UntagRole', `role ${name}`, () =>
      this.client.send(new UntagRoleCommand({ RoleName: name, TagKeys: keys })),
    );
  }

  async attachedPolicies(name: string): Promise<string[]> {
    const out = await this.send('ListAttachedRolePolicies', `role ${name}`, () =>
      this.client.send(new ListAttachedRolePoliciesCommand({ RoleName: name, MaxItems: 1000 })),
    );
    return (out.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? '');
  }

  attachPolicy(name: string, arn: string): Promise<unknown> {
    return this.send('AttachRolePolicy', `role ${name}`, () =>
      this.client.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn })),
    );
  }

  detachPolicy(name: string, arn: string): Promise<unknown> {
    return this.send('DetachRolePolicy', `role ${name}`, () =>
      this.client.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn })),
    );
  }

  async inlinePolicies(name: string): Promise<Record<string, string>> {
    const list = await this.send('ListRolePolicies', `role ${name}`, () =>
      this.client.send(new ListRolePoliciesCommand({ RoleName: name, MaxItems: 1000 })),
    );
    const entries = await Promise.all(
      (list.PolicyNames ?? []).map(async (policyName) => {
        const out = await this.send('GetRolePolicy', `role ${name}`, () =>
          this.client.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName })),
        );
        return [policyName, out.PolicyDocument ?? '{}'] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  putInlinePolicy(name: string, policyName: string, document: string): Promise<unknown> {
    return this.send('PutRolePolicy', `role ${name}`, () =>
      this.client.send(
        new PutRolePolicyCommand({ RoleName: name, PolicyName: policyName, PolicyDocument: document }),
      ),
    );
  }

  deleteInlinePolicy(name: string, policyName: string): Promise<unknown> {
    return this.send('DeleteRolePolicy', `role ${name}`, () =>
      this.client.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policyName })),
    );
  }

  deleteRole(name: string): Promise<void> {
    return this.remove('DeleteRole', `role ${name}`, () =>
      this.client.send(new DeleteRoleCommand({ RoleName: name })),
    );
  }
}
