// GitLab as an OpenID Connect issuer for CI/CD ID tokens: the discovery
// document (doorkeeper-openid_connect DiscoveryController#provider_response as
// JwksController extends it), the JWKS (JwksController#keys), and ID tokens with
// the claims of lib/gitlab/ci/jwt.rb + jwt_v2.rb.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { FakeState, Project } from './state.ts';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
interface SigningKey {
  kid: string;
  jwk: JWK;
  privateKey: PrivateKey;
}

export interface OidcKeys {
  /** Rails credentials `openid_connect_signing_key` (OAuth ID tokens). */
  oidc: SigningKey;
  /** `ci_jwt_signing_key` (CI/CD ID tokens). */
  ci: SigningKey;
  /** A key that is not published, to mint tokens the JWKS cannot verify. */
  foreign: SigningKey;
}

async function signingKey(): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  // GitLab's kids are RFC 7638 thumbprints (43 base64url characters on gitlab.com).
  return { kid: await calculateJwkThumbprint(jwk), jwk, privateKey };
}

export async function createOidcKeys(): Promise<OidcKeys> {
  const [oidc, ci, foreign] = await Promise.all([signingKey(), signingKey(), signingKey()]);
  return { oidc, ci, foreign };
}

/** JwksController#payload: `to_jwk.slice(:kty, :kid, :e, :n).merge(use: 'sig', alg: 'RS256')`. */
export function jwks(keys: OidcKeys) {
  return {
    keys: [keys.oidc, keys.ci].map((k) => ({
      kty: k.jwk.kty,
      kid: k.kid,
      e: k.jwk.e,
      n: k.jwk.n,
      use: 'sig',
      alg: 'RS256',
    })),
  };
}

/**
 * The discovery document. `issuer` is `Gitlab.config.gitlab.url` (the external
 * URL including any relative root) and the endpoints are URL helpers on that
 * base; `issuer` and `jwksBase` are separate so a test can serve a document
 * whose issuer does not match where it was fetched from.
 */
export function discoveryDocument(base: string, issuer: string, jwksBase = base) {
  return {
    issuer,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    jwks_uri: `${jwksBase}/oauth/discovery/keys`,
    scopes_supported: [
      'api',
      'read_api',
      'read_user',
      'read_repository',
      'write_repository',
      'sudo',
      'openid',
      'profile',
      'email',
    ],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    grant_types_supported: [
      'authorization_code',
      'password',
      'client_credentials',
      'device_code',
      'refresh_token',
    ],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claim_types_supported: ['normal'],
    claims_supported: [
      'iss',
      'sub',
      'aud',
      'exp',
      'iat',
      'sub_legacy',
      'name',
      'nickname',
      'preferred_username',
      'email',
      'email_verified',
      'website',
      'profile',
      'picture',
      'groups',
      'groups_direct',
      'https://gitlab.org/claims/groups/owner',
      'https://gitlab.org/claims/groups/maintainer',
      'https://gitlab.org/claims/groups/developer',
      // JwksController#provider_response adds these
      'project_path',
      'ci_config_ref_uri',
      'ref_path',
      'sha',
      'environment',
      'jti',
    ],
    code_challenge_methods_supported: ['plain', 'S256'],
  };
}

