// The GitLab fake's data: users, tokens, groups, projects, memberships, CI/CD
// variables and protected branches and tags, plus the role arithmetic GitLab's
// policies use. Tests read and plant state here directly; HTTP handlers go
// through the same methods.

export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';
export type Visibility = 'private' | 'internal' | 'public';
export type TokenScope = 'api' | 'read_api';

/** Gitlab::Access levels (lib/gitlab/access.rb). */
export const ACCESS_LEVEL: Record<Role, number> = {
  guest: 10,
  reporter: 20,
  developer: 30,
  maintainer: 40,
  owner: 50,
};

/** ProjectCiCdSetting default for `id_token_sub_claim_components`. */
export const DEFAULT_SUB_CLAIM_COMPONENTS = ['project_path', 'ref_type', 'ref'];

/** ProjectCiCdSetting::ALLOWED_SUB_CLAIM_COMPONENTS (app/models/project_ci_cd_setting.rb). */
export const ALLOWED_SUB_CLAIM_COMPONENTS = ['project_path', 'ref_type', 'ref'];

/**
 * ProjectCiCdSetting's validations of `id_token_sub_claim_components`, in the
 * order Rails runs them: at least one element, `project_path` first, every
 * element allowed (repeats are not rejected). Empty when valid.
 */
export function subClaimComponentErrors(components: string[]): string[] {
  const errors: string[] = [];
  if (components.length < 1) errors.push('is too short (minimum is 1 character)');
  if (components[0] !== 'project_path')
    errors.push('project_path must be the first element of the sub claim');
  for (const c of components) {
    if (!ALLOWED_SUB_CLAIM_COMPONENTS.includes(c)) errors.push(`${c} is not an allowed sub claim component`);
  }
  return errors;
}

/** ProtectedRefAccess levels the API accepts for roles: No one, Developers + Maintainers, Maintainers. */
export const PROTECTED_ACCESS_LEVELS = [0, 30, 40] as const;
export type ProtectedAccessLevel = (typeof PROTECTED_ACCESS_LEVELS)[number];

/**
 * RefMatcher#matches? (app/models/ref_matcher.rb): an exact, case-sensitive
 * match, or, if the pattern has a `*`, the pattern as an anchored regular
 * expression with each `*` as `.*?`. So `*` is the only wildcard, it also
 * matches `/` and the empty string, and `?`, `[` and the rest are literal.
 */
export function refMatches(pattern: string, ref: string): boolean {
  if (!pattern) return false;
  if (pattern === ref) return true;
  if (!pattern.includes('*')) return false;
  const quoted = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${quoted.join('.*?')}$`).test(ref);
}

export interface User {
  id: number;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  createdAt: string;
}

export interface Token {
  id: number;
  value: string;
  userId: number;
  name: string;
  scopes: TokenScope[];
  /** A date (YYYY-MM-DD) as GitLab stores it; the token is expired from that day on. */
  expiresAt: string | null;
  revoked: boolean;
  createdAt: string;
}

export interface Namespace {
  id: number;
  kind: 'group' | 'user';
  name: string;
  path: string;
  fullPath: string;
  parentId: number | null;
  visibility: Visibility;
  description: string;
  createdAt: string;
  /** Direct members (groups only): user id -> access level. */
  members: Map<number, number>;
  /** For a user namespace, its owner. */
  ownerId?: number;
}

export interface Project {
  id: number;
  name: string;
  path: string;
  fullPath: string;
  namespaceId: number;
  visibility: Visibility;
  description: string;
  defaultBranch: string;
  createdAt: string;
  members: Map<number, number>;
  ciIdTokenSubClaimComponents: string[];
}

/** One access level of a protected ref (role-based; user and group grants are not modelled). */
export interface AccessLevelRecord {
  id: number;
  accessLevel: ProtectedAccessLevel;
}

export interface ProtectedBranch {
  id: number;
  /** A branch name or a wildcard pattern (`release/*`). */
  name: string;
  /** A project, or (GitLab Premium, self-managed) a top-level group whose projects inherit it. */
  owner: Owner;
  pushAccessLevels: AccessLevelRecord[];
  mergeAccessLevels: AccessLevelRecord[];
  unprotectAccessLevels: AccessLevelRecord[];
  allowForcePush: boolean;
  codeOwnerApprovalRequired: boolean;
}

