// Projects, groups and the caller's own user and token: lookups by numeric id
// or full path (lib/api/helpers.rb find_project!/find_group!), the entities
// GitLab presents, and `PUT /projects/:id` for `ci_id_token_sub_claim_components`.
import { declare, forbidden, invalidModel, notFound, type Params } from './http.ts';
import {
  ACCESS_LEVEL,
  type FakeState,
  type Namespace,
  type Project,
  subClaimComponentErrors,
  type Token,
  type User,
} from './state.ts';

/**
 * `find_project!`: an integer id, or a full path that contains a slash
 * (anything else finds nothing). Projects the user cannot read are 404, not 403.
 */
export function findProject(state: FakeState, user: User | null, id: string): Project {
  const project = /^-?\d+$/.test(id) || id.includes('/') ? state.project(id) : undefined;
  if (!project || !state.canReadProject(user, project)) throw notFound('Project');
  return project;
}

export function findGroup(state: FakeState, user: User | null, id: string): Namespace {
  const group = state.group(id);
  if (!group || !state.canReadGroup(user, group)) throw notFound('Group');
  return group;
}

export function projectEntity(state: FakeState, baseUrl: string, project: Project, user: User | null) {
  const ns = state.namespace(project.namespaceId)!;
  const access = (level: number) => (level ? { access_level: level, notification_level: 3 } : null);
  const groupLevel = ns.kind === 'group' ? state.groupAccess(user, ns) : 0;
  const entity: Record<string, unknown> = {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${nameChain(state, ns)} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.fullPath,
    created_at: project.createdAt,
    default_branch: project.defaultBranch,
    web_url: `${baseUrl}/${project.fullPath}`,
    visibility: project.visibility,
    namespace: namespaceEntity(baseUrl, ns),
  };
  // lib/api/entities/project.rb exposes the CI/CD settings only to users who
  // can :admin_project (Maintainer+); a Developer does not see the field at all.
  if (user && (user.admin || state.projectAccess(user, project) >= ACCESS_LEVEL.maintainer)) {
    entity.ci_id_token_sub_claim_components = [...project.ciIdTokenSubClaimComponents];
  }
  // ProjectWithAccess, which GET /projects/:id uses for signed-in users.
  if (user) {
    entity.permissions = {
      project_access: access(project.members.get(user.id) ?? 0),
      group_access: ns.kind === 'group' ? access(groupLevel) : null,
    };
  }
  return entity;
}

export function groupEntity(baseUrl: string, group: Namespace) {
  return {
    id: group.id,
    web_url: `${baseUrl}/groups/${group.fullPath}`,
    name: group.name,
    path: group.path,
    description: group.description,
    visibility: group.visibility,
    full_name: group.fullPath.split('/').join(' / '),
    full_path: group.fullPath,
    parent_id: group.parentId,
    created_at: group.createdAt,
  };
}

function namespaceEntity(baseUrl: string, ns: Namespace) {
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: ns.fullPath,
    parent_id: ns.parentId,
    avatar_url: null,
    web_url: ns.kind === 'group' ? `${baseUrl}/groups/${ns.fullPath}` : `${baseUrl}/${ns.fullPath}`,
  };
}

function nameChain(state: FakeState, ns: Namespace): string {
  return state
    .ancestors(ns)
    .reverse()
    .map((g) => g.name)
    .join(' / ');
}

/**
 * `PUT /projects/:id` (Maintainer+: authorize_admin_project). Only
 * `ci_id_token_sub_claim_components` is modelled; other attributes are accepted
 * and ignored. Validation as ProjectCiCdSetting#validate_sub_claim_components;
 * the errors surface under the association's attribute name.
 */
export function updateProject(
  state: FakeState,
  user: User | null,
  project: Project,
  params: Params,
): Project {
  if (!user || !(user.admin || state.projectAccess(user, project) >= ACCESS_LEVEL.maintainer))
    throw forbidden();
  const { ci_id_token_sub_claim_components: components } = declare(params, {
    ci_id_token_sub_claim_components: { type: 'string[]' },
  });
  if (Array.isArray(components)) {
    const errors = subClaimComponentErrors(components as string[]);
    if (errors.length) throw invalidModel({ 'ci_cd_settings.id_token_sub_claim_components': errors });
    project.ciIdTokenSubClaimComponents = [...(components as string[])];
  }
  return project;
}

/** GET /user (Entities::UserPublic, trimmed). */
export function userEntity(baseUrl: string, user: User) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${baseUrl}/${user.username}`,
    created_at: user.createdAt,
    email: user.email,
    ...(user.admin ? { is_admin: true } : {}),
  };
}

/** GET /personal_access_tokens/self (Entities::PersonalAccessToken). */
export function tokenEntity(token: Token) {
  return {
    id: token.id,
    name: token.name,
    revoked: token.revoked,
    created_at: token.createdAt,
    description: null,
    scopes: [...token.scopes],
    user_id: token.userId,
    last_used_at: null,
    active: true,
    expires_at: token.expiresAt,
  };
}
