// The REST API below `/api/v4`: which endpoint a request reaches, and the order
// GitLab checks things in (authenticate, find the project/group, authorize,
// validate parameters, act; some endpoints validate first).
import { authenticate } from './auth.ts';
import { ApiError, forbidden, type Params, type Reply, unauthorized } from './http.ts';
import {
  findGroup,
  findProject,
  groupEntity,
  projectEntity,
  tokenEntity,
  updateProject,
  userEntity,
} from './projects.ts';
import {
  authorizeGroupProtectedBranches,
  createGroupProtectedBranch,
  createProjectProtectedBranch,
  createProjectProtectedTag,
  declareProtectBranch,
  declareProtectTag,
  listGroupProtectedBranches,
  listProjectProtectedBranches,
  listProjectProtectedTags,
} from './protected-refs.ts';
import { ACCESS_LEVEL, type FakeState, type User } from './state.ts';
import {
  createVariable,
  deleteVariable,
  listVariables,
  type OwnerKind,
  showVariable,
  updateVariable,
  type VariableScope,
} from './variables.ts';

export interface ApiRequest {
  state: FakeState;
  method: string;
  /** Path segments after `/api/v4`, each URL-decoded once (so `g%2Fp` is one segment `g/p`). */
  segments: string[];
  /** Query parameters, or query merged with the body for POST/PUT/PATCH/DELETE (body wins, as in Rack). */
  params: Params;
  token: string | undefined;
  baseUrl: string;
  requestUrl: URL;
  premium: boolean;
}

// Grape's catch-all (lib/api/api.rb: `route :any, '*path'`).
const noRoute = () => new ApiError(404, { error: '404 Not Found' });
const notAllowed = () => new ApiError(405, { error: '405 Not Allowed' });

export function routeApi(req: ApiRequest): Reply {
  const { state, method, segments, baseUrl } = req;
  const [resource, id, sub, key, ...rest] = segments;
  const container = resource === 'projects' || resource === 'groups';
  // Protected tags exist for projects only; group protected branches are an EE
  // (Premium) endpoint, absent from Free.
  const protectedRefs =
    key === undefined &&
    ((resource === 'projects' && (sub === 'protected_branches' || sub === 'protected_tags')) ||
      (resource === 'groups' && sub === 'protected_branches' && req.premium));
  const known =
    !rest.length &&
    ((resource === 'user' && !id) ||
      (resource === 'personal_access_tokens' && id === 'self' && !sub) ||
      (container &&
        id &&
        (!sub || (sub === 'variables' && (key === undefined || key !== '')) || protectedRefs)));
  if (!known) throw noRoute();
  // current_user is evaluated by every endpoint (not by the catch-all), so a bad
  // token fails even where anonymous access would work.
  const { user, token } = authenticate(state, method, req.token);
  if (resource === 'user') {
    if (method !== 'GET') throw notAllowed();
    return { status: 200, body: userEntity(baseUrl, requireUser(user)) };
  }
  if (resource === 'personal_access_tokens') {
    if (method !== 'GET') throw notAllowed();
    requireUser(user);
    return { status: 200, body: tokenEntity(token!) };
  }
  if (!sub) return showOrUpdate(req, resource!, id!, user);
  if (sub === 'variables')
    return variables(req, resource === 'projects' ? 'project' : 'group', id!, key, user);
  return resource === 'projects'
    ? projectProtectedRefs(req, sub!, id!, user)
    : groupProtectedBranches(req, id!, user);
}

/**
 * Project protected branches and tags. Their endpoints authorize inside the
 * endpoint, so Grape's parameter validation (400) comes first, then the
 * project lookup (404), then the role (403).
 */
function projectProtectedRefs(req: ApiRequest, sub: string, id: string, user: User | null): Reply {
  const { state, method, params, requestUrl } = req;
  const branches = sub === 'protected_branches';
  if (method === 'GET') {
    const project = findProject(state, user, id);
    return branches
      ? listProjectProtectedBranches(state, user, project, { ...params, id }, requestUrl, req.premium)
      : listProjectProtectedTags(state, user, project, { ...params, id }, requestUrl);
  }
  if (method !== 'POST') throw notAllowed();
  const input = branches ? declareProtectBranch(params) : declareProtectTag(params);
  const project = findProject(state, requireUser(user), id);
  return branches
    ? createProjectProtectedBranch(state, user, project, input)
    : createProjectProtectedTag(state, user, project, input);
}

/** Group protected branches: `before { authorize_admin_group }` runs before the parameters are validated. */
function groupProtectedBranches(req: ApiRequest, id: string, user: User | null): Reply {
  const { state, method, params, requestUrl } = req;
  if (method !== 'GET' && method !== 'POST') throw notAllowed();
  const group = findGroup(state, user, id);
  authorizeGroupProtectedBranches(state, user, group);
  if (method === 'GET') return listGroupProtectedBranches(state, group, { ...params, id }, requestUrl);
  return createGroupProtectedBranch(state, group, declareProtectBranch(params));
}

function requireUser(user: User | null): User {
  if (!user) throw unauthorized(); // authenticate!
  return user;
}

function showOrUpdate(req: ApiRequest, resource: string, id: string, user: User | null): Reply {
  const { state, method, baseUrl } = req;
  if (resource === 'groups') {
    if (method !== 'GET') throw notAllowed();
    return { status: 200, body: groupEntity(baseUrl, findGroup(state, user, id)) };
  }
  if (method === 'GET')
    return { status: 200, body: projectEntity(state, baseUrl, findProject(state, user, id), user) };
  if (method === 'PUT') {
    const project = findProject(state, requireUser(user), id);
    return {
      status: 200,
      body: projectEntity(state, baseUrl, updateProject(state, user, project, req.params), user),
    };
  }
  throw notAllowed();
}

/**
 * `before { authenticate! }` and `before { authorize! :admin_cicd_variables, ... }`:
 * Maintainer for project variables, Owner for group variables, on every
 * variables endpoint including the reads.
 */
function variables(
  req: ApiRequest,
  kind: OwnerKind,
  id: string,
  key: string | undefined,
  u: User | null,
): Reply {
  const { state, method, params } = req;
  const user = requireUser(u);
  let scope: VariableScope;
  if (kind === 'project') {
    const project = findProject(state, user, id);
    if (!user.admin && state.projectAccess(user, project) < ACCESS_LEVEL.maintainer) throw forbidden();
    scope = { state, owner: { kind, id: project.id }, premium: req.premium };
  } else {
    const group = findGroup(state, user, id);
    if (!user.admin && state.groupAccess(user, group) < ACCESS_LEVEL.owner) throw forbidden();
    scope = { state, owner: { kind, id: group.id }, premium: req.premium };
  }
  if (key === undefined) {
    if (method === 'GET') return listVariables(scope, { ...params, id }, req.requestUrl);
    if (method === 'POST') return createVariable(scope, params);
    throw notAllowed();
  }
  if (method === 'GET') return showVariable(scope, key, params);
  if (method === 'PUT') return updateVariable(scope, key, params);
  if (method === 'DELETE') return deleteVariable(scope, key, params);
  throw notAllowed();
}