export interface ProtectedTag {
  id: number;
  name: string;
  projectId: number;
  createAccessLevels: AccessLevelRecord[];
}

export interface ProtectBranchOptions {
  /** Default 40 (Maintainers), as the API's. */
  pushAccessLevel?: ProtectedAccessLevel;
  mergeAccessLevel?: ProtectedAccessLevel;
  unprotectAccessLevel?: ProtectedAccessLevel;
  allowForcePush?: boolean;
  codeOwnerApprovalRequired?: boolean;
}

/** A project by full path or id, or `{ project }` / `{ group }`. */
export type ProjectOrTarget = string | number | Target;

export interface Variable {
  id: number;
  key: string;
  value: string | null;
  variable_type: 'env_var' | 'file';
  protected: boolean;
  masked: boolean;
  raw: boolean;
  hidden: boolean;
  environment_scope: string;
  description: string | null;
}

/** Where variables live: a project or a group, by full path or numeric id. */
export type Target = { project: string | number } | { group: string | number };

export type VariableInput = Partial<Omit<Variable, 'id'>> & { key: string; value: string | null };

export type Owner = { kind: 'project' | 'group'; id: number };

const today = () => new Date().toISOString().slice(0, 10);

export class FakeState {
  private users: User[] = [];
  private tokens: Token[] = [];
  private namespaces: Namespace[] = [];
  private projects: Project[] = [];
  private vars: Array<Variable & { owner: Owner }> = [];
  private branches: ProtectedBranch[] = [];
  private tags: ProtectedTag[] = [];
  private seq = {
    user: 0,
    token: 0,
    namespace: 0,
    project: 0,
    variable: 0,
    protectedBranch: 0,
    protectedTag: 0,
    accessLevel: 0,
  };

  /** Forgets everything (ids start again at 1). */
  reset(): void {
    Object.assign(this, new FakeState());
  }

  // --- users and tokens -------------------------------------------------

  addUser(username: string, opts: { name?: string; email?: string; admin?: boolean } = {}): User {
    if (this.user(username)) throw new Error(`user ${username} exists`);
    const user: User = {
      id: ++this.seq.user,
      username,
      name: opts.name ?? username,
      email: opts.email ?? `${username}@example.com`,
      admin: opts.admin ?? false,
      createdAt: new Date().toISOString(),
    };
    this.users.push(user);
    return user;
  }

  user(ref: string | number): User | undefined {
    return this.users.find((u) => (typeof ref === 'number' ? u.id === ref : u.username === ref));
  }

  /** Creates a token for `username` (the user is created if missing) and returns its value. */
  addToken(
    username: string,
    opts: {
      scopes?: TokenScope[];
      expiresAt?: string | Date;
      revoked?: boolean;
      name?: string;
      value?: string;
    } = {},
  ): string {
    const user = this.user(username) ?? this.addUser(username);
    const id = ++this.seq.token;
    const expiresAt =
      opts.expiresAt instanceof Date ? opts.expiresAt.toISOString().slice(0, 10) : opts.expiresAt;
    const token: Token = {
      id,
      value:
        opts.value ?? `glpat-fake${String(id).padStart(4, '0')}${Math.random().toString(36).slice(2, 12)}`,
      userId: user.id,
      name: opts.name ?? `token-${id}`,
      scopes: opts.scopes ?? ['api'],
      expiresAt: expiresAt ?? null,
      revoked: opts.revoked ?? false,
      createdAt: new Date().toISOString(),
    };
    this.tokens.push(token);
    return token.value;
  }

