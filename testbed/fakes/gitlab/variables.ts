// Project and group CI/CD variables: lib/api/ci/variables.rb,
// lib/api/group_variables.rb, lib/api/helpers/variables_helpers.rb,
// app/services/ci/change_variable_service.rb and the model validations
// (Ci::HasVariable, Ci::Maskable, Ci::HidableVariable, HasEnvironmentScope,
// Ci::Variable / Ci::GroupVariable).
import {
  conflict,
  declare,
  invalidModel,
  notFound,
  type ParamSpec,
  type Params,
  paginate,
  type Reply,
} from './http.ts';
import type { FakeState, Variable } from './state.ts';

export type OwnerKind = 'project' | 'group';

export interface VariableScope {
  state: FakeState;
  owner: { kind: OwnerKind; id: number };
  /** Group environment scopes are Premium; on Free GitLab drops the parameter (EE filter_variable_parameters). */
  premium: boolean;
}

// Ci::Maskable::REGEX and MASK_AND_RAW_REGEX. Ruby's \S is ASCII whitespace only.
export const MASKABLE = /^[a-zA-Z0-9_+=/@:.~-]{8,}$/;
export const MASKABLE_RAW = /^[^ \t\r\n\f\v]{8,}$/;
// Gitlab::Regex.environment_scope_regex and its message.
const ENV_SCOPE = /^[a-zA-Z0-9_/${}. *-]+$/;
const ENV_SCOPE_MESSAGE =
  "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', '*' and spaces";
const TYPES = ['env_var', 'file'] as const;

const ATTRIBUTES: Record<string, ParamSpec> = {
  value: { type: 'string' },
  protected: { type: 'boolean' },
  masked: { type: 'boolean' },
  raw: { type: 'boolean' },
  variable_type: { type: 'string', values: TYPES },
  environment_scope: { type: 'string' },
  description: { type: 'string' },
};

/** Entities::Ci::Variable; a hidden variable's value is null (Ci::VariableValue#evaluate). */
export function variableEntity(v: Variable) {
  return {
    variable_type: v.variable_type,
    key: v.key,
    value: v.hidden ? null : v.value,
    hidden: v.hidden,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environment_scope,
    description: v.description,
  };
}

export function listVariables(s: VariableScope, params: Params, requestUrl: URL): Reply {
  const { page, headers } = paginate(s.state.variableRecords(s.owner), params, requestUrl);
  return { status: 200, body: page.map(variableEntity), headers };
}

export function showVariable(s: VariableScope, key: string, params: Params): Reply {
  return { status: 200, body: variableEntity(findOne(s, key, params)) };
}

export function createVariable(s: VariableScope, params: Params): Reply {
  const input = declare(params, {
    key: { type: 'string', required: true },
    ...ATTRIBUTES,
    value: { type: 'string', required: true },
    masked_and_hidden: { type: 'boolean' },
  });
  if (s.owner.kind === 'group' && !s.premium) delete input.environment_scope;
  // ChangeVariableService#create_variable_params: masked_and_hidden sets both flags.
  const hidden = input.masked_and_hidden === true;
  delete input.masked_and_hidden;
  const candidate: Variable = {
    id: 0,
    key: String(input.key ?? '').trim(),
    value: (input.value as string | null) ?? null,
    variable_type: (input.variable_type as Variable['variable_type']) ?? 'env_var',
    protected: (input.protected as boolean | undefined) ?? false,
    masked: hidden || ((input.masked as boolean | undefined) ?? false),
    raw: (input.raw as boolean | undefined) ?? false,
    hidden,
    environment_scope: 'environment_scope' in input ? String(input.environment_scope ?? '').trim() : '*',
    description: (input.description as string | null | undefined) ?? null,
  };
  const errors = validate(candidate, s.state.variableRecords(s.owner));
  if (errors) throw invalidModel(errors);
  const { id: _, ...fields } = candidate;
  return { status: 201, body: variableEntity(s.state.insertVariable(s.owner, fields)) };
}

