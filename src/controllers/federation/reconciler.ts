// GitLabAwsFederation (DESIGN.md §2.2): the method picks a list of steps, each
// one concern with its own condition; the runtime writes the status at the end
// (and at the checkpoint a step asks for). The changes made outside the
// cluster are said in one event, also when a step fails.
import type { GitLabAwsFederation } from '../../api/v1alpha1/index.ts';
import type { Reconciler } from '../../runtime/reconcile/controller.ts';
import { done, type Outcome } from '../../runtime/reconcile/outcome.ts';
import { runSteps, type Step } from '../../runtime/reconcile/steps.ts';
import {
  ACCESS_KEY_ROTATED,
  IDENTITY_PROVIDER_READY,
  ISSUER_DISCOVERABLE,
  REASONS,
  REFS_PROTECTED,
  ROLE_READY,
  USER_READY,
} from './conditions.ts';
import { finalizeFederation } from './delete.ts';
import { type Ctx, type FederationDeps, type FederationState, newState, SharedFacts } from './state.ts';
import { accessStep } from './steps/access.ts';
import { accessKeyStep } from './steps/access-key.ts';
import { issuerStep } from './steps/issuer.ts';
import { legacyAuditStep, legacyRemovalStep } from './steps/legacy.ts';
import { propagationStep } from './steps/propagation.ts';
import { providerStep } from './steps/provider.ts';
import { refusedTokenStep, rememberRefusal } from './steps/refused-token.ts';
import { retireStep } from './steps/retire.ts';
import { roleStep } from './steps/role.ts';
import { federationTenancyStep } from './steps/tenancy.ts';
import { userStep } from './steps/user.ts';
import { variablesStep, variablesTargetStep } from './steps/variables.ts';
import { verdictStep } from './steps/verdict.ts';

/** method: OIDC, in order. Deletion undoes them in reverse (delete.ts). */
const OIDC_STEPS: Step<FederationState>[] = [
  federationTenancyStep,
  refusedTokenStep,
  issuerStep,
  providerStep,
  accessStep,
  roleStep,
  variablesTargetStep,
  variablesStep,
  legacyAuditStep,
  propagationStep,
  retireStep,
  verdictStep,
  legacyRemovalStep,
];

/**
 * method: IAMUserAccessKeys. The target is recorded before the key is written
 * to it; what the OIDC method made retires once the key is in GitLab.
 */
const KEY_STEPS: Step<FederationState>[] = [
  federationTenancyStep,
  refusedTokenStep,
  userStep,
  variablesTargetStep,
  accessKeyStep,
  variablesStep,
  legacyAuditStep,
  retireStep,
  legacyRemovalStep,
];

/**
 * The conditions only one method's steps own: after a switch of method the
 * other method's are removed at once, so none tells of a role or a key the
 * spec no longer asks for.
 */
const ONLY_OIDC = [ISSUER_DISCOVERABLE, IDENTITY_PROVIDER_READY, ROLE_READY, REFS_PROTECTED];
const ONLY_KEYS = [USER_READY, ACCESS_KEY_ROTATED];

export class FederationReconciler implements Reconciler<GitLabAwsFederation> {
  private readonly deps: FederationDeps;
  private readonly shared = new SharedFacts();

  constructor(deps: FederationDeps) {
    this.deps = deps;
  }

  async reconcile(ctx: Ctx): Promise<Outcome> {
    const s = newState(ctx, this.deps, this.shared);
    const steps = s.r.keys ? KEY_STEPS : OIDC_STEPS;
    for (const type of s.r.keys ? ONLY_OIDC : ONLY_KEYS) ctx.conditions.remove(type);
    try {
      const outcome = (await runSteps(steps, s, ctx)) ?? done(REASONS.ready, readyMessage(s), s.dueInMs);
      this.shared.refusedTokens.delete(ctx.obj.metadata.uid ?? '');
      return outcome;
    } catch (err) {
      throw rememberRefusal(s, err);
    } finally {
      if (s.changes.length) {
        ctx.events.event(ctx.obj, 'Normal', s.created ? 'Created' : 'Updated', s.changes.join('; '));
        s.status.lastSyncedAt = this.deps.now().toISOString();
      }
    }
  }

  finalize(ctx: Ctx): Promise<Outcome> {
    this.shared.refusedTokens.delete(ctx.obj.metadata.uid ?? '');
    return finalizeFederation(newState(ctx, this.deps, this.shared));
  }
}

function readyMessage(s: FederationState): string {
  const variables = s.status.ciVariables?.length
    ? `; ${s.status.ciVariables.map((c) => c.key).join(', ')} published`
    : '';
  if (s.r.keys) {
    return `access key ${s.status.accessKey?.id} of ${s.status.userArn}${variables}; next rotation at ${s.status.accessKey?.nextRotationAt}`;
  }
  return `${s.status.roleArn} may be assumed from ${s.status.subjects?.length ?? 0} subject pattern(s)${variables}`;
}