  token(value: string): Token | undefined {
    return this.tokens.find((t) => t.value === value);
  }

  revokeToken(value: string): void {
    const token = this.token(value);
    if (!token) throw new Error('unknown token');
    token.revoked = true;
  }

  /** PersonalAccessToken#expired?: `expires_at <= Time.current`, with a date column. */
  tokenExpired(token: Token): boolean {
    return token.expiresAt !== null && token.expiresAt <= today();
  }

  // --- groups and projects ---------------------------------------------

  /** Adds a group; missing ancestors are created as private groups. */
  addGroup(
    fullPath: string,
    opts: { visibility?: Visibility; name?: string; description?: string } = {},
  ): Namespace {
    const existing = this.group(fullPath);
    if (existing) return existing;
    const parts = fullPath.split('/');
    const path = parts.pop()!;
    const parent = parts.length ? this.addGroup(parts.join('/')) : undefined;
    const group: Namespace = {
      id: ++this.seq.namespace,
      kind: 'group',
      name: opts.name ?? path,
      path,
      fullPath,
      parentId: parent?.id ?? null,
      visibility: opts.visibility ?? 'private',
      description: opts.description ?? '',
      createdAt: new Date().toISOString(),
      members: new Map(),
    };
    this.namespaces.push(group);
    return group;
  }

  group(ref: string | number): Namespace | undefined {
    return this.namespaces.find((n) => n.kind === 'group' && matches(n.id, n.fullPath, ref));
  }

  namespace(id: number): Namespace | undefined {
    return this.namespaces.find((n) => n.id === id);
  }

  /**
   * Adds a project. Its namespace is the group at the parent path (created if
   * missing), or the personal namespace of a user with that username.
   */
  addProject(
    fullPath: string,
    opts: {
      visibility?: Visibility;
      name?: string;
      description?: string;
      defaultBranch?: string;
      ciIdTokenSubClaimComponents?: string[];
    } = {},
  ): Project {
    if (this.project(fullPath)) throw new Error(`project ${fullPath} exists`);
    if (opts.ciIdTokenSubClaimComponents) checkSubClaimComponents(opts.ciIdTokenSubClaimComponents);
    const parts = fullPath.split('/');
    const path = parts.pop()!;
    if (!parts.length) throw new Error('a project path needs a namespace: group/project');
    const parentPath = parts.join('/');
    const owner = parts.length === 1 && !this.group(parentPath) ? this.user(parentPath) : undefined;
    const namespace = owner ? this.userNamespace(owner) : this.addGroup(parentPath);
    const project: Project = {
      id: ++this.seq.project,
      name: opts.name ?? path,
      path,
      fullPath,
      namespaceId: namespace.id,
      visibility: opts.visibility ?? 'private',
      description: opts.description ?? '',
      defaultBranch: opts.defaultBranch ?? 'main',
      createdAt: new Date().toISOString(),
      members: new Map(),
      ciIdTokenSubClaimComponents: opts.ciIdTokenSubClaimComponents ?? [...DEFAULT_SUB_CLAIM_COMPONENTS],
    };
    this.projects.push(project);
    return project;
  }

  /**
   * Routes are looked up case-insensitively, as GitLab's `find_by_full_path`
   * does; the project keeps the case it was created with (its canonical path).
   */
  project(ref: string | number): Project | undefined {
    return this.projects.find((p) => matches(p.id, p.fullPath, ref));
  }

  /**
   * Deletes a project with its variables and protected refs, as GitLab does
   * once a deletion takes effect. Its id is never used again: a project created
   * at the same path afterwards gets a new one.
   */
  removeProject(ref: string | number): Project {
    const project = this.project(ref);
    if (!project) throw new Error(`no such project: ${ref}`);
    this.projects = this.projects.filter((p) => p !== project);
    const mine = (o: Owner) => o.kind === 'project' && o.id === project.id;
    this.vars = this.vars.filter((v) => !mine(v.owner));
    this.branches = this.branches.filter((b) => !mine(b.owner));
    this.tags = this.tags.filter((t) => t.projectId !== project.id);
    return project;
  }

