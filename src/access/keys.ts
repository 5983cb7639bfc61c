// check-access for a federation of method IAMUserAccessKeys: would AWS take
// the key GitLab holds? Jobs present AWS_ACCESS_KEY_ID and its secret, and AWS
// takes them if the key exists and is Active (else InvalidClientTokenId); what
// the job may then do is the user's policies. This explains, from IAM and the
// federation's status: the user (ARN, path, boundary, policies), the live key
// (status.accessKey.id: Active or not in ListAccessKeys, created, last used),
// when it rotates, the replaced key until its grace period ends, a rotation in
// progress, the last rotate-now, and keys the operator did not make. It reads
// no GitLab (it needs no GitLab token): that GitLab holds the live key is what
// the operator wrote and read back, as the status records it. No secret is
// read or shown: IAM never returns one again. No I/O here (cli.ts reads).
import type { AccessKey, User } from '../adapters/aws/iam.ts';
import type { GitLabAwsFederation } from '../api/v1alpha1/index.ts';
import { ACCESS_KEY_ROTATED, USER_READY } from '../controllers/federation/conditions.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../controllers/federation/rotation.ts';

export interface LastUsed {
  at: Date;
  service: string;
  region: string;
}

export interface KeyFacts {
  federation: GitLabAwsFederation;
  /** The user's name in IAM (status.userArn's, else the spec's). */
  userName: string;
  /** GetUser; undefined when the user does not exist. */
  user: User | undefined;
  managedPolicyArns: string[];
  inlinePolicyNames: string[];
  /** ListAccessKeys. */
  keys: AccessKey[];
  /** GetAccessKeyLastUsed of the keys that exist; absent or undefined: never used. */
  lastUsed: Record<string, LastUsed | undefined>;
  now: Date;
}

export interface KeyVerdict {
  /** The live key exists and is Active: AWS takes it. */
  usable: boolean;
  headline: string;
  details: string[];
}

export function explainKeys(f: KeyFacts): KeyVerdict {
  const { federation: fed, user, keys } = f;
  const status = fed.status ?? {};
  const key = status.accessKey ?? {};
  const liveId = key.id!;
  const live = keys.find((k) => k.id === liveId);
  const where = placeOf(fed);
  const details: string[] = [];

  if (user) {
    details.push(
      `IAM user ${user.name}: path ${user.path}, permissions boundary ${user.permissionsBoundaryArn ?? 'none'}, managed policies ${list(f.managedPolicyArns)}, inline policies ${list(f.inlinePolicyNames)}`,
    );
  }
  if (live) {
    details.push(
      `live key ${liveId}: ${state(live)} in IAM, created ${iso(live.createdAt)}, ${used(f, liveId)}`,
    );
  }
  details.push(
    `GitLab: ${where} holds it as ${ACCESS_KEY_ID} and its secret as ${SECRET_ACCESS_KEY}, as the operator wrote and read them back (status.accessKey.id); check-access does not read GitLab`,
  );
  if (key.nextRotationAt) {
    const interval = fed.spec.rotation?.interval ?? '30d';
    const due = Date.parse(key.nextRotationAt) - f.now.getTime();
    details.push(
      due > 0
        ? `rotates at ${key.nextRotationAt}, in ${span(due)} (spec.rotation.interval ${interval})`
        : `was due for rotation at ${key.nextRotationAt} (spec.rotation.interval ${interval}): the operator replaces it on its next reconcile`,
    );
  }
  if (key.rotation) {
    details.push(
      `a rotation (${key.rotation.reason}) is in progress since ${key.rotation.startedAt}: the next reconcile finishes it`,
    );
  }
  if (key.previous) {
    const old = keys.find((k) => k.id === key.previous!.id);
    details.push(
      old
        ? `replaced key ${old.id}: ${state(old)}, deleted at ${key.previous.deleteAt} (spec.rotation.gracePeriod ${fed.spec.rotation?.gracePeriod ?? '1h'}, so that running jobs finish), ${used(f, old.id)}`
        : `replaced key ${key.previous.id}: already deleted`,
    );
  }
  if (key.revoked) {
    details.push(
      `last gitlab-aws.io/rotate-now: ${key.revoked.rotateNow} at ${key.revoked.at}${key.revoked.id ? `, deleted key ${key.revoked.id}` : ''}`,
    );
  }
  const others = keys.filter((k) => k.id !== liveId && k.id !== key.previous?.id);
  for (const k of others) {
    details.push(
      `the user also has access key ${k.id} (${state(k)}, created ${iso(k.createdAt)}), which is neither the live nor the replaced key`,
    );
  }
  for (const c of status.conditions ?? []) {
    if ((c.type === USER_READY || c.type === ACCESS_KEY_ROTATED) && c.status !== 'True')
      details.push(`the operator reports ${c.type}=${c.status} (${c.reason}): ${c.message}`);
  }

  const userArn = user?.arn ?? status.userArn;
  if (!user) {
    return {
      usable: false,
      headline: `DENIED: IAM user ${f.userName} (${userArn}) does not exist, nor any key of it: AWS refuses access key ${liveId} that ${where} holds (InvalidClientTokenId)`,
      details,
    };
  }
  if (!live?.active) {
    return {
      usable: false,
      headline: `DENIED: access key ${liveId} that ${where} holds ${live ? 'is Inactive' : 'does not exist'} in IAM: AWS refuses it (InvalidClientTokenId)`,
      details,
    };
  }
  return {
    usable: true,
    headline: `ALLOWED: jobs with access key ${liveId} from ${where} act as IAM user ${userArn}`,
    details,
  };
}

/** Where the key variables are (both in one target and scope): from status.ciVariables, else the spec. */
function placeOf(fed: GitLabAwsFederation): string {
  const written = fed.status?.ciVariables?.find((v) => v.key === ACCESS_KEY_ID);
  const target = fed.spec.ciVariables?.target;
  const spec = target?.project ? `project ${target.project}` : `group ${target?.group}`;
  return `${written?.target ?? spec} (scope ${written?.environmentScope ?? fed.spec.ciVariables?.environmentScope ?? '*'})`;
}

const state = (k: AccessKey) => (k.active ? 'Active' : 'Inactive');
const iso = (d: Date) => d.toISOString();
const list = (items: string[]) => (items.length ? items.join(', ') : 'none');

function used(f: KeyFacts, id: string): string {
  const u = f.lastUsed[id];
  return u ? `last used ${iso(u.at)} (${u.service}, ${u.region})` : 'never used';
}

/** 29d 23h, 5h, 3m 20s: the largest unit and the next one unless it is 0. */
export function span(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const i = units.findIndex(([, size]) => ms >= size);
  if (i < 0) return '0s';
  const [name, size] = units[i]!;
  const first = `${Math.floor(ms / size)}${name}`;
  const next = units[i + 1];
  const n = next ? Math.floor((ms % size) / next[1]) : 0;
  return n ? `${first} ${n}${next![0]}` : first;
}
