// `gitlab-aws-operator check-access`: would AWS let this GitLab job assume
// the role? Reads the live trust policy and provider from AWS, takes the
// job's claims from an ID token (decoded, not verified) or from flags, and
// prints allowed or denied with the reasons. For a federation of method
// IAMUserAccessKeys there is no token to check: jobs present the access key,
// and check-access says whether AWS takes the key the operator put into GitLab
// (keys.ts), with the user, the key and its rotation. Exit 0 allowed, 1
// denied, 2 error.
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { AwsClients } from '../adapters/aws/clients.ts';
import type { IamPort } from '../adapters/aws/iam.ts';
import { federationResource, type GitLabAwsFederation } from '../api/v1alpha1/index.ts';
import { resolve } from '../controllers/federation/defaults.ts';
import { parsePolicy } from '../policy/iam-document.ts';
import { providerUrlOf } from '../policy/trust-policy.ts';
import { type FlagSpec, parseFlags, UsageError, usage } from '../runtime/process/flags.ts';
import { Metrics } from '../runtime/process/metrics.ts';
import { CustomResourceClient, loadKubeConfig, namespaceUid } from '../runtime/transport/kube.ts';
import { checkAccess, type TokenClaims } from './check.ts';
import { explainKeys, type LastUsed } from './keys.ts';

export const CHECK_FLAGS: FlagSpec[] = [
  {
    name: 'federation',
    type: 'string',
    help: 'the GitLabAwsFederation to check, as namespace/name (reads its role and issuer; for method IAMUserAccessKeys its user and key, and no token is needed)',
  },
  { name: 'role-arn', type: 'string', help: 'the role to check, instead of a federation' },
  {
    name: 'token',
    type: 'string',
    help: "a file with the job's ID token (- for standard input); decoded, not verified",
  },
  { name: 'project', type: 'string', help: "the job's project path, instead of a token" },
  { name: 'ref-type', type: 'string', default: 'branch', help: 'branch or tag, with --project' },
  { name: 'ref', type: 'string', help: 'the branch or tag name, with --project' },
  {
    name: 'aud',
    type: 'string',
    help: "the aud the job requests, with --project (default: the federation's audience)",
  },
  {
    name: 'issuer',
    type: 'string',
    help: "the token issuer, with --project and --role-arn (default: the federation's issuer)",
  },
  {
    name: 'sub',
    type: 'string',
    help: 'the exact sub claim, when the project customises ci_id_token_sub_claim_components',
  },
  {
    name: 'namespace',
    short: 'n',
    type: 'string',
    help: "the federation's namespace, with its NAME as the argument (as kubectl takes it; default: the kubeconfig context's namespace, else default)",
  },
  { name: 'kubeconfig', env: 'KUBECONFIG', type: 'string', help: 'kubeconfig, with a federation' },
  {
    name: 'context',
    type: 'string',
    help: "the kubeconfig context to use (default: the kubeconfig's current context)",
  },
  {
    name: 'output',
    short: 'o',
    type: 'string',
    default: 'text',
    help: 'text, or json: one JSON object on standard output (allowed, summary, reasons; the exit code is the same)',
    check: (v) => (v === 'text' || v === 'json' ? undefined : 'use text or json'),
  },
  {
    name: 'cluster-id',
    env: 'CLUSTER_ID',
    type: 'string',
    help: "the operator's --cluster-id, for the ExternalId of spec.aws.assumeRoleArn (default: the kube-system namespace's UID)",
  },
  { name: 'aws-region', env: 'AWS_REGION', type: 'string', help: 'AWS region for the IAM client' },
];

export function checkAccessHelp(): string {
  return `Usage: gitlab-aws-operator check-access (--federation NS/NAME | NAME [-n NS] | --role-arn ARN) (--token FILE | --project PATH --ref REF [--ref-type branch|tag] [--aud AUD])
       gitlab-aws-operator check-access --federation NS/NAME   (method IAMUserAccessKeys)
       kubectl gitlab-aws check-access NAME -n NS [--context CTX] [-o json] ...   (the kubectl plugin kubectl-gitlab_aws)

Says whether a GitLab CI/CD job may assume the role, and if not, which check fails.
For a federation of method IAMUserAccessKeys: whether AWS takes the access key the
operator wrote to GitLab, which IAM user it is, when the key was last used and
when it rotates, and the replaced key until it is deleted.
Exit code 0: allowed; 1: denied; 2: the check could not be made.

${usage(CHECK_FLAGS)}
`;
}

