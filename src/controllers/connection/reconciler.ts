// GitLabConnection (DESIGN.md §2.3): host (self-managed only) → connection →
// tags → what AWS says about the connection, one step each. The changes made
// in AWS are said in one event, also when a step fails.
import type { GitLabConnection } from '../../api/v1alpha1/index.ts';
import type { Reconciler } from '../../runtime/reconcile/controller.ts';
import type { Outcome } from '../../runtime/reconcile/outcome.ts';
import { runSteps, type Step } from '../../runtime/reconcile/steps.ts';
import { keyOf } from '../../runtime/transport/kube.ts';
import { CreatedArns } from './created.ts';
import { finalizeConnection } from './delete.ts';
import { ConnectionListing } from './listing.ts';
import { type ConnectionDeps, type ConnectionState, type Ctx, newState } from './state.ts';
import { authorizationStep } from './steps/authorization.ts';
import { connectionStep } from './steps/connection.ts';
import { hostStep } from './steps/host.ts';
import { tagsStep } from './steps/tags.ts';
import { connectionTenancyStep } from './steps/tenancy.ts';

const STEPS: Step<ConnectionState>[] = [
  connectionTenancyStep,
  hostStep,
  connectionStep,
  tagsStep,
  authorizationStep,
];

export class ConnectionReconciler implements Reconciler<GitLabConnection> {
  private readonly deps: ConnectionDeps;
  private readonly kept = { created: new CreatedArns(), listing: new ConnectionListing() };
  private prunedAt = 0;

  constructor(deps: ConnectionDeps) {
    this.deps = deps;
  }

  async reconcile(ctx: Ctx): Promise<Outcome> {
    // Pruning walks every cached object: once a minute, not on every reconcile (O(N²) per resync).
    if (Date.now() - this.prunedAt > 60_000) {
      this.prunedAt = Date.now();
      this.deps.pending.retain(ctx.cached().map(keyOf));
    }
    const s = newState(ctx, this.deps, this.kept);
    try {
      // The last step always ends the reconcile with its outcome.
      return (await runSteps(STEPS, s, ctx))!;
    } finally {
      if (s.changes.length)
        ctx.events.event(ctx.obj, 'Normal', s.adopted ? 'Adopted' : 'Updated', s.changes.join('; '));
    }
  }

  async finalize(ctx: Ctx): Promise<Outcome> {
    this.deps.pending.set(ctx.key, false);
    const s = newState(ctx, this.deps, this.kept);
    if (s.recorded.connectionArn) ctx.status.connectionArn = s.recorded.connectionArn;
    if (s.recorded.hostArn) ctx.status.hostArn = s.recorded.hostArn;
    const outcome = await finalizeConnection(s);
    if (outcome.kind === 'done') this.kept.created.forget(ctx.obj);
    return outcome;
  }
}
