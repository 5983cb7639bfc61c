// Pure decisions of the access-key rotation (method IAMUserAccessKeys): which
// of the user's keys are the operator's, which go, and whether a rotation is
// due. No I/O; table-tested in test/unit/rotation.test.ts. The rotation itself
// (steps/access-key.ts) is crash-safe because everything it decides here comes
// from IAM, GitLab and the status, never from memory:
//
// - status.accessKey.rotation is written before a new key is made: its
//   keysBefore says which keys existed, so any other key is the rotation's own;
// - the secret is written to GitLab before the key ID, so GitLab naming a key
//   made by the rotation means it holds that key's secret as well;
// - a key the rotation made that GitLab does not name has lost its secret (it
//   existed only in the process that died) and is deleted;
// - the rotate-now value a rotation answers is in its record, so a resumed
//   or finished rotation still deletes the key it replaces at once.
import type { AccessKey } from '../../adapters/aws/iam.ts';
import type { GitLabAwsFederationStatus } from '../../api/v1alpha1/index.ts';

export type AccessKeyStatus = NonNullable<GitLabAwsFederationStatus['accessKey']>;
export type RotationReason = 'FirstKey' | 'Interval' | 'RotateNow' | 'NotInGitLab';

/** The shortest rotation interval: a key is not meant to be replaced on every reconcile. */
export const MIN_INTERVAL_MS = 60_000;

export const ACCESS_KEY_ID = 'AWS_ACCESS_KEY_ID';
export const SECRET_ACCESS_KEY = 'AWS_SECRET_ACCESS_KEY';
/** The variables the access-key step writes (the region is the variables step's). */
export const KEY_VARIABLES = [ACCESS_KEY_ID, SECRET_ACCESS_KEY];

export interface Observed {
  /** The user's keys, from IAM. */
  keys: AccessKey[];
  /** The key ID in our AWS_ACCESS_KEY_ID variable, if there is one. */
  publishedId: string | undefined;
  /** Our AWS_SECRET_ACCESS_KEY variable is there, masked and protected. */
  secretPublished: boolean;
  stored: AccessKeyStatus;
  now: Date;
  intervalMs: number;
  /** The value of the gitlab-aws.io/rotate-now annotation. */
  rotateNow: string | undefined;
}

export interface KeyPlan {
  /** The key jobs use now: active in IAM, named in GitLab with its secret beside it. */
  live: AccessKey | undefined;
  /** A rotation in progress whose key GitLab already holds: finish it with `live`. */
  finish: boolean;
  /** Keys an interrupted rotation made that GitLab does not hold: their secret is lost. */
  orphans: AccessKey[];
  /** The replaced key, once its grace period is over. */
  expired: AccessKey | undefined;
  /** Why a (new or resumed) rotation must run now; undefined when none is due. */
  rotate: RotationReason | undefined;
  /**
   * The gitlab-aws.io/rotate-now value the rotation (new, resumed or being
   * finished) answers: the key it replaces is deleted at once instead of
   * after the grace period. Undefined when no rotation runs or none was asked.
   */
  revoke: string | undefined;
  /** Keys of the user the operator did not make. */
  foreign: AccessKey[];
}

export function planKeys(o: Observed): KeyPlan {
  const { keys, stored, now } = o;
  const rotation = stored.rotation;
  const found = keys.find((k) => k.id === o.publishedId && k.active);
  const live = found && o.secretPublished ? found : undefined;
  const finish = !!(rotation && live && !rotation.keysBefore.includes(live.id));
  const orphans = rotation
    ? keys.filter((k) => !rotation.keysBefore.includes(k.id) && k.id !== live?.id)
    : [];
  const previous = stored.previous;
  const expired =
    previous && previous.id !== live?.id && Date.parse(previous.deleteAt) <= now.getTime()
      ? keys.find((k) => k.id === previous.id)
      : undefined;
  const ours = new Set(
    [live?.id, o.publishedId, stored.id, previous?.id, ...orphans.map((k) => k.id)].filter(Boolean),
  );
  const foreign = keys.filter((k) => !ours.has(k.id));
  let rotate: RotationReason | undefined;
  if (!finish) {
    if (rotation) rotate = rotation.reason as RotationReason;
    else if (!live) rotate = stored.id ? 'NotInGitLab' : 'FirstKey';
    else if (revocationAsked(o.rotateNow, stored)) rotate = 'RotateNow';
    else if (now.getTime() >= dueAt(live, o.intervalMs).getTime()) rotate = 'Interval';
  }
  // Once recorded, the value no longer counts as asked (revocationAsked): the record says it.
  const asked = revocationAsked(o.rotateNow, stored) ? o.rotateNow : undefined;
  const revoke = rotate || finish ? (rotation?.rotateNow ?? asked) : undefined;
  return { live, finish, orphans, expired, rotate, revoke, foreign };
}

/** A rotate-now value not answered yet. */
export function revocationAsked(value: string | undefined, stored: AccessKeyStatus): boolean {
  return !!value && value !== stored.revoked?.rotateNow && value !== stored.rotation?.rotateNow;
}

export function dueAt(key: AccessKey, intervalMs: number): Date {
  return new Date(key.createdAt.getTime() + intervalMs);
}
