// Token authentication as lib/gitlab/auth/auth_finders.rb, lib/api/api_guard.rb
// and lib/api/helpers.rb#current_user do it for personal, project and group
// access tokens (all PersonalAccessToken rows, the latter two of bot users).
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, type Params, unauthorized } from './http.ts';
import type { FakeState, Token, User } from './state.ts';

/**
 * The token a request presents: `private_token` parameter, `PRIVATE-TOKEN`
 * header, or an OAuth-style bearer (`Authorization: Bearer`, `access_token`
 * parameter), in the order `find_personal_access_token` tries them.
 */
export function presentedToken(headers: IncomingHttpHeaders, query: Params): string | undefined {
  const param = (name: string) =>
    typeof query[name] === 'string' && query[name] ? String(query[name]) : undefined;
  const header = headers['private-token'];
  const bearer = /^Bearer\s+(\S+)/i.exec(headers.authorization ?? '')?.[1];
  return (
    param('private_token') ??
    (typeof header === 'string' && header ? header : undefined) ??
    bearer ??
    param('access_token')
  );
}

// Rack::OAuth2::Server::Resource::Bearer::Unauthorized, as APIGuard's error
// responder builds it: JSON body plus a WWW-Authenticate challenge.
function invalidToken(description: string): ApiError {
  return new ApiError(
    401,
    { error: 'invalid_token', error_description: description },
    {
      'WWW-Authenticate': `Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="${description}"`,
    },
  );
}

/**
 * Scopes registered for every API endpoint (lib/api/api.rb):
 * `allow_access_with_scope :api` and `:read_api, if: GET or HEAD`.
 */
const ENDPOINT_SCOPES = ['api', 'read_api'];

/**
 * The authenticated user, or null for an anonymous request. Throws what GitLab
 * answers for an unknown token (401 "401 Unauthorized"), an expired or revoked
 * one (401 invalid_token) and a token without a scope that allows the method
 * (403 insufficient_scope).
 */
export function authenticate(
  state: FakeState,
  method: string,
  value: string | undefined,
): { user: User | null; token: Token | null } {
  if (!value) return { user: null, token: null };
  const token = state.token(value);
  // find_personal_access_token raises UnauthorizedError; initial_current_user turns it into unauthorized!
  if (!token) throw unauthorized();
  // AccessTokenValidationService#validate checks expiry, then revocation, then scopes.
  if (state.tokenExpired(token))
    throw invalidToken('Token is expired. You can either do re-authorization or token refresh.');
  if (token.revoked) throw invalidToken('Token was revoked. You have to re-authorize from the user.');
  const readOnly = method === 'GET' || method === 'HEAD';
  const sufficient = token.scopes.includes('api') || (readOnly && token.scopes.includes('read_api'));
  if (!sufficient) {
    // Rack::OAuth2 Bearer::Forbidden: no WWW-Authenticate, `scope` lists the endpoint's scopes.
    throw new ApiError(403, {
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: ENDPOINT_SCOPES.join(' '),
    });
  }
  const user = state.user(token.userId);
  if (!user) throw unauthorized();
  return { user, token };
}
