// GitLabConnection: an AWS CodeConnections connection (plus a host for
// self-managed GitLab) that CodePipeline uses to fetch source (DESIGN.md 2.3).
import { type Static, Type } from '@sinclair/typebox';
import {
  AwsSchema,
  type CelRule,
  ConditionsSchema,
  cel,
  DeletionPolicySchema,
  GITLAB_COM,
  GitLabSchema,
  ObservedGenerationSchema,
  Tags,
} from './common.ts';

// AWS accepts any characters; a portable set keeps names usable in scripts and
// matches the default, metadata.name.
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

const awsId = (prefix: string, what: string) =>
  // The shapes of CodeConnections' VpcId / SubnetId / SecurityGroupId.
  Type.String({ description: what, maxLength: 32, pattern: `^${prefix}-[A-Za-z0-9_]{8}([A-Za-z0-9_]{9})?$` });

export const VpcConfigurationSchema = Type.Object(
  {
    vpcId: awsId('vpc', 'ID of the VPC where the GitLab instance is reachable, e.g. vpc-0123456789abcdef0.'),
    subnetIds: Type.Array(awsId('subnet', 'Subnet ID.'), {
      description: 'Subnets of the VPC that CodeConnections uses (1-10).',
      minItems: 1,
      maxItems: 10,
    }),
    securityGroupIds: Type.Array(awsId('sg', 'Security group ID.'), {
      description: 'Security groups for the connection endpoints (1-10).',
      minItems: 1,
      maxItems: 10,
    }),
    tlsCertificate: Type.Optional(
      Type.String({
        description:
          "PEM certificate of the GitLab instance's TLS endpoint, when it is not publicly trusted.",
        minLength: 1,
        maxLength: 16384,
      }),
    ),
  },
  {
    description:
      'VPC through which AWS reaches a GitLab instance that is not on the internet. Immutable: changing it requires recreating the resource.',
  },
);

export const HostSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description:
          'Name of the CodeConnections host (1-64 characters). Default: the connection name. Immutable.',
        minLength: 1,
        maxLength: 64,
        pattern: NAME_PATTERN,
      }),
    ),
    vpcConfiguration: Type.Optional(VpcConfigurationSchema),
  },
  {
    description:
      'The CodeConnections host that represents a self-managed or Dedicated GitLab instance. Only for a gitlab.url other than https://gitlab.com; created with defaults when omitted.',
  },
);

const hasVpc = (o: string) => `(has(${o}.host) && has(${o}.host.vpcConfiguration))`;

export const GitLabConnectionSpecSchema = Type.Object(
  {
    connectionName: Type.Optional(
      Type.String({
        description:
          'Name of the connection in AWS (1-32 characters, unique in the account). Default: metadata.name. Immutable.',
        minLength: 1,
        maxLength: 32,
        pattern: NAME_PATTERN,
      }),
    ),
    gitlab: Type.Optional(GitLabSchema),
    host: Type.Optional(HostSchema),
    aws: Type.Optional(AwsSchema),
    tags: Type.Optional(Tags('Tags on the connection and the host.')),
    deletionPolicy: Type.Optional(DeletionPolicySchema),
  },
  {
    description:
      'Desired state of the connection. https://gitlab.com gives provider type GitLab; any other URL a host of type GitLabSelfManaged.',
    // Spelled out: the API server checks a default against the rules without
    // applying the nested defaults first.
    default: { gitlab: { url: GITLAB_COM } },
    ...cel(
      {
        rule: `!has(self.host) || self.gitlab.url != '${GITLAB_COM}'`,
        message:
          'host is only for self-managed GitLab or GitLab Dedicated: remove it, or set gitlab.url to your instance',
        fieldPath: '.host',
      },
      {
        rule: `(self.gitlab.url == '${GITLAB_COM}') == (oldSelf.gitlab.url == '${GITLAB_COM}')`,
        message:
          'switching between gitlab.com and a self-managed GitLab needs a new connection: delete and recreate the GitLabConnection',
        fieldPath: '.gitlab.url',
      },
      {
        rule: `${hasVpc('self')} ? (${hasVpc('oldSelf')} && self.host.vpcConfiguration == oldSelf.host.vpcConfiguration) : !${hasVpc('oldSelf')}`,
        message: 'host.vpcConfiguration is immutable: delete and recreate the GitLabConnection to change it',
        fieldPath: '.host.vpcConfiguration',
      },
    ),
  },
);

// The names default to metadata.name, which only the root can see; comparing
// the effective names also lets a user write down the default without a change.
const connectionName = (o: string) =>
  `(has(${o}.spec.connectionName) ? ${o}.spec.connectionName : ${o}.metadata.name)`;
const hostName = (o: string) =>
  `(has(${o}.spec.host) && has(${o}.spec.host.name) ? ${o}.spec.host.name : ${connectionName(o)})`;

/** Rules on the whole object (they need metadata.name). */
export const GitLabConnectionRootRules: CelRule[] = [
  {
    rule: 'has(self.spec.connectionName) || size(self.metadata.name) <= 32',
    message:
      'metadata.name is longer than 32 characters, the limit for a connection name: set spec.connectionName (1-32 characters)',
    fieldPath: '.spec.connectionName',
  },
  {
    rule: `${connectionName('self')} == ${connectionName('oldSelf')}`,
    message:
      'connectionName is immutable (it defaults to metadata.name): delete and recreate the GitLabConnection to use another name',
    fieldPath: '.spec.connectionName',
  },
  {
    rule: `${hostName('self')} == ${hostName('oldSelf')}`,
    message:
      'host.name is immutable (it defaults to the connection name): delete and recreate the GitLabConnection to use another name',
    fieldPath: '.spec.host.name',
  },
];

export const GitLabConnectionStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGenerationSchema),
    connectionArn: Type.Optional(
      Type.String({ description: 'ARN of the connection (codeconnections or codestar-connections prefix).' }),
    ),
    connectionStatus: Type.Optional(
      Type.String({
        description:
          'Status of the connection in AWS: PENDING until a GitLab Owner completes the handshake at authorizationUrl, then AVAILABLE; or ERROR.',
      }),
    ),
    hostArn: Type.Optional(Type.String({ description: 'ARN of the host (self-managed GitLab).' })),
    hostStatus: Type.Optional(
      Type.String({
        description: 'Status of the host in AWS, e.g. PENDING, AVAILABLE, VPC_CONFIG_INITIALIZING.',
      }),
    ),
    authorizationUrl: Type.Optional(
      Type.String({ description: 'Console page where a GitLab Owner completes the pending handshake.' }),
    ),
    conditions: Type.Optional(ConditionsSchema),
  },
  { description: 'Observed state of the connection, written by the operator.' },
);

export type GitLabConnectionSpec = Static<typeof GitLabConnectionSpecSchema>;
export type GitLabConnectionStatus = Static<typeof GitLabConnectionStatusSchema>;
export type HostSpec = Static<typeof HostSchema>;
export type VpcConfiguration = Static<typeof VpcConfigurationSchema>;
