// Schema pieces shared by both kinds. The TypeBox schemas here are the single
// source of truth: scripts/generate-crds.ts turns them into the CRDs, and the
// TypeScript types are their Static<> forms.
import {
  FormatRegistry,
  Kind,
  type SchemaOptions,
  type Static,
  type TSchema,
  Type,
  TypeRegistry,
} from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** A CEL rule as the API server evaluates it (`x-kubernetes-validations`). */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the API server reports the error, relative to the node that holds the rule. */
  fieldPath?: string;
}

export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

// Structural schemas forbid TypeBox's unions (anyOf of const) and Records
// (patternProperties), so enums, maps and free-form JSON objects are Unsafe
// schemas with a Kind of their own; registering the Kinds keeps Value.Check
// working on them.
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
TypeRegistry.Set<TSchema & { enum: string[] }>(
  'StringEnum',
  (schema, value) => typeof value === 'string' && schema.enum.includes(value),
);
TypeRegistry.Set<TSchema & { additionalProperties: TSchema }>(
  'Map',
  (schema, value) =>
    isPlainObject(value) && Object.values(value).every((v) => Value.Check(schema.additionalProperties, v)),
);
TypeRegistry.Set('JsonObject', (_schema, value) => isPlainObject(value));
// Value.Check refuses strings whose format it does not know.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value),
  );
}

export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, [Kind]: 'StringEnum', type: 'string', enum: [...values] });
}

/** `{type: object, additionalProperties: <values>}`: a map Kubernetes accepts. */
export function MapOf<T extends TSchema>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({
    ...options,
    [Kind]: 'Map',
    type: 'object',
    additionalProperties: values,
  });
}

/** Any JSON object, kept as written (IAM policy documents). */
export function JsonObject(options: SchemaOptions = {}) {
  return Type.Unsafe<Record<string, unknown>>({
    ...options,
    [Kind]: 'JsonObject',
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

// Patterns are RE2 (the API server's regexp engine): no lookarounds.
export const PATTERNS = {
  /** GitLab namespace/project path: no `*`, `?`, `:`, quotes, spaces, `..`, leading or trailing `/`. */
  gitlabPath: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)*$',
  /** A project's path always has its namespace: group/project, group/sub/project. */
  gitlabProjectPath: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)+$',
  /** IAM tag values (the operator remembers each audience it adds in a tag): ASCII letters, digits, space and _.:/=+-@. */
  audience: '^[A-Za-z0-9 _.:/=+@-]+$',
  /** https, host, optional port and path; no trailing slash, query or fragment. */
  gitlabUrl: '^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+-]+)*$',
  awsRegion: '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$',
  roleArn: '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$',
  policyArn:
    '^arn:aws(-[a-z]+)*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}$',
  iamName: '^[A-Za-z0-9_+=,.@-]+$',
  iamPath: '^/([A-Za-z0-9_+=,.@-]+/)*$',
  secretName: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  secretKey: '^[-._a-zA-Z0-9]+$',
  ciVariableName: '^[A-Za-z0-9_]+$',
  /** Durations as src/runtime/process/duration.ts parses them: 30s, 12h, 30d, 1h30m. */
  duration: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+$',
} as const;

export const GITLAB_COM = 'https://gitlab.com';

export const SecretKeyRefSchema = Type.Object(
  {
    name: Type.String({
      description: 'Name of a Secret in the namespace of this resource.',
      minLength: 1,
      maxLength: 253,
      pattern: PATTERNS.secretName,
    }),
    key: Type.String({
      description: 'Key in the Secret whose value is used.',
      minLength: 1,
      maxLength: 253,
      pattern: PATTERNS.secretKey,
    }),
  },
  {
    description:
      'A key of a Secret in the same namespace as this resource. There is no namespace field: a resource can never read a Secret of another namespace.',
  },
);

export const CaSecretRefSchema = Type.Object(
  {
    name: SecretKeyRefSchema.properties.name,
    key: Type.Optional(
      Type.String({
        description: 'Key in the Secret that holds the PEM CA bundle.',
        default: 'ca.crt',
        minLength: 1,
        maxLength: 253,
        pattern: PATTERNS.secretKey,
      }),
    ),
  },
  {
    description:
      'A Secret in the same namespace holding the PEM CA bundle of a self-managed GitLab whose certificate is not publicly trusted. It is used for every call to that instance (API and OIDC discovery).',
  },
);

export const GitLabSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        description:
          'Base URL of the GitLab instance: https, no trailing slash, no query (e.g. https://gitlab.example.com or https://example.com/gitlab). https://gitlab.com means GitLab.com.',
        default: GITLAB_COM,
        maxLength: 255,
        pattern: PATTERNS.gitlabUrl,
      }),
    ),
    tokenSecretRef: Type.Optional(
      Type.Object(SecretKeyRefSchema.properties, {
        description:
          'Secret key (same namespace) holding a GitLab access token with the api scope. Required when the operator writes CI/CD variables.',
      }),
    ),
    caSecretRef: Type.Optional(CaSecretRefSchema),
  },
  { description: 'The GitLab instance and how to reach it.', default: {} },
);