export interface MintIdTokenOptions {
  /** Full path of a project in the fake's state. */
  project: string;
  refType?: 'branch' | 'tag';
  /** Default: the project's default branch. */
  ref?: string;
  aud: string | string[];
  /** The job's `environment`; its tier is guessed from the name as GitLab does unless given. */
  environment?: string | { name: string; protected?: boolean; tier?: string; action?: string };
  /** Default: whether the project protects the ref (see FakeState#protectBranch, #protectTag). */
  refProtected?: boolean;
  /** Username of the job's user; default: the member with the highest role, else a synthetic root. */
  user?: string;
  pipelineSource?: string;
  /** Token lifetime (the job timeout); GitLab's default is 5 minutes. */
  ttlSeconds?: number;
  /** Issue time in seconds since the epoch (default: now). */
  now?: number;
  /** Which key signs: the published CI key (default), the OAuth OIDC key, or an unpublished one. */
  signWith?: 'ci' | 'oidc' | 'foreign';
  /** Applied last; a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
}

// Environment#guess_tier (app/models/environment.rb)
function guessTier(name: string): string {
  if (/(dev|review|trunk)/i.test(name)) return 'development';
  if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return 'testing';
  if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return 'staging';
  if (/(pr(o|)d|live)/i.test(name)) return 'production';
  return 'other';
}

/**
 * `sub` as JwtV2#initialize builds it: the project's sub claim components,
 * those whose value is nil dropped (Ruby truthiness: nil and false), as
 * `name:value` joined with `:`. JwtV2#custom_claims knows project_path,
 * ref_type and ref; the fake reads any other component from the claim of the
 * same name (what newer GitLab versions are said to add; unverified).
 */
export function subClaim(components: string[], claims: Record<string, unknown>): string {
  return components
    .filter((c) => claims[c] !== undefined && claims[c] !== null && claims[c] !== false)
    .flatMap((c) => [c, String(claims[c])])
    .join(':');
}

const ROLE_NAMES: Record<number, string> = {
  10: 'guest',
  20: 'reporter',
  30: 'developer',
  40: 'maintainer',
  50: 'owner',
};

/** An RS256 CI/CD ID token for a job in `opts.project`, signed with the fake's CI key. */
export async function mintIdToken(
  state: FakeState,
  keys: OidcKeys,
  issuer: string,
  baseUrl: string,
  opts: MintIdTokenOptions,
): Promise<string> {
  const project = state.project(opts.project);
  if (!project) throw new Error(`mintIdToken: no project ${opts.project} in the fake`);
  const ns = state.namespace(project.namespaceId)!;
  const refType = opts.refType ?? 'branch';
  const ref = opts.ref ?? project.defaultBranch;
  const user = jobUser(state, project, opts.user);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const env = typeof opts.environment === 'string' ? { name: opts.environment } : opts.environment;
  const refPath = `refs/${refType === 'tag' ? 'tags' : 'heads'}/${ref}`;
  const host = new URL(baseUrl).host + new URL(baseUrl).pathname.replace(/\/$/, '');
  // Claim order and types follow the documented sample payload: ids are strings,
  // ref_protected/environment_protected are "true"/"false", runner_id is a number.
  const claims: Record<string, unknown> = {
    namespace_id: String(ns.id),
    namespace_path: ns.fullPath,
    project_id: String(project.id),
    project_path: project.fullPath,
    user_id: String(user.id),
    user_login: user.username,
    user_email: user.email,
    user_access_level: user.level ? ROLE_NAMES[user.level] : null,
    pipeline_id: String(1000 + project.id),
    pipeline_source: opts.pipelineSource ?? 'push',
    job_id: String(5000 + project.id),
    ref,
    ref_type: refType,
    ref_path: refPath,
    // build.protected: whether a protected branch or tag (wildcards included) matches the ref.
    ref_protected: String(opts.refProtected ?? state.isProtected(project.id, refType, ref)),
    ...(env
      ? {
          environment: env.name,
          environment_protected: String(env.protected ?? false),
          deployment_tier: env.tier ?? guessTier(env.name),
          environment_action: env.action ?? 'start',
        }
      : {}),
    runner_id: 1,
    runner_environment: 'self-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    project_visibility: project.visibility,
    ci_config_ref_uri: `${host}/${project.fullPath}//.gitlab-ci.yml@${refPath}`,
    ci_config_sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    jti: randomUUID(),
    iss: issuer,
    iat: now,
    nbf: now - 5, // Jwt::NOT_BEFORE_TIME
    exp: now + (opts.ttlSeconds ?? 300), // Jwt::DEFAULT_EXPIRE_TIME
  };
  claims.sub = subClaim(project.ciIdTokenSubClaimComponents, claims);
  claims.aud = opts.aud;
  for (const [k, v] of Object.entries(opts.claims ?? {})) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  const key = keys[opts.signWith ?? 'ci'];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

function jobUser(state: FakeState, project: Project, username?: string) {
  if (username) {
    const user = state.user(username);
    if (!user) throw new Error(`mintIdToken: no user ${username} in the fake`);
    return { ...user, level: state.projectAccess(user, project) };
  }
  const candidates = [
    ...project.members.keys(),
    ...state.ancestorsOf(project).flatMap((g) => [...g.members.keys()]),
  ];
  const best = candidates
    .map((id) => state.user(id)!)
    .map((u) => ({ ...u, level: state.projectAccess(u, project) }))
    .sort((a, b) => b.level - a.level)[0];
  return best ?? { id: 1, username: 'root', email: 'admin@example.com', level: 0 };
}
