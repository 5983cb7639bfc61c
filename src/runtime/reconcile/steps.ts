// A reconcile as an ordered list of steps (Flux's sub-reconcilers): each step
// owns one concern and, where it has one, its condition. A step goes on to the
// next, asks for a status checkpoint first (a record that must reach the API
// server before the next step acts outside the cluster), or ends the reconcile
// with an outcome. A step that throws has its condition set False with the
// error's reason, unless it said False itself with a better one, so a True from an
// earlier reconcile never outlives a failure.
import type { ConditionWriter } from './condition-writer.ts';
import { type Outcome, reasonOf } from './outcome.ts';

export type StepResult = { kind: 'next' } | { kind: 'checkpoint' } | { kind: 'stop'; outcome: Outcome };

export const next = (): StepResult => ({ kind: 'next' });
/** Write the status as it stands before the next step runs. */
export const checkpoint = (): StepResult => ({ kind: 'checkpoint' });
export const stop = (outcome: Outcome): StepResult => ({ kind: 'stop', outcome });

export interface Step<S> {
  name: string;
  /** The condition this step owns, if any. */
  condition?: string;
  run(state: S): Promise<StepResult>;
}

export interface StepRunner {
  conditions: ConditionWriter;
  /** Writes the status draft to the API server now. */
  checkpoint(): Promise<void>;
}

/** Runs the steps in order; the outcome of the step that stopped, or undefined when all went on. */
export async function runSteps<S>(
  steps: Step<S>[],
  state: S,
  runner: StepRunner,
): Promise<Outcome | undefined> {
  for (const step of steps) {
    let result: StepResult;
    try {
      result = await step.run(state);
    } catch (err) {
      const own = step.condition;
      const saidFalse =
        own && runner.conditions.decidedOn(own) && runner.conditions.current(own)?.status === 'False';
      if (own && !saidFalse) {
        runner.conditions.set(own, false, reasonOf(err), (err as Error)?.message ?? String(err));
      }
      throw err;
    }
    if (result.kind === 'stop') return result.outcome;
    if (result.kind === 'checkpoint') await runner.checkpoint();
  }
  return undefined;
}
