// Input validation as the service's front end does it, from the model's constraints.
//
// Sources: boto/botocore botocore/data/codestar-connections/2019-12-01/service-2.json (shapes
// ConnectionName, HostName, Url, VpcId, SubnetIds, SecurityGroupIds, TlsCertificate, TagKey,
// TagValue, TagList, TagKeyList, MaxResults, NextToken, ConnectionArn, HostArn,
// AmazonResourceName, ProviderType) and the current API reference
// (docs.aws.amazon.com/codestar-connections/latest/APIReference/), whose HostArn pattern accepts
// both `codestar-connections` and `codeconnections`.
//
// The model declares no ValidationException, but the service answers constraint violations with
// one, in the Coral wording, for example (seen in a Terraform run against AWS):
//   api error ValidationException: 1 validation error detected: Value '...' at 'connectionName'
//   failed to satisfy constraint: Member must have length less than or equal to 32
// Every violation in the request is reported in one message, members named in lowerCamelCase and
// list members as `tags.1.member.key` (1-based), which is what Coral does.
import { ServiceError } from './protocol.ts';

export const PROVIDER_TYPES = [
  'Bitbucket',
  'GitHub',
  'GitHubEnterpriseServer',
  'GitLab',
  'GitLabSelfManaged',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Provider types that live on a host (installed providers). API reference, CreateHost. */
export const HOST_PROVIDER_TYPES: readonly ProviderType[] = ['GitHubEnterpriseServer', 'GitLabSelfManaged'];

// Model patterns, verbatim. Coral matches the whole value (Java Matcher.matches()).
export const PATTERNS = {
  arn: String.raw`arn:aws(-[\w]+)*:.+:.+:[0-9]{12}:.+`,
  hostArnBoth: String.raw`arn:aws(-[\w]+)*:(codestar-connections|codeconnections):.+:[0-9]{12}:host\/.+`,
  hostArnCodestarOnly: String.raw`arn:aws(-[\w]+)*:codestar-connections:.+:[0-9]{12}:host\/.+`,
  anything: String.raw`[\s\S]*`,
  dotStar: '.*',
  nextToken: '^.*$',
  vpcId: String.raw`vpc-\w{8}(\w{9})?`,
  subnetId: String.raw`subnet-\w{8}(\w{9})?`,
  securityGroupId: String.raw`sg-\w{8}(\w{9})?`,
};

const compiled = new Map<string, RegExp>();
function fullMatch(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    // Strip the ^...$ some model patterns carry; anchoring is added here for all of them.
    const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
    re = new RegExp(`^(?:${body})$`);
    compiled.set(pattern, re);
  }
  return re.test(value);
}

interface StringRule {
  min?: number;
  max?: number;
  pattern?: string;
  enum?: readonly string[];
}

/** Collects constraint violations for one request, then throws them as one ValidationException. */
export class Validator {
  private readonly problems: string[] = [];

  private fail(path: string, value: unknown, constraint: string): void {
    this.problems.push(`Value ${show(value)} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  /**
   * A string member. Returns the value when it is a string (even an invalid one), so callers can
   * go on checking other members; a wrong JSON type is a SerializationException, as in Coral.
   */
  string(path: string, value: unknown, rule: StringRule & { required?: boolean }): string | undefined {
    if (value === undefined || value === null) {
      if (rule.required) this.fail(path, null, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'string') throw serialization(path);
    if (rule.enum && !rule.enum.includes(value)) {
      this.fail(path, value, `Member must satisfy enum value set: [${rule.enum.join(', ')}]`);
    }
    if (rule.min !== undefined && value.length < rule.min) {
      this.fail(path, value, `Member must have length greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value.length > rule.max) {
      this.fail(path, value, `Member must have length less than or equal to ${rule.max}`);
    }
    if (rule.pattern !== undefined && !fullMatch(rule.pattern, value)) {
      this.fail(path, value, `Member must satisfy regular expression pattern: ${rule.pattern}`);
    }
    return value;
  }