  /** Deletes the project at `fullPath` and creates another there: same path, new id, nothing carried over. */
  recreateProject(fullPath: string, opts: Parameters<FakeState['addProject']>[1] = {}): Project {
    this.removeProject(fullPath);
    return this.addProject(fullPath, opts);
  }

  /**
   * Sets `ci_id_token_sub_claim_components` as `PUT /projects/:id` would, with
   * GitLab's validation (throws its messages for a value GitLab refuses).
   */
  setSubClaimComponents(ref: string | number, components: string[]): Project {
    const project = this.project(ref);
    if (!project) throw new Error(`no such project: ${ref}`);
    checkSubClaimComponents(components);
    project.ciIdTokenSubClaimComponents = [...components];
    return project;
  }

  private userNamespace(user: User): Namespace {
    const found = this.namespaces.find((n) => n.kind === 'user' && n.ownerId === user.id);
    if (found) return found;
    const ns: Namespace = {
      id: ++this.seq.namespace,
      kind: 'user',
      name: user.name,
      path: user.username,
      fullPath: user.username,
      parentId: null,
      visibility: 'private',
      description: '',
      createdAt: new Date().toISOString(),
      members: new Map(),
      ownerId: user.id,
    };
    this.namespaces.push(ns);
    return ns;
  }

  addMember(target: Target, username: string, role: Role): void {
    const user = this.user(username) ?? this.addUser(username);
    this.resolve(target).members.set(user.id, ACCESS_LEVEL[role]);
  }

  // --- access arithmetic (ProjectTeam#max_member_access, Group#max_member_access_for_user)

  /** The group and its ancestors, nearest first. */
  ancestors(group: Namespace): Namespace[] {
    const chain: Namespace[] = [];
    for (let g: Namespace | undefined = group; g; g = g.parentId ? this.namespace(g.parentId) : undefined) {
      chain.push(g);
    }
    return chain;
  }

  /** The groups above a project, nearest first (none for a personal project). */
  ancestorsOf(project: Project): Namespace[] {
    const ns = this.namespace(project.namespaceId)!;
    return ns.kind === 'group' ? this.ancestors(ns) : [];
  }

  /** Highest level from membership in the group or any ancestor (inherited membership). */
  groupAccess(user: User | null, group: Namespace): number {
    if (!user) return 0;
    return Math.max(0, ...this.ancestors(group).map((g) => g.members.get(user.id) ?? 0));
  }

  /** Direct project membership, inherited group membership, or ownership of a personal namespace. */
  projectAccess(user: User | null, project: Project): number {
    if (!user) return 0;
    const ns = this.namespace(project.namespaceId)!;
    const inherited =
      ns.kind === 'user' ? (ns.ownerId === user.id ? ACCESS_LEVEL.owner : 0) : this.groupAccess(user, ns);
    return Math.max(project.members.get(user.id) ?? 0, inherited);
  }

  canReadProject(user: User | null, project: Project): boolean {
    if (project.visibility === 'public' || user?.admin) return true;
    if (project.visibility === 'internal' && user) return true;
    return this.projectAccess(user, project) >= ACCESS_LEVEL.guest;
  }

  /** GroupPolicy: members (direct or inherited), and members of anything below, can see a group. */
  canReadGroup(user: User | null, group: Namespace): boolean {
    if (group.visibility === 'public' || user?.admin) return true;
    if (group.visibility === 'internal' && user) return true;
    if (!user) return false;
    if (this.groupAccess(user, group) >= ACCESS_LEVEL.guest) return true;
    const below = (id: number): boolean =>
      this.namespaces.some((n) => n.parentId === id && (n.members.has(user.id) || below(n.id))) ||
      this.projects.some((p) => p.namespaceId === id && p.members.has(user.id));
    return below(group.id);
  }

