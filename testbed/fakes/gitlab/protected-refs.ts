// Protected branches and tags: lib/api/protected_branches.rb,
// lib/api/protected_tags.rb, ee/lib/api/group_protected_branches.rb, their
// entities (ProtectedBranch and ProtectedRefAccess with EE's additions,
// ProtectedTag) and ProtectedBranchesFinder's `search`. Lists and creation only;
// single reads, updates and deletes are not served.
import { ApiError, conflict, declare, forbidden, type Params, paginate, type Reply } from './http.ts';
import {
  ACCESS_LEVEL,
  type AccessLevelRecord,
  type FakeState,
  type Namespace,
  PROTECTED_ACCESS_LEVELS,
  type Project,
  type ProtectBranchOptions,
  type ProtectedAccessLevel,
  type ProtectedBranch,
  type ProtectedTag,
  type User,
} from './state.ts';

// ProtectedRefAccess::HUMAN_ACCESS_LEVELS
const HUMAN_ACCESS_LEVELS: Record<number, string> = {
  0: 'No one',
  30: 'Developers + Maintainers',
  40: 'Maintainers',
};

/** Entities::ProtectedRefAccess + EE (user_id, group_id); deploy_key_id only when set, so never here. */
function accessLevelEntity(a: AccessLevelRecord) {
  return {
    id: a.id,
    access_level: a.accessLevel,
    access_level_description: HUMAN_ACCESS_LEVELS[a.accessLevel],
    user_id: null,
    group_id: null,
  };
}

/** Entities::ProtectedBranch + EE: unprotect levels, code owner approval, and `inherited` (a group's rule). */
export function protectedBranchEntity(b: ProtectedBranch) {
  return {
    id: b.id,
    name: b.name,
    push_access_levels: b.pushAccessLevels.map(accessLevelEntity),
    merge_access_levels: b.mergeAccessLevels.map(accessLevelEntity),
    allow_force_push: b.allowForcePush,
    unprotect_access_levels: b.unprotectAccessLevels.map(accessLevelEntity),
    code_owner_approval_required: b.codeOwnerApprovalRequired,
    inherited: b.owner.kind === 'group',
  };
}

/** Entities::GroupProtectedBranch, as the group API's documented responses show it (no `inherited`). */
function groupProtectedBranchEntity(b: ProtectedBranch) {
  const { inherited: _, ...entity } = protectedBranchEntity(b);
  return entity;
}

/** Entities::ProtectedTag: no id of its own. */
export function protectedTagEntity(t: ProtectedTag) {
  return { name: t.name, create_access_levels: t.createAccessLevels.map(accessLevelEntity) };
}

/**
 * ProjectPolicy :read_code (enabled by :download_code): Reporter and above,
 * or anyone who may see a public project, or any signed-in user for an
 * internal one (the :public_access rules).
 */
export function canReadCode(state: FakeState, user: User | null, project: Project): boolean {
  if (user?.admin || state.projectAccess(user, project) >= ACCESS_LEVEL.reporter) return true;
  return project.visibility === 'public' || (project.visibility === 'internal' && user !== null);
}

const canMaintain = (state: FakeState, user: User | null, project: Project) =>
  Boolean(user && (user.admin || state.projectAccess(user, project) >= ACCESS_LEVEL.maintainer));

/**
 * ProtectedBranch.by_name with Gitlab::SQL::Pattern#fuzzy_arel_match: every
 * word of 3 or more characters must occur in the name (ILIKE %word%); a
 * query without such words must equal the name, case aside.
 */
function bySearch(branches: ProtectedBranch[], search: unknown): ProtectedBranch[] {
  if (typeof search !== 'string' || search.trim() === '') return branches;
  const query = search.trim().replace(/\s+/g, ' ').toLowerCase();
  const words = query.split(' ').filter((w) => w.length >= 3);
  return branches.filter((b) => {
    const name = b.name.toLowerCase();
    return words.length ? words.every((w) => name.includes(w)) : name === query;
  });
}

const LEVEL = { type: 'integer', values: PROTECTED_ACCESS_LEVELS } as const;

/** The parameters `POST /projects/:id/protected_branches` declares (Grape validates them before anything else). */
export function declareProtectBranch(params: Params): Params {
  return declare(params, {
    name: { type: 'string', required: true },
    push_access_level: LEVEL,
    merge_access_level: LEVEL,
    unprotect_access_level: LEVEL,
    allow_force_push: { type: 'boolean' },
    code_owner_approval_required: { type: 'boolean' },
  });
}