  integer(path: string, value: unknown, rule: { min?: number; max?: number }): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(path);
    if (rule.min !== undefined && value < rule.min) {
      this.fail(path, value, `Member must have value greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value > rule.max) {
      this.fail(path, value, `Member must have value less than or equal to ${rule.max}`);
    }
    return value;
  }

  list(
    path: string,
    value: unknown,
    rule: { min?: number; max?: number; required?: boolean },
  ): unknown[] | undefined {
    if (value === undefined || value === null) {
      if (rule.required) this.fail(path, null, 'Member must not be null');
      return undefined;
    }
    if (!Array.isArray(value)) throw serialization(path);
    if (rule.min !== undefined && value.length < rule.min) {
      this.fail(path, value, `Member must have length greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value.length > rule.max) {
      this.fail(path, value, `Member must have length less than or equal to ${rule.max}`);
    }
    return value;
  }

  structure(path: string, value: unknown, required = false): Record<string, unknown> | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, null, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) throw serialization(path);
    return value as Record<string, unknown>;
  }

  /** TagList: 0..200 Tag{Key 1..128 `.*`, Value 0..256 `.*`}, both required. */
  tags(path: string, value: unknown, required = false): Tag[] | undefined {
    const list = this.list(path, value, { min: 0, max: 200, required });
    if (!list) return undefined;
    const tags: Tag[] = [];
    list.forEach((item, i) => {
      const member = `${path}.${i + 1}.member`;
      const tag = this.structure(member, item, true);
      if (!tag) return;
      const key = this.string(`${member}.key`, tag.Key, {
        required: true,
        min: 1,
        max: 128,
        pattern: PATTERNS.dotStar,
      });
      const val = this.string(`${member}.value`, tag.Value, {
        required: true,
        min: 0,
        max: 256,
        pattern: PATTERNS.dotStar,
      });
      if (key !== undefined && val !== undefined) tags.push({ Key: key, Value: val });
    });
    return tags;
  }

  /** VpcConfiguration{VpcId, SubnetIds 1..10, SecurityGroupIds 1..10, TlsCertificate?}. */
  vpcConfiguration(path: string, value: unknown): VpcConfiguration | undefined {
    const vpc = this.structure(path, value);
    if (!vpc) return undefined;
    const vpcId = this.string(`${path}.vpcId`, vpc.VpcId, {
      required: true,
      min: 12,
      max: 21,
      pattern: PATTERNS.vpcId,
    });
    const subnets = this.list(`${path}.subnetIds`, vpc.SubnetIds, { required: true, min: 1, max: 10 }) ?? [];
    subnets.forEach((s, i) => {
      this.string(`${path}.subnetIds.${i + 1}.member`, s, {
        required: true,
        min: 15,
        max: 24,
        pattern: PATTERNS.subnetId,
      });
    });
    const groups =
      this.list(`${path}.securityGroupIds`, vpc.SecurityGroupIds, { required: true, min: 1, max: 10 }) ?? [];
    groups.forEach((g, i) => {
      this.string(`${path}.securityGroupIds.${i + 1}.member`, g, {
        required: true,
        min: 11,
        max: 20,
        pattern: PATTERNS.securityGroupId,
      });
    });
    const tls = this.string(`${path}.tlsCertificate`, vpc.TlsCertificate, {
      min: 1,
      max: 16384,
      pattern: PATTERNS.anything,
    });
    const out: VpcConfiguration = {
      VpcId: vpcId ?? '',
      SubnetIds: subnets as string[],
      SecurityGroupIds: groups as string[],
    };
    if (tls !== undefined) out.TlsCertificate = tls;
    return out;
  }

  /** Throws the collected violations, if any. */
  check(): void {
    if (this.problems.length === 0) return;
    const n = this.problems.length;
    throw new ServiceError(
      'ValidationException',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`,
      { namespace: 'com.amazon.coral.validate' },
    );
  }
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface VpcConfiguration {
  VpcId: string;
  SubnetIds: string[];
  SecurityGroupIds: string[];
  TlsCertificate?: string;
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 200 ? `${value.slice(0, 200)}...` : value}'`;
  if (Array.isArray(value)) return `'[${value.length} items]'`;
  return `'${String(value)}'`;
}

function serialization(path: string): ServiceError {
  return new ServiceError('SerializationException', `Unexpected JSON type for member '${path}'`, {
    namespace: 'com.amazon.coral.service',
  });
}

/** A semantic validation failure (not a model constraint): same error type, a plain message. */
export function invalid(message: string): ServiceError {
  return new ServiceError('ValidationException', message, { namespace: 'com.amazon.coral.validate' });
}