export const AwsSchema = Type.Object(
  {
    region: Type.Optional(
      Type.String({
        description:
          "AWS region for the SDK clients (connections are created there). Default: the operator's region.",
        maxLength: 32,
        pattern: PATTERNS.awsRegion,
      }),
    ),
    assumeRoleArn: Type.Optional(
      Type.String({
        description:
          "ARN of a role the operator assumes (sts:AssumeRole) to act in another account. Without it the operator's own credentials are used.",
        maxLength: 2048,
        pattern: PATTERNS.roleArn,
      }),
    ),
  },
  { description: 'The AWS account and region the operator acts in.' },
);

export const DeletionPolicySchema = StringEnum(['Delete', 'Orphan'], {
  description:
    'What happens to what the operator created in AWS and GitLab when this resource is deleted: Delete removes it, Orphan leaves it in place.',
  default: 'Delete',
});

/** Tags; IAM allows 50 per resource and the operator adds its own ownership tags. */
export function Tags(description: string) {
  return MapOf(Type.String({ description: 'Tag value.', maxLength: 256 }), {
    description: `${description} Keys of 1-128 characters, values up to 256; keys starting with aws: or gitlab-aws.io/ are reserved.`,
    maxProperties: 45,
    ...cel({
      rule: "self.all(k, size(k) >= 1 && size(k) <= 128 && !k.startsWith('aws:') && !k.startsWith('gitlab-aws.io/'))",
      message:
        'tag keys must be 1-128 characters and must not start with aws: (reserved by AWS) or gitlab-aws.io/ (set by the operator)',
    }),
  });
}

/** metav1.Condition, field for field, so `kubectl wait` and kstatus tools read it. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      description: 'Type of condition in CamelCase, e.g. Ready.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(['True', 'False', 'Unknown'], {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'The metadata.generation this condition was set for.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    lastTransitionTime: Type.String({
      description: 'When the condition last changed status, reason or message.',
      format: 'date-time',
    }),
    reason: Type.String({
      description: 'Machine-readable CamelCase reason for the last transition.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details, including what to do.', maxLength: 32768 }),
  },
  { description: 'A condition of the resource (metav1.Condition).' },
);

export const ConditionsSchema = Type.Array(ConditionSchema, {
  description:
    'Conditions in the kstatus convention: Ready summarises, Reconciling while work is in flight, Stalled when it cannot proceed without a change.',
  maxItems: 32,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

export const ObservedGenerationSchema = Type.Integer({
  description: 'The metadata.generation the status was last computed for.',
  format: 'int64',
  minimum: 0,
});

export type Condition = Static<typeof ConditionSchema>;
export type SecretKeyRef = Static<typeof SecretKeyRefSchema>;
export type CaSecretRef = Static<typeof CaSecretRefSchema>;
export type GitLabSpec = Static<typeof GitLabSchema>;
export type AwsSpec = Static<typeof AwsSchema>;
export type DeletionPolicy = Static<typeof DeletionPolicySchema>;
