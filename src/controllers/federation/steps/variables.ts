// The CI/CD variables jobs need (ROLE_ARN and the region; the access key
// is steps/access-key.ts's). The
// target is recorded in the status before anything is written to it (a
// checkpoint between the two steps), so that a later change of target, or a
// crash, never loses track of a variable the operator wrote. Ours carry an
// owner marker in their description; a variable with the same key and scope
// without our marker is never overwritten, and the condition says who holds it.
import {
  describeTarget,
  type GitLabPort,
  type Target,
  type Variable,
} from '../../../adapters/gitlab/client.ts';
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { checkpoint, next, type Step } from '../../../runtime/reconcile/steps.ts';
import { deleteOwnedVariables, parseTarget } from '../cleanup.ts';
import { CI_VARIABLES_READY, REASONS } from '../conditions.ts';
import { ownerMarker, targetOf } from '../defaults.ts';
import { type DesiredVariable, desiredVariables } from '../desired.ts';
import { KEY_VARIABLES } from '../rotation.ts';
import { type FederationState, gitlabOf } from '../state.ts';

export const variablesTargetStep: Step<FederationState> = {
  name: 'variables-target',
  condition: CI_VARIABLES_READY,
  async run(s) {
    const cv = s.fed.spec.ciVariables;
    if (!cv) return next();
    const target = targetOf(cv.target);
    const desired = desiredVariables(cv, s.role?.arn, s.r.region);
    s.variables = { target, desired };
    const here = describeTarget(target);
    const recorded = (s.fed.status?.ciVariables ?? []).some((v) => v.target === here);
    const scope = cv.environmentScope ?? '*';
    s.status.ciVariables = [
      ...(s.fed.status?.ciVariables ?? []).filter((v) => v.target !== here),
      ...(s.r.keys ? KEY_VARIABLES.map((key) => ({ target: here, key, environmentScope: scope })) : []),
      ...desired.map((d) => ({ target: here, key: d.key, environmentScope: d.environmentScope })),
    ];
    return recorded ? next() : checkpoint();
  },
};

export const variablesStep: Step<FederationState> = {
  name: 'variables',
  condition: CI_VARIABLES_READY,
  async run(s) {
    const gitlab = await gitlabOf(s);
    if (!s.variables) {
      // No longer asked for: ours go from where they were, and the condition with them.
      if (gitlab) s.changes.push(...(await leaveOldTargets(s, gitlab, undefined)));
      delete s.status.ciVariables;
      s.ctx.conditions.remove(CI_VARIABLES_READY);
      return next();
    }
    const { target, desired } = s.variables;
    const result = await ensureVariables(
      gitlab!,
      target,
      desired,
      s.r.owner,
      keptKeyVariables(s),
      s.existingVariables,
    );
    s.existingVariables = result.existing;
    s.changes.push(...(await leaveOldTargets(s, gitlab!, target)), ...result.changes);
    s.status.ciVariables = [...result.kept, ...result.written];
    if (result.conflicts.length) {
      throw new TerminalError(
        REASONS.variableOwnedElsewhere,
        `CI/CD variable ${result.conflicts.join('; ')}: the operator never overwrites a variable it does not own. Delete or rename that variable, or change spec.ciVariables`,
        { recheck: true },
      );
    }
    s.ctx.conditions.set(
      CI_VARIABLES_READY,
      true,
      REASONS.written,
      `${[...result.kept, ...result.written].map((w) => w.key).join(', ')} written to ${describeTarget(target)}`,
    );
    return next();
  },
};

/** Removes our variables from targets the status records and the spec no longer names. */
async function leaveOldTargets(
  s: FederationState,
  gitlab: GitLabPort,
  current: Target | undefined,
): Promise<string[]> {
  const now = current ? describeTarget(current) : undefined;
  const old = [...new Set((s.fed.status?.ciVariables ?? []).map((v) => v.target))].filter((t) => t !== now);
  const changes: string[] = [];
  for (const text of old) {
    const target = parseTarget(text);
    if (target) changes.push(...(await deleteOwnedVariables(gitlab, target, s.r.owner)));
  }
  return changes;
}

interface VariableRef {
  target: string;
  key: string;
  environmentScope: string;
}

/**
 * Our key variables the variables step leaves alone: the access-key step's,
 * at the current scope (method IAMUserAccessKeys), or all of them while a
 * user retires (after a change to method OIDC they go with it, once Ready).
 */
function keptKeyVariables(s: FederationState): (v: Variable) => boolean {
  const scope = s.fed.spec.ciVariables?.environmentScope ?? '*';
  if (s.r.keys) return (v) => KEY_VARIABLES.includes(v.key) && v.environmentScope === scope;
  if (s.status.retiring?.users?.length) return (v) => KEY_VARIABLES.includes(v.key);
  return () => false;
}

export function holderOf(v: Variable): string {
  const m = /managed by gitlab-aws-operator: (\S+)/.exec(v.description ?? '');
  return m ? `the federation ${m[1]}` : 'someone else (it has no gitlab-aws-operator marker)';
}

async function ensureVariables(
  gitlab: GitLabPort,
  target: Target,
  desired: DesiredVariable[],
  owner: string,
  keep: (v: Variable) => boolean,
  /** The target's variables as an earlier step of this reconcile read them, if one did. */
  listed?: Variable[],
): Promise<{
  written: VariableRef[];
  kept: VariableRef[];
  conflicts: string[];
  changes: string[];
  existing: Variable[];
}> {
  const marker = ownerMarker(owner);
  const existing = listed ?? (await gitlab.variables(target));
  const here = describeTarget(target);
  // The variables are independent of each other: written concurrently, reported in order.
  const outcomes = await Promise.all(
    desired.map(async (d): Promise<{ change?: string; conflict?: string }> => {
      const found = existing.find((v) => v.key === d.key && v.environmentScope === d.environmentScope);
      const want = { ...d, masked: false, raw: true, description: marker };
      if (!found) {
        await gitlab.createVariable(target, want);
        return { change: `created variable ${d.key} (scope ${d.environmentScope}) in ${here}` };
      }
      if (found.description !== marker)
        return {
          conflict: `${d.key} (scope ${d.environmentScope}) in ${here} is held by ${holderOf(found)}`,
        };
      if (found.value !== d.value || found.protected !== d.protected || found.masked || !found.raw) {
        await gitlab.updateVariable(target, want);
        return { change: `updated variable ${d.key} (scope ${d.environmentScope}) in ${here}` };
      }
      return {};
    }),
  );
  const written: VariableRef[] = [];
  const conflicts: string[] = [];
  const changes: string[] = [];
  outcomes.forEach((o, i) => {
    const d = desired[i]!;
    if (o.conflict) conflicts.push(o.conflict);
    else written.push({ target: here, key: d.key, environmentScope: d.environmentScope });
    if (o.change) changes.push(o.change);
  });
  // Ours, but no longer wanted here (a key or scope changed in the spec).
  const kept: VariableRef[] = [];
  for (const v of existing) {
    if (
      v.description !== marker ||
      desired.some((d) => d.key === v.key && d.environmentScope === v.environmentScope)
    )
      continue;
    if (keep(v)) {
      kept.push({ target: here, key: v.key, environmentScope: v.environmentScope });
      continue;
    }
    await gitlab.deleteVariable(target, v.key, v.environmentScope);
    changes.push(
      `deleted variable ${v.key} (scope ${v.environmentScope}) in ${here}, which the spec no longer lists`,
    );
  }
  return { written, kept, conflicts, changes, existing };
}
