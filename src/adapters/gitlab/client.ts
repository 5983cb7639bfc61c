// The GitLab calls the operator makes, through @gitbeaker/rest, as a narrow
// port with domain types. Every call goes through the client's own keep-alive
// agent, with the private CA (spec.gitlab.caSecretRef) if there is one, under
// the egress policy the caller decided for this URL; a Retry-After pauses the
// calls of this token only.
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { Gitlab } from '@gitbeaker/rest';
import type { EgressPolicy } from '../../runtime/transport/egress.ts';
import type { ExternalSystem, PauseGate } from '../../runtime/transport/external.ts';
import { proxyAgentOptions } from '../../runtime/transport/proxy.ts';
import { classifyGitLabError, outcomeOfGitLabError } from './errors.ts';
import { callBudget, gitlabRequester } from './requester.ts';

/** Pages of 100 read at most by one list: GitLab's largest plan limit is 30,000 variables in a group. */
const MAX_PAGES = 300;

export interface Target {
  kind: 'project' | 'group';
  path: string;
}

export interface Variable {
  key: string;
  value?: string | null;
  environmentScope: string;
  protected: boolean;
  masked: boolean;
  hidden?: boolean;
  raw?: boolean;
  description?: string | null;
  variableType?: string;
}

export interface Project {
  id: number;
  /** As GitLab spells it (path_with_namespace), whatever the case it was asked for. */
  path: string;
  subClaimComponents: string[];
}

export interface Group {
  id: number;
  /** As GitLab spells it (full_path). */
  path: string;
}

export function describeTarget(target: Target): string {
  return `${target.kind} ${target.path}`;
}

type RawVariable = Record<string, unknown>;
const toVariable = (v: RawVariable): Variable => ({
  key: String(v.key),
  value: (v.value as string | null | undefined) ?? null,
  environmentScope: String(v.environment_scope ?? '*'),
  protected: Boolean(v.protected),
  masked: Boolean(v.masked),
  hidden: Boolean(v.hidden),
  raw: Boolean(v.raw),
  description: (v.description as string | null | undefined) ?? null,
  variableType: String(v.variable_type ?? 'env_var'),
});

export class GitLabPort {
  // biome-ignore lint/suspicious/noExplicitAny: gitbeaker's resource types are too deep to spell here
  private readonly api: any;
  private readonly system: ExternalSystem;
  private readonly gate: PauseGate;

  /**
   * `egress`: where the connections may go (loopback and private addresses
   * only when the caller allows them for this URL); the agent, and so its
   * pooled connections, belong to this client alone.
   */
  constructor(options: {
    url: string;
    token: string;
    caPem?: string;
    system: ExternalSystem;
    egress: EgressPolicy;
  }) {
    this.system = options.system;
    // The pause is per instance (the system) and token, keyed by a hash: never the token itself.
    this.gate = options.system.gateFor(
      `token:${createHash('sha256').update(options.token).digest('hex')}`,
      'GitLab asked the requests of this token to wait',
    );
    this.api = new Gitlab({
      host: options.url,
      token: options.token,
      requesterFn: gitlabRequester(
        new Agent({
          keepAlive: true,
          ...(options.caPem ? { ca: options.caPem } : {}),
          ...proxyAgentOptions(),
        }),
        this.gate,
        options.egress,
      ),
    } as never);
  }

  private async call<T>(operation: string, what: string, need: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.system.call(
        operation,
        () => callBudget.run({ requests: 0 }, fn),
        outcomeOfGitLabError,
        this.gate,
      );
    } catch (err) {
      throw classifyGitLabError(err, operation.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(), what, need);
    }
  }

  async project(path: string): Promise<Project> {
    const p = await this.call<RawVariable>('GetProject', `project ${path}`, 'Reporter', () =>
      this.api.Projects.show(path),
    );
    return {
      id: Number(p.id),
      path: String(p.path_with_namespace ?? path),
      subClaimComponents: (p.ci_id_token_sub_claim_components as string[] | undefined) ?? [
        'project_path',
        'ref_type',
        'ref',
      ],
    };
  }

  async group(path: string): Promise<Group> {
    const g = await this.call<RawVariable>('GetGroup', `group ${path}`, 'Reporter', () =>
      this.api.Groups.show(path),
    );
    return { id: Number(g.id), path: String(g.full_path ?? path) };
  }

  /** The names (exact or * wildcards) of the project's protected branches. */
  async protectedBranches(projectId: number, path: string): Promise<string[]> {
    const list = await this.call(
      'ListProtectedBranches',
      `the protected branches of project ${path}`,
      'Maintainer',
      () => this.api.ProtectedBranches.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
    );
    return (list as RawVariable[]).map((b) => String(b.name));
  }

  /** The names (exact or * wildcards) of the project's protected tags. */
  async protectedTags(projectId: number, path: string): Promise<string[]> {
    const list = await this.call(
      'ListProtectedTags',
      `the protected tags of project ${path}`,
      'Maintainer',
      () => this.api.ProtectedTags.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
    );
    return (list as RawVariable[]).map((t) => String(t.name));
  }

  private resource(target: Target) {
    return target.kind === 'project' ? this.api.ProjectVariables : this.api.GroupVariables;
  }

  private need(target: Target): string {
    return target.kind === 'project' ? 'Maintainer' : 'Owner';
  }

  async variables(target: Target): Promise<Variable[]> {
    const list = await this.call('ListVariables', describeTarget(target), this.need(target), () =>
      this.resource(target).all(target.path, { perPage: 100, maxPages: MAX_PAGES }),
    );
    return (list as RawVariable[]).map(toVariable);
  }

  async createVariable(target: Target, v: Variable & { value: string }): Promise<void> {
    await this.call(
      'CreateVariable',
      `variable ${v.key} in ${describeTarget(target)}`,
      this.need(target),
      () =>
        this.resource(target).create(target.path, v.key, v.value, {
          environmentScope: v.environmentScope,
          protected: v.protected,
          masked: v.masked,
          raw: v.raw ?? true,
          description: v.description ?? undefined,
          variableType: 'env_var',
          // Hidden: never shown again in the UI or the API. Only a new variable can be made hidden.
          ...(v.hidden ? { maskedAndHidden: true } : {}),
        }),
    );
  }

  async updateVariable(target: Target, v: Variable & { value: string }): Promise<void> {
    await this.call(
      'UpdateVariable',
      `variable ${v.key} in ${describeTarget(target)}`,
      this.need(target),
      () =>
        this.resource(target).edit(target.path, v.key, v.value, {
          environmentScope: v.environmentScope,
          protected: v.protected,
          masked: v.masked,
          raw: v.raw ?? true,
          description: v.description ?? undefined,
          filter: { environment_scope: v.environmentScope },
        }),
    );
  }

  async deleteVariable(target: Target, key: string, environmentScope: string): Promise<void> {
    try {
      await this.call(
        'DeleteVariable',
        `variable ${key} in ${describeTarget(target)}`,
        this.need(target),
        () =>
          this.resource(target).remove(target.path, key, { filter: { environment_scope: environmentScope } }),
      );
    } catch (err) {
      // Already gone is what we wanted.
      if ((err as { reason?: string }).reason !== 'GitLabNotFound') throw err;
    }
  }
}
