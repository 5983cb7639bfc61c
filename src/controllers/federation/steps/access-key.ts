// The access key of the IAM user (method IAMUserAccessKeys), in GitLab as
// AWS_ACCESS_KEY_ID (masked) and AWS_SECRET_ACCESS_KEY (masked, hidden and
// protected), replaced every spec.rotation.interval or at once when the
// gitlab-aws.io/rotate-now annotation takes a new value. A rotation: record it
// in the status, make the new key, write its secret and then its ID to
// GitLab, read them back; the old key then stays for the grace period (jobs
// that started with it finish) and is deactivated and deleted after it, or,
// for rotate-now, is deleted at once. The user never has more than
// the two keys IAM allows; a new key GitLab did not take is deleted at once.
// rotation.ts says why a restart at any point finishes the rotation.
//
// The secret lives only in the callback of createAccessKey and in the
// requests to GitLab: it is not stored, logged or put into an error.
import {
  describeTarget,
  type GitLabPort,
  type Target,
  type Variable,
} from '../../../adapters/gitlab/client.ts';
import { parseDuration } from '../../../runtime/process/duration.ts';
import { RetryableError, TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { ACCESS_KEY_ROTATED, REASONS } from '../conditions.ts';
import { ownerMarker } from '../defaults.ts';
import { compact } from '../desired.ts';
import {
  ACCESS_KEY_ID,
  type AccessKeyStatus,
  dueAt,
  MIN_INTERVAL_MS,
  planKeys,
  SECRET_ACCESS_KEY,
} from '../rotation.ts';
import { type FederationState, gitlabOf } from '../state.ts';
import { holderOf } from './variables.ts';

export const ROTATE_NOW_ANNOTATION = 'gitlab-aws.io/rotate-now';

export const accessKeyStep: Step<FederationState> = {
  name: 'access-key',
  condition: ACCESS_KEY_ROTATED,
  async run(s) {
    const { deps } = s;
    const user = s.user!.name;
    const { target } = s.variables!;
    const cv = s.fed.spec.ciVariables!;
    const where: Where = {
      target,
      scope: cv.environmentScope ?? '*',
      marker: ownerMarker(s.r.owner),
      idProtected: cv.protected ?? false,
    };
    const intervalMs = durationOf(s.fed.spec.rotation?.interval ?? '30d', 'spec.rotation.interval');
    const graceMs = durationOf(s.fed.spec.rotation?.gracePeriod ?? '1h', 'spec.rotation.gracePeriod');
    if (intervalMs < MIN_INTERVAL_MS) {
      throw new TerminalError(
        REASONS.invalidRotation,
        `spec.rotation.interval ${s.fed.spec.rotation?.interval} is shorter than 1m: set at least 1m (30d is the default)`,
      );
    }
    const gitlab = (await gitlabOf(s))!;
    const now = deps.now();
    const stored: AccessKeyStatus = s.fed.status?.accessKey ?? {};
    const key: AccessKeyStatus = { ...stored };
    s.status.accessKey = key;

    let listed = await gitlab.variables(target);
    const seen = published(listed, where);
    if (seen.conflicts.length) {
      throw new TerminalError(
        REASONS.variableOwnedElsewhere,
        `CI/CD variable ${seen.conflicts.join('; ')}: the operator never overwrites a variable it does not own, so no access key is made. Delete or rename that variable, or change spec.ciVariables`,
        { recheck: true },
      );
    }
    // A user made in this reconcile has no key yet.
    let keys = s.user!.created ? [] : await s.iam.accessKeys(user);
    const rotateNow = s.fed.metadata.annotations?.[ROTATE_NOW_ANNOTATION];
    const plan = planKeys({
      keys,
      publishedId: seen.id,
      secretPublished: seen.secret,
      stored,
      now,
      intervalMs,
      rotateNow,
    });

    // What goes first: keys whose secret died with an interrupted rotation, and a replaced key past its grace.
    const gone = new Set<string>();
    const remove = async (id: string, why: string) => {
      await s.iam.deleteAccessKey(user, id);
      gone.add(id);
      s.changes.push(`deleted access key ${id} of IAM user ${user}, ${why}`);
    };
    for (const k of plan.orphans) await remove(k.id, 'made by a rotation that stopped before GitLab held it');
    if (plan.expired) {
      // Deactivated first: should the delete fail, the key is at least refused from now on.
      if (plan.expired.active) await s.iam.deactivateAccessKey(user, plan.expired.id);
      await remove(plan.expired.id, `replaced ${s.fed.spec.rotation?.gracePeriod ?? '1h'} ago`);
    }
    if (key.previous && (gone.has(key.previous.id) || !keys.some((k) => k.id === key.previous?.id)))
      delete key.previous;
    keys = keys.filter((k) => !gone.has(k.id));

    let live = plan.live;
    if (plan.rotate) {
      if (!key.rotation) {
        // Recorded before the key exists: any key not in keysBefore is then this rotation's.
        key.rotation = compact({
          startedAt: now.toISOString(),
          reason: plan.rotate,
          keysBefore: keys.map((k) => k.id),
          rotateNow: plan.revoke,
        });
        await s.ctx.checkpoint();
      }
      // Room for the new key: the replaced key, then ours that GitLab does not hold; never the live one, never another's.
      const spare = [
        ...keys.filter((k) => k.id === key.previous?.id),
        ...keys.filter((k) => k.id === stored.id && k.id !== live?.id && k.id !== key.previous?.id),
      ];
      while (keys.length >= 2 && spare.length) {
        const k = spare.shift()!;
        await remove(k.id, 'early, to make room for a new key (IAM allows two)');
        if (k.id === key.previous?.id) delete key.previous;
        keys = keys.filter((x) => x.id !== k.id);
      }
      if (keys.length >= 2) {
        const foreign = plan.foreign.map((k) => k.id).join(', ');
        throw new TerminalError(
          REASONS.accessKeyLimit,
          `IAM user ${user} has two access keys and ${foreign || 'one of them'} was not made by the operator; IAM allows two per user, so no new key can be made (${plan.rotate}). Delete ${foreign || 'it'} (aws iam delete-access-key --user-name ${user} --access-key-id ...), and the rotation goes on`,
          { recheck: true },
        );
      }
      const before = live ?? keys.find((k) => k.id === seen.id);
      live = await s.iam.createAccessKey(user, async (made, secret) => {
        try {
          listed = await publish(gitlab, where, seen, made.id, secret);
        } catch (err) {
          // No usable secret is left behind: the key GitLab did not take goes at once.
          await s.iam.deleteAccessKey(user, made.id).catch(() => {
            // key.rotation still lists the keys before it: the next reconcile deletes it.
          });
          s.changes.push(`deleted the new access key ${made.id} again: GitLab did not take it`);
          throw rechecked(err);
        }
        return made;
      });
      keys = [...keys, live];
      s.changes.push(
        `${before ? `replaced access key ${before.id} with` : 'made access key'} ${live.id} of IAM user ${user} (${plan.rotate}) and wrote it to ${describeTarget(target)}`,
      );
    }

    if (plan.rotate || plan.finish) {
      // The rotation is over: the old key stays for its grace period, so that jobs that started with it
      // finish, or is deleted at once when revoked: by the rotate-now value its record answers (also when
      // a GitLab write failed or a restart came between), or by one set while it ran (planKeys).
      const revoke = plan.revoke;
      const old = keys.filter((k) => k.id !== live!.id && (k.id === stored.id || k.id === seen.id));
      for (const k of old) {
        if (revoke) {
          await remove(k.id, `at once (${ROTATE_NOW_ANNOTATION}: a suspected leak)`);
        } else {
          key.previous = { id: k.id, deleteAt: new Date(now.getTime() + graceMs).toISOString() };
          s.changes.push(`access key ${k.id} is deleted at ${key.previous.deleteAt}`);
        }
      }
      if (revoke) {
        // The key replaced: deleted just now, or already by the run a restart cut short.
        const replaced = old[0]?.id ?? (stored.id !== live!.id ? stored.id : undefined);
        key.revoked = compact({ rotateNow: revoke, at: now.toISOString(), id: replaced });
        s.ctx.events.event(
          s.fed,
          'Normal',
          'AccessKeyRevoked',
          `${ROTATE_NOW_ANNOTATION} ${revoke}: access key ${live!.id} replaced ${replaced ? `access key ${replaced}, which is deleted` : 'no earlier key'}`,
        );
      }
      delete key.rotation;
    }

    const current = live!;
    const nextAt = dueAt(current, intervalMs);
    Object.assign(key, {
      id: current.id,
      createdAt: current.createdAt.toISOString(),
      nextRotationAt: nextAt.toISOString(),
    });
    if (!plan.rotate && seen.idVar && (seen.idVar.protected !== where.idProtected || !seen.idVar.masked)) {
      await gitlab.updateVariable(target, idVariable(where, current.id));
      s.changes.push(
        `corrected variable ${ACCESS_KEY_ID} (scope ${where.scope}) in ${describeTarget(target)}`,
      );
    }
    // What the target holds now, for the variables step (the region) and the legacy audit.
    s.existingVariables = listed;
    const due = [nextAt.getTime(), ...(key.previous ? [Date.parse(key.previous.deleteAt)] : [])];
    s.dueInMs = Math.max(Math.min(...due) - now.getTime(), 1000);
    const others = plan.foreign.filter((k) => !gone.has(k.id)).map((k) => k.id);
    s.ctx.conditions.set(
      ACCESS_KEY_ROTATED,
      true,
      REASONS.rotated,
      `access key ${current.id} of IAM user ${user} (made ${key.createdAt}) is in ${describeTarget(target)}; next rotation at ${key.nextRotationAt}${others.length ? `. The user also has access key ${others.join(', ')}, which the operator did not make and does not rotate` : ''}`,
    );
    return next();
  },
};

interface Where {
  target: Target;
  scope: string;
  marker: string;
  idProtected: boolean;
}

type Published = ReturnType<typeof published>;

/** What the target holds of ours: the key ID, whether the secret is beside it, and what is another's. */
function published(vars: Variable[], w: Where) {
  const find = (key: string) => vars.find((v) => v.key === key && v.environmentScope === w.scope);
  const idVar = find(ACCESS_KEY_ID);
  const secretVar = find(SECRET_ACCESS_KEY);
  const conflicts = [idVar, secretVar]
    .filter((v): v is Variable => !!v && v.description !== w.marker)
    .map((v) => `${v.key} (scope ${w.scope}) in ${describeTarget(w.target)} is held by ${holderOf(v)}`);
  const ours = (v: Variable | undefined) => (v?.description === w.marker ? v : undefined);
  return {
    conflicts,
    idVar: ours(idVar),
    secretVar: ours(secretVar),
    id: ours(idVar)?.value ?? undefined,
    secret: !!ours(secretVar) && secretVar!.masked && secretVar!.protected,
  };
}

const idVariable = (w: Where, id: string) => ({
  key: ACCESS_KEY_ID,
  value: id,
  environmentScope: w.scope,
  protected: w.idProtected,
  masked: true,
  raw: true,
  description: w.marker,
});

/**
 * Writes the key to GitLab, the secret before the ID (so a key ID in GitLab
 * means its secret is there too), and reads them back.
 */
async function publish(
  gitlab: GitLabPort,
  w: Where,
  before: Published,
  id: string,
  secret: string,
): Promise<Variable[]> {
  const found = before.secretVar;
  const secretVar = {
    key: SECRET_ACCESS_KEY,
    value: secret,
    environmentScope: w.scope,
    protected: true,
    masked: true,
    hidden: true,
    raw: true,
    description: w.marker,
  };
  if (found?.hidden) {
    await gitlab.updateVariable(w.target, secretVar);
  } else {
    // A variable cannot be made hidden afterwards: ours without it is made again.
    if (found) await gitlab.deleteVariable(w.target, SECRET_ACCESS_KEY, w.scope);
    await gitlab.createVariable(w.target, secretVar);
  }
  if (before.idVar) await gitlab.updateVariable(w.target, idVariable(w, id));
  else await gitlab.createVariable(w.target, idVariable(w, id));
  const after = await gitlab.variables(w.target);
  const check = published(after, w);
  if (check.id !== id || !check.secret) {
    throw new RetryableError(
      REASONS.keyNotInGitLab,
      `GitLab does not show access key ${id} in ${describeTarget(w.target)} (scope ${w.scope}) after it was written`,
    );
  }
  return after;
}

/**
 * The error of a GitLab write in a rotation, without its cause (the failed
 * request inside it carried the secret). A refusal is looked at again every
 * resync even without a spec change: the secret may already be in GitLab
 * beside the old key's ID, so jobs fail until the rotation is finished.
 */
function rechecked(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (err instanceof TerminalError && !err.recheck) {
    return new TerminalError(err.reason, err.message, { recheck: true });
  }
  delete (err as { cause?: unknown }).cause;
  return err;
}

function durationOf(text: string, field: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new TerminalError(
      REASONS.invalidRotation,
      `${field} ${text} is not a duration: use e.g. 30d, 12h, 90m`,
    );
  }
}