export function updateVariable(s: VariableScope, key: string, params: Params): Reply {
  let target: Variable | undefined;
  if (s.owner.kind === 'project') {
    target = findOne(s, key, params);
  } else {
    // lib/api/group_variables.rb: only a request that carries `filter` goes
    // through find_variable (so only then can it get 409). Without a match,
    // ChangeVariableService falls back to `variables.find_by!(key:)`, the first
    // variable with that key in any scope; none at all is 404.
    if ('filter' in params) target = find(s, key, params);
    target ??= s.state.variableRecords(s.owner).find((v) => v.key === key);
    if (!target) throw notFound('GroupVariable');
  }
  const input = declare(params, ATTRIBUTES);
  if (s.owner.kind === 'group' && !s.premium) delete input.environment_scope;
  const candidate: Variable = { ...target };
  for (const [name, value] of Object.entries(input)) {
    if (name === 'environment_scope') candidate.environment_scope = String(value ?? '').trim();
    else (candidate as unknown as Params)[name] = value;
  }
  const siblings = s.state.variableRecords(s.owner).filter((v) => v.id !== target.id);
  const errors = validate(candidate, siblings, target);
  if (errors) throw invalidModel(errors);
  Object.assign(target, candidate);
  return { status: 200, body: variableEntity(target) };
}

export function deleteVariable(s: VariableScope, key: string, params: Params): Reply {
  s.state.removeVariable(findOne(s, key, params).id);
  return { status: 204 };
}

/**
 * Ci::VariablesFinder: by key, then by `filter[environment_scope]` when present.
 * GitLab reads `filter` from the merged parameters, so a filter in a DELETE's
 * JSON body counts as much as one in the query string (Grape parses JSON bodies
 * for DELETE too: Grape::Middleware::Formatter#read_body_input?).
 */
function find(s: VariableScope, key: string, params: Params): Variable | undefined {
  const filter = params.filter;
  if (s.owner.kind === 'project' && 'filter' in params) declare(params, { filter: { type: 'hash' } });
  const scope =
    filter && typeof filter === 'object' && !Array.isArray(filter)
      ? (filter as Params).environment_scope
      : undefined;
  let found = s.state.variableRecords(s.owner).filter((v) => v.key === key);
  if (typeof scope === 'string' && scope.trim() !== '')
    found = found.filter((v) => v.environment_scope === scope);
  // VariablesHelpers#find_variable
  if (found.length > 1)
    throw conflict(
      "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
    );
  return found[0];
}

function findOne(s: VariableScope, key: string, params: Params): Variable {
  const found = find(s, key, params);
  if (!found) throw notFound(s.owner.kind === 'project' ? 'Variable' : 'GroupVariable');
  return found;
}

/**
 * The model validations, in the order Rails runs them, as `errors.messages`
 * (attribute -> messages). Returns undefined when valid.
 */
function validate(
  v: Variable,
  siblings: Variable[],
  before?: Variable,
): Record<string, string[]> | undefined {
  const errors: Record<string, string[]> = {};
  const add = (attr: string, message: string) => {
    errors[attr] ??= [];
    errors[attr].push(message);
  };
  // Ci::HasVariable
  if (v.key.trim() === '') add('key', "can't be blank");
  if (v.key.length > 255) add('key', 'is too long (maximum is 255 characters)');
  if (!/^[a-zA-Z0-9_]+$/.test(v.key)) add('key', "can contain only letters, digits and '_'.");
  // Ci::Maskable: a nil value fails the format check too.
  if (v.masked && !(v.raw ? MASKABLE_RAW : MASKABLE).test(v.value ?? '')) add('value', 'is invalid');
  // Ci::HidableVariable
  if (!before && !v.masked && v.hidden) add('masked', 'should be true when variable is hidden');
  if (
    before &&
    (before.masked !== v.masked || before.hidden !== v.hidden) &&
    (v.hidden || before.hidden !== v.hidden)
  ) {
    add(
      'base',
      before.hidden !== v.hidden
        ? 'Only new variables can be set as masked and hidden.'
        : 'The visibility setting cannot be changed for masked and hidden variables.',
    );
  }
  // HasEnvironmentScope
  if (v.environment_scope.trim() === '') add('environment_scope', "can't be blank");
  if (!ENV_SCOPE.test(v.environment_scope)) add('environment_scope', ENV_SCOPE_MESSAGE);
  if ((v.description ?? '').length > 255) add('description', 'is too long (maximum is 255 characters)');
  if (siblings.some((o) => o.key === v.key && o.environment_scope === v.environment_scope)) {
    add('key', `(${v.key}) has already been taken`);
  }
  return Object.keys(errors).length ? errors : undefined;
}
