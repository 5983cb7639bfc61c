// HTTP plumbing shared by the handlers: the response and error shapes GitLab's
// Grape API produces (lib/api/helpers.rb), Rack-style nested parameters, Grape
// parameter coercion, and offset pagination headers.

export type Params = Record<string, unknown>;

export interface Reply {
  status: number;
  /** Serialised as JSON unless it is a string (then sent as `contentType`, default text/plain). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Any non-2xx answer; handlers throw it and the server renders it. */
export class ApiError extends Error {
  readonly reply: Reply;
  constructor(status: number, body: unknown, headers?: Record<string, string>) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.reply = { status, body, ...(headers ? { headers } : {}) };
  }
}

// lib/api/helpers.rb: render_api_error! puts the text under "message".
export const notFound = (resource?: string) =>
  new ApiError(404, { message: ['404', resource, 'Not Found'].filter(Boolean).join(' ') });
export const unauthorized = () => new ApiError(401, { message: '401 Unauthorized' });
export const forbidden = () => new ApiError(403, { message: '403 Forbidden' });
export const conflict = (message: string) => new ApiError(409, { message });
/** render_validation_error!: the model's errors, attribute -> messages. */
export const invalidModel = (errors: Record<string, string[]>) => new ApiError(400, { message: errors });
/** Grape parameter validation (rescue_from Grape::Exceptions::Base): `{"error": "..."}`. */
export const invalidParams = (messages: string[]) => new ApiError(400, { error: messages.join(', ') });

/** Parses Rack-style keys (`filter[environment_scope]=x`, `a[]=1`) into nested objects. */
export function parseNested(entries: Iterable<[string, string]>): Params {
  const out: Params = {};
  for (const [rawKey, value] of entries) {
    const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(rawKey);
    const path = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)] : [rawKey];
    const last = path.pop()!;
    let node = out;
    for (const part of path) {
      const child = node[part];
      if (last === '' && part === path.at(-1)) {
        // `a[]=x`: an array of scalars
        node[part] = [...(Array.isArray(child) ? child : []), value];
        node = {};
        break;
      }
      if (typeof child !== 'object' || child === null || Array.isArray(child)) node[part] = {};
      node = node[part] as Params;
    }
    if (last !== '') node[last] = value;
  }
  return out;
}

/** Ruby's Hash#to_query: sorted keys, nested hashes as `a[b]`, CGI-escaped. */
export function toQuery(params: Params, prefix?: string): string {
  const esc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return Object.keys(params)
    .sort()
    .flatMap((k) => {
      const key = prefix ? `${prefix}[${k}]` : k;
      const v = params[k];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return [toQuery(v as Params, key)];
      if (Array.isArray(v)) return v.map((x) => `${esc(`${key}[]`)}=${esc(String(x))}`);
      return [`${esc(key)}=${esc(v === null || v === undefined ? '' : String(v))}`];
    })
    .filter(Boolean)
    .join('&');
}

// --- Grape parameter coercion -------------------------------------------------

export type ParamType = 'string' | 'boolean' | 'integer' | 'hash' | 'string[]';
export interface ParamSpec {
  type: ParamType;
  required?: boolean;
  values?: readonly (string | number)[];
}

const TRUE = ['true', '1', 't', 'yes', 'y', 'on'];
const FALSE = ['false', '0', 'f', 'no', 'n', 'off'];

/**
 * Grape `declared(params, include_missing: false)`: coerces the declared
 * parameters that were sent and drops the rest. Errors use Grape's wording
 * ("key is missing", "protected is invalid", "x does not have a valid value"),
 * all at once, joined with ", ".
 */
export function declare(params: Params, spec: Record<string, ParamSpec>): Params {
  const out: Params = {};
  const errors: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    if (!(name in params) || params[name] === undefined) {
      if (s.required) errors.push(`${name} is missing`);
      continue;
    }
    const coerced = coerce(params[name], s.type);
    if (coerced === INVALID) errors.push(`${name} is invalid`);
    else if (s.values && coerced !== null && !s.values.includes(coerced as string | number))
      errors.push(`${name} does not have a valid value`);
    else out[name] = coerced;
  }
  if (errors.length) throw invalidParams(errors);
  return out;
}

const INVALID = Symbol('invalid');

function coerce(v: unknown, type: ParamType): unknown {
  if (v === null) return null;
  switch (type) {
    case 'string':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : INVALID;
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      const s = String(v).toLowerCase();
      return TRUE.includes(s) ? true : FALSE.includes(s) ? false : INVALID;
    }
    case 'integer':
      return /^-?\d+$/.test(String(v)) ? Number(v) : INVALID;
    case 'hash':
      return typeof v === 'object' && !Array.isArray(v) ? v : INVALID;
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')
        ? v.map(String)
        : INVALID;
  }
}

// --- pagination (lib/gitlab/pagination/offset_pagination.rb, offset_header_builder.rb)

export const MAX_PER_PAGE = 100; // Kaminari max_per_page in GitLab
export const DEFAULT_PER_PAGE = 20;

/**
 * One page of `items` plus GitLab's headers. `requestUrl` is the absolute URL
 * the client asked for; the Link header repeats every parameter (route
 * parameters such as `id` included, as Grape's `params` holds them) with the
 * page replaced, sorted as Ruby's `to_query` sorts them.
 */
export function paginate<T>(
  items: T[],
  params: Params,
  requestUrl: URL,
): { page: T[]; headers: Record<string, string> } {
  const { page: rawPage, per_page: rawPer } = declare(params, {
    page: { type: 'integer' },
    per_page: { type: 'integer' },
  });
  if (rawPer === 0) throw invalidParams(['per_page has a value not allowed']);
  const perPage = Math.min(Math.max(Number(rawPer ?? DEFAULT_PER_PAGE), 1), MAX_PER_PAGE);
  const page = Math.max(Number(rawPage ?? 1), 1);
  const totalPages = Math.max(Math.ceil(items.length / perPage), 1);
  const next = page < totalPages ? page + 1 : null;
  const prev = page > 1 ? page - 1 : null;
  // `params.merge(page:, per_page: params[:per_page])`; Grape's params carry the declared defaults.
  const href = (p: number) => {
    const u = new URL(requestUrl);
    u.search = toQuery({ ...params, page: p, per_page: params.per_page ?? DEFAULT_PER_PAGE });
    return u.toString();
  };
  const links = [
    ...(prev ? [`<${href(prev)}>; rel="prev"`] : []),
    ...(next ? [`<${href(next)}>; rel="next"`] : []),
    `<${href(1)}>; rel="first"`,
    `<${href(totalPages)}>; rel="last"`,
  ];
  return {
    page: items.slice((page - 1) * perPage, page * perPage),
    headers: {
      'X-Per-Page': String(perPage),
      'X-Page': String(page),
      'X-Next-Page': next ? String(next) : '',
      'X-Prev-Page': prev ? String(prev) : '',
      Link: links.join(', '),
      'X-Total': String(items.length),
      'X-Total-Pages': String(totalPages),
    },
  };
}