export async function runCheckAccess(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const { values: v, positionals } = parseFlags(CHECK_FLAGS, argv, process.env);
  const str = (name: string) =>
    typeof v[name] === 'string' && v[name] !== '' ? (v[name] as string) : undefined;
  if (positionals.length > 1)
    throw new UsageError(`one federation NAME at most, not ${positionals.join(' ')}`);
  const named = positionals[0];
  if ([str('federation'), named, str('role-arn')].filter(Boolean).length !== 1)
    throw new UsageError('give exactly one of a federation NAME, --federation or --role-arn');
  if (str('namespace') && !named) throw new UsageError('-n/--namespace goes with a federation NAME');
  const json = v.output === 'json';
  const print = json ? () => {} : out;
  const kubeConfig = () => {
    const kc = loadKubeConfig(str('kubeconfig'), process.env);
    const context = str('context');
    if (context) {
      if (!kc.getContextObject(context))
        throw new UsageError(`context "${context}" is not in the kubeconfig`);
      kc.setCurrentContext(context);
    }
    return kc;
  };

  let roleArn = str('role-arn');
  let issuer = str('issuer');
  let audience = str('aud');
  let region = str('aws-region');
  let assumeRoleArn: string | undefined;
  let namespace = '';
  let clusterId = str('cluster-id') ?? 'check-access';
  let fed: GitLabAwsFederation | undefined;
  if (str('federation') || named) {
    const kc = kubeConfig();
    const [ns, name] = named
      ? [str('namespace') ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default', named]
      : str('federation')!.split('/');
    if (!ns || !name) throw new UsageError('--federation takes namespace/name');
    namespace = ns;
    fed = await new CustomResourceClient<GitLabAwsFederation>(kc, federationResource).get(namespace, name);
    if (!fed) throw new Error(`federation ${namespace}/${name} does not exist`);
    const r = resolve(fed, region);
    if (r.keys) {
      if (str('token') || str('project'))
        throw new UsageError(
          `federation ${namespace}/${name} has method IAMUserAccessKeys: its jobs present an access key, not an ID token, so check-access takes no --token or --project for it`,
        );
      const missing = !fed.status?.userArn
        ? ['IAM user', 'status.userArn']
        : !fed.status.accessKey?.id
          ? ['access key', 'status.accessKey.id']
          : undefined;
      if (missing)
        throw new Error(
          `federation ${namespace}/${name} has no ${missing[0]} yet (${missing[1]} is empty): see kubectl describe glaf -n ${namespace} ${name}`,
        );
    } else {
      roleArn = fed.status?.roleArn;
      if (!roleArn)
        throw new Error(
          `federation ${namespace}/${name} has no role yet (status.roleArn is empty): see kubectl describe glaf -n ${namespace} ${name}`,
        );
    }
    issuer ??= fed.status?.issuer ?? r.url;
    audience ??= r.audience;
    region ??= r.region;
    assumeRoleArn = r.assumeRoleArn;
    // The operator's ExternalId names its cluster: assume the role as it does.
    if (assumeRoleArn && !str('cluster-id')) {
      const uid = await namespaceUid(kc, 'kube-system').catch(() => undefined);
      if (!uid)
        throw new UsageError("--cluster-id is needed: the kube-system namespace's UID cannot be read");
      clusterId = uid;
    }
  }

  // The federation's own account: through spec.aws.assumeRoleArn, as the operator reaches it.
  const iamOf = () =>
    new AwsClients({
      defaultRegion: region,
      clusterId,
      metrics: new Metrics(),
    }).iamFor(region, assumeRoleArn, namespace);
  if (fed && resolve(fed, region).keys) return checkKeys(fed, iamOf(), json ? out : undefined, print);

  if (!str('token') === !str('project'))
    throw new UsageError('give exactly one of --token or --project (with --ref)');
  if (str('project') && !str('ref')) throw new UsageError('--project needs --ref');

  let claims: TokenClaims;
  if (str('token')) {
    const text = readFileSync(str('token') === '-' ? 0 : str('token')!, 'utf8').trim();
    const payload = decodeJwt(text);
    const aud = payload.aud;
    claims = {
      iss: String(payload.iss ?? ''),
      sub: String(payload.sub ?? ''),
      aud: Array.isArray(aud) ? aud : aud ? [aud] : [],
    };
  } else {
    if (!issuer) throw new UsageError('--issuer is needed with --role-arn and --project');
    const sub = str('sub') ?? `project_path:${str('project')}:ref_type:${str('ref-type')}:ref:${str('ref')}`;
    claims = { iss: issuer, sub, aud: audience ? [audience] : [issuer] };
  }

  const iam = iamOf();
  const roleName = roleArn!.split('/').pop()!;
  const role = await iam.getRole(roleName);
  if (!role) throw new Error(`role ${roleArn} does not exist`);
  const provider = await iam.findOidcProvider(providerUrlOf(claims.iss));
  const verdict = checkAccess({ claims, trustPolicy: parsePolicy(role.trustPolicy), provider });

  const summary = `${verdict.allowed ? 'ALLOWED' : 'DENIED'}: ${claims.sub} (aud ${claims.aud.join(', ')}, issuer ${claims.iss}) ${verdict.allowed ? 'may' : 'may not'} assume ${roleArn}`;
  const conditions = verdict.allowed
    ? verdict.statements
        .find((s) => s.effect === 'Allow' && s.matched)!
        .conditions.map((c) => ({ operator: c.operator, explanation: c.explanation }))
    : [];
  print(`${summary}\n`);
  for (const reason of verdict.reasons) print(`  - ${reason}\n`);
  for (const c of conditions) print(`  - ${c.operator}: ${c.explanation}\n`);
  if (json) {
    const result = {
      allowed: verdict.allowed,
      summary,
      roleArn,
      claims,
      reasons: verdict.reasons,
      conditions,
    };
    out(`${JSON.stringify(result, null, 2)}\n`);
  }
  return verdict.allowed ? 0 : 1;
}

/**
 * A federation of method IAMUserAccessKeys: does AWS take the key GitLab holds
 * (status.accessKey.id exists and is Active)? Reads the user, its policies
 * (names), its keys and when each was last used; never a secret.
 */
async function checkKeys(
  fed: GitLabAwsFederation,
  iam: IamPort,
  json: ((s: string) => void) | undefined,
  out: (s: string) => void,
): Promise<number> {
  const userName = fed.status!.userArn!.split('/').pop()!;
  const principal = { kind: 'user', name: userName } as const;
  const user = await iam.getUser(userName);
  const [managedPolicyArns, inlinePolicyNames, keys] = user
    ? await Promise.all([
        iam.attachedPolicies(principal),
        iam.inlinePolicyNames(principal),
        iam.accessKeys(userName),
      ])
    : [[], [], []];
  const lastUsed: Record<string, LastUsed | undefined> = Object.fromEntries(
    await Promise.all(keys.map(async (k) => [k.id, await iam.accessKeyLastUsed(k.id)] as const)),
  );
  const verdict = explainKeys({
    federation: fed,
    userName,
    user,
    managedPolicyArns,
    inlinePolicyNames,
    keys,
    lastUsed,
    now: new Date(),
  });
  out(`${verdict.headline}\n`);
  for (const line of verdict.details) out(`  - ${line}\n`);
  if (json) {
    const result = {
      allowed: verdict.usable,
      summary: verdict.headline,
      userArn: fed.status!.userArn,
      accessKeyId: fed.status!.accessKey!.id,
      reasons: verdict.details,
    };
    json(`${JSON.stringify(result, null, 2)}\n`);
  }
  return verdict.usable ? 0 : 1;
}