  // --- protected branches and tags ---------------------------------------

  /**
   * Protects a branch name or wildcard (`release/*`, `*-stable`) in a project
   * (a full path, an id or `{ project }`) or, as GitLab Premium on a
   * self-managed instance can, in a top-level group (`{ group }`), whose
   * projects then inherit it. Throws what GitLab refuses: a name already
   * protected there (409 over HTTP), a subgroup, an access level other than
   * 0, 30 or 40.
   */
  protectBranch(target: ProjectOrTarget, name: string, opts: ProtectBranchOptions = {}): ProtectedBranch {
    const owner = this.owner(asTarget(target));
    if (!name) throw new Error("name can't be blank");
    if (this.branches.some((b) => sameOwner(b.owner, owner) && b.name === name))
      throw new Error(`Protected branch '${name}' already exists`);
    if (owner.kind === 'group' && this.namespace(owner.id)?.parentId !== null)
      throw new Error('cannot be associated with a subgroup');
    const branch: ProtectedBranch = {
      id: ++this.seq.protectedBranch,
      name,
      owner,
      pushAccessLevels: [this.accessLevel(opts.pushAccessLevel)],
      mergeAccessLevels: [this.accessLevel(opts.mergeAccessLevel)],
      unprotectAccessLevels: [this.accessLevel(opts.unprotectAccessLevel)],
      allowForcePush: opts.allowForcePush ?? false,
      codeOwnerApprovalRequired: opts.codeOwnerApprovalRequired ?? false,
    };
    this.branches.push(branch);
    return structuredClone(branch);
  }

  unprotectBranch(target: ProjectOrTarget, name: string): void {
    const owner = this.owner(asTarget(target));
    const before = this.branches.length;
    this.branches = this.branches.filter((b) => !(sameOwner(b.owner, owner) && b.name === name));
    if (this.branches.length === before) throw new Error(`no protected branch ${name}`);
  }

  /**
   * A project's protected branches, in id order: its own and, unless
   * `inherited` is false, its top-level group's (ProtectedBranchesFinder uses
   * `project.all_protected_branches`). For `{ group }`, the group's own.
   * Copies.
   */
  protectedBranches(target: ProjectOrTarget, opts: { inherited?: boolean } = {}): ProtectedBranch[] {
    const owner = this.owner(asTarget(target));
    const owners = [owner];
    if (owner.kind === 'project' && opts.inherited !== false) {
      const root = this.ancestorsOf(this.project(owner.id)!).at(-1);
      if (root) owners.push({ kind: 'group', id: root.id });
    }
    return this.branches
      .filter((b) => owners.some((o) => sameOwner(b.owner, o)))
      .sort((a, b) => a.id - b.id)
      .map((b) => structuredClone(b));
  }

  /** Protects a tag name or wildcard (`v*`) in a project. Throws `Name has already been taken` for a repeat. */
  protectTag(
    project: string | number,
    name: string,
    opts: { createAccessLevel?: ProtectedAccessLevel } = {},
  ) {
    const found = this.project(project);
    if (!found) throw new Error(`no such project: ${project}`);
    if (!name) throw new Error("name can't be blank");
    if (this.tags.some((t) => t.projectId === found.id && t.name === name))
      throw new Error('Name has already been taken');
    const tag: ProtectedTag = {
      id: ++this.seq.protectedTag,
      name,
      projectId: found.id,
      createAccessLevels: [this.accessLevel(opts.createAccessLevel)],
    };
    this.tags.push(tag);
    return structuredClone(tag);
  }

  unprotectTag(project: string | number, name: string): void {
    const id = this.project(project)?.id;
    const before = this.tags.length;
    this.tags = this.tags.filter((t) => !(t.projectId === id && t.name === name));
    if (this.tags.length === before) throw new Error(`no protected tag ${name}`);
  }