/** `GET /projects/:id/protected_branches` (authorize_read_code!): its own and its top-level group's rules. */
export function listProjectProtectedBranches(
  state: FakeState,
  user: User | null,
  project: Project,
  params: Params,
  requestUrl: URL,
  premium: boolean,
): Reply {
  if (!canReadCode(state, user, project)) throw forbidden();
  const { search } = declare(params, { search: { type: 'string' } });
  const branches = bySearch(state.protectedBranches(project.id, { inherited: premium }), search);
  const { page, headers } = paginate(branches, params, requestUrl);
  return { status: 200, body: page.map(protectedBranchEntity), headers };
}

/** `POST /projects/:id/protected_branches` (authorize_create_protected_branch!: Maintainer). */
export function createProjectProtectedBranch(
  state: FakeState,
  user: User | null,
  project: Project,
  input: Params,
): Reply {
  if (!canMaintain(state, user, project)) throw forbidden();
  const name = String(input.name);
  if (state.protectedBranches(project.id, { inherited: false }).some((b) => b.name === name))
    throw conflict(`Protected branch '${name}' already exists`);
  const branch = state.protectBranch(project.id, name, branchOptions(input));
  return { status: 201, body: protectedBranchEntity(branch) };
}

/** `GET /projects/:id/protected_tags` (authorize! :read_protected_tags: Maintainer, via :manage_protected_tags). */
export function listProjectProtectedTags(
  state: FakeState,
  user: User | null,
  project: Project,
  params: Params,
  requestUrl: URL,
): Reply {
  if (!canMaintain(state, user, project)) throw forbidden();
  const { page, headers } = paginate(state.protectedTags(project.id), params, requestUrl);
  return { status: 200, body: page.map(protectedTagEntity), headers };
}

export function declareProtectTag(params: Params): Params {
  return declare(params, { name: { type: 'string', required: true }, create_access_level: LEVEL });
}

/**
 * `POST /projects/:id/protected_tags` (:create_protected_tags: Maintainer). No
 * conflict check: a repeated name fails ProtectedTag's uniqueness validation,
 * rendered as 422 with the model's full messages.
 */
export function createProjectProtectedTag(
  state: FakeState,
  user: User | null,
  project: Project,
  input: Params,
): Reply {
  if (!canMaintain(state, user, project)) throw forbidden();
  const name = String(input.name);
  if (state.protectedTags(project.id).some((t) => t.name === name))
    throw new ApiError(422, { message: ['Name has already been taken'] });
  const tag = state.protectTag(project.id, name, {
    createAccessLevel: input.create_access_level as ProtectedAccessLevel | undefined,
  });
  return { status: 201, body: protectedTagEntity(tag) };
}

/** `before { authorize_admin_group }` of the group API: Owner, on the reads too. */
export function authorizeGroupProtectedBranches(state: FakeState, user: User | null, group: Namespace): void {
  if (!user || !(user.admin || state.groupAccess(user, group) >= ACCESS_LEVEL.owner)) throw forbidden();
}

/** `GET /groups/:id/protected_branches`. */
export function listGroupProtectedBranches(
  state: FakeState,
  group: Namespace,
  params: Params,
  requestUrl: URL,
): Reply {
  const { search } = declare(params, { search: { type: 'string' } });
  const branches = bySearch(state.protectedBranches({ group: group.id }), search);
  const { page, headers } = paginate(branches, params, requestUrl);
  return { status: 200, body: page.map(groupProtectedBranchEntity), headers };
}

/** `POST /groups/:id/protected_branches`: only top-level groups may hold rules (ProtectedBranch#validate_not_subgroup). */
export function createGroupProtectedBranch(state: FakeState, group: Namespace, input: Params): Reply {
  const name = String(input.name);
  if (state.protectedBranches({ group: group.id }).some((b) => b.name === name))
    throw conflict(`Protected branch '${name}' already exists`);
  if (group.parentId !== null) throw new ApiError(422, { message: ['cannot be associated with a subgroup'] });
  const branch = state.protectBranch({ group: group.id }, name, branchOptions(input));
  return { status: 201, body: groupProtectedBranchEntity(branch) };
}

function branchOptions(input: Params): ProtectBranchOptions {
  return {
    pushAccessLevel: input.push_access_level as ProtectedAccessLevel | undefined,
    mergeAccessLevel: input.merge_access_level as ProtectedAccessLevel | undefined,
    unprotectAccessLevel: input.unprotect_access_level as ProtectedAccessLevel | undefined,
    allowForcePush: input.allow_force_push as boolean | undefined,
    codeOwnerApprovalRequired: input.code_owner_approval_required as boolean | undefined,
  };
}