  /** A project's protected tags in id order (copies). There are no group-level protected tags in GitLab. */
  protectedTags(project: string | number): ProtectedTag[] {
    const id = this.project(project)?.id;
    if (id === undefined) throw new Error(`no such project: ${project}`);
    return this.tags.filter((t) => t.projectId === id).map((t) => structuredClone(t));
  }

  /** Whether a branch or tag of the project is protected (ProtectedBranch.protected?, ProtectedTag.protected?). */
  isProtected(project: string | number, refType: 'branch' | 'tag', ref: string): boolean {
    const refs = refType === 'branch' ? this.protectedBranches(project) : this.protectedTags(project);
    return refs.some((r) => refMatches(r.name, ref));
  }

  private accessLevel(level: ProtectedAccessLevel = 40): AccessLevelRecord {
    if (!(PROTECTED_ACCESS_LEVELS as readonly number[]).includes(level))
      throw new Error(`access level ${level} is not one of ${PROTECTED_ACCESS_LEVELS.join(', ')}`);
    return { id: ++this.seq.accessLevel, accessLevel: level };
  }

  // --- variables --------------------------------------------------------

  /** Variables of a project or group, in id order (copies; hidden values included). */
  variables(target: Target): Variable[] {
    const owner = this.owner(target);
    return this.vars.filter((v) => sameOwner(v.owner, owner)).map(({ owner: _, ...v }) => ({ ...v }));
  }

  /** The stored record (mutable) for handlers. */
  variableRecords(owner: Owner): Variable[] {
    return this.vars.filter((v) => sameOwner(v.owner, owner));
  }

  /**
   * Plants a variable without validation, e.g. a foreign variable the operator
   * must not overwrite. Upserts by key + environment scope.
   */
  setVariable(target: Target, input: VariableInput): Variable {
    const owner = this.owner(target);
    const scope = input.environment_scope ?? '*';
    const existing = this.vars.find(
      (v) => sameOwner(v.owner, owner) && v.key === input.key && v.environment_scope === scope,
    );
    if (existing) {
      Object.assign(existing, input, { environment_scope: scope });
      return { ...existing };
    }
    return this.insertVariable(owner, { ...input, environment_scope: scope });
  }

  insertVariable(owner: Owner, input: VariableInput): Variable {
    const v = {
      id: ++this.seq.variable,
      key: input.key,
      value: input.value,
      variable_type: input.variable_type ?? 'env_var',
      protected: input.protected ?? false,
      masked: input.masked ?? false,
      raw: input.raw ?? false,
      hidden: input.hidden ?? false,
      environment_scope: input.environment_scope ?? '*',
      description: input.description ?? null,
      owner,
    };
    this.vars.push(v);
    return v;
  }

  removeVariable(id: number): void {
    this.vars = this.vars.filter((v) => v.id !== id);
  }

  owner(target: Target): Owner {
    if ('project' in target) return { kind: 'project', id: this.resolve(target).id };
    return { kind: 'group', id: this.resolve(target).id };
  }

  private resolve(target: Target): Project | Namespace {
    const found = 'project' in target ? this.project(target.project) : this.group(target.group);
    if (!found)
      throw new Error(`no such ${'project' in target ? 'project' : 'group'}: ${JSON.stringify(target)}`);
    return found;
  }
}

function asTarget(target: ProjectOrTarget): Target {
  return typeof target === 'object' ? target : { project: target };
}

function checkSubClaimComponents(components: string[]): void {
  const errors = subClaimComponentErrors(components);
  if (errors.length) throw new Error(`id_token_sub_claim_components ${errors.join(', ')}`);
}

function matches(id: number, fullPath: string, ref: string | number): boolean {
  if (typeof ref === 'number' || /^-?\d+$/.test(ref)) return id === Number(ref);
  return fullPath.toLowerCase() === ref.toLowerCase();
}

function sameOwner(a: Owner, b: Owner): boolean {
  return a.kind === b.kind && a.id === b.id;
}
