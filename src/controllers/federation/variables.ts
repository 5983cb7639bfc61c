// CI/CD variables: ours carry an owner marker in their description; a
// variable with the same key and scope but without our marker is never
// overwritten, and the condition says who holds it.
import { describeTarget, type GitLabPort, type Target, type Variable } from '../../adapters/gitlab/client.ts';
import { ownerMarker } from './defaults.ts';

export interface DesiredVariable {
  key: string;
  value: string;
  environmentScope: string;
  protected: boolean;
}

export interface VariableRef {
  target: string;
  key: string;
  environmentScope: string;
}

export const LEGACY_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

function holderOf(v: Variable): string {
  const m = /managed by gitlab-aws-operator: (\S+)/.exec(v.description ?? '');
  return m ? `the federation ${m[1]}` : 'someone else (it has no gitlab-aws-operator marker)';
}

export async function ensureVariables(
  gitlab: GitLabPort,
  target: Target,
  desired: DesiredVariable[],
  owner: string,
  /** Awaited before the first write (the caller's record of the target). */
  beforeWrite: () => Promise<void> = async () => {},
): Promise<{ written: VariableRef[]; conflicts: string[]; changes: string[]; existing: Variable[] }> {
  const marker = ownerMarker(owner);
  const existing = await gitlab.variables(target);
  const here = describeTarget(target);
  let ready: Promise<void> | undefined;
  const write = async (call: () => Promise<unknown>) => {
    ready ??= beforeWrite();
    await ready;
    await call();
  };
  // The variables are independent of each other: written concurrently, reported in order.
  const outcomes = await Promise.all(
    desired.map(async (d) => {
      const found = existing.find((v) => v.key === d.key && v.environmentScope === d.environmentScope);
      const want = { ...d, masked: false, raw: true, description: marker };
      if (!found) {
        await write(() => gitlab.createVariable(target, want));
        return { change: `created variable ${d.key} (scope ${d.environmentScope}) in ${here}` };
      }
      if (found.description !== marker)
        return {
          conflict: `${d.key} (scope ${d.environmentScope}) in ${here} is held by ${holderOf(found)}`,
        };
      if (found.value !== d.value || found.protected !== d.protected || found.masked || !found.raw) {
        await write(() => gitlab.updateVariable(target, want));
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
  for (const v of existing) {
    if (
      v.description !== marker ||
      desired.some((d) => d.key === v.key && d.environmentScope === v.environmentScope)
    ) {
      continue;
    }
    await write(() => gitlab.deleteVariable(target, v.key, v.environmentScope));
    changes.push(
      `deleted variable ${v.key} (scope ${v.environmentScope}) in ${here}, which the spec no longer lists`,
    );
  }
  return { written, conflicts, changes, existing };
}

/** Long-lived AWS keys in the target that we did not write: key and scope only, never values. */
export function legacyCredentials(existing: Variable[], target: Target, owner: string): VariableRef[] {
  const marker = ownerMarker(owner);
  return existing
    .filter((v) => LEGACY_KEYS.includes(v.key) && v.description !== marker)
    .map((v) => ({ target: describeTarget(target), key: v.key, environmentScope: v.environmentScope }))
    .sort((a, b) => `${a.key}|${a.environmentScope}`.localeCompare(`${b.key}|${b.environmentScope}`));
}

/** The target of a status entry ("project payments/api"). */
export function parseTarget(text: string): Target | undefined {
  const [kind, path] = text.split(' ');
  return (kind === 'project' || kind === 'group') && path ? { kind, path } : undefined;
}

/** Deletes the variables that carry our marker; others are left alone. */
export async function deleteOwnedVariables(
  gitlab: GitLabPort,
  target: Target,
  owner: string,
): Promise<string[]> {
  const marker = ownerMarker(owner);
  const ours = (await gitlab.variables(target)).filter((v) => v.description === marker);
  for (const v of ours) await gitlab.deleteVariable(target, v.key, v.environmentScope);
  return ours.map(
    (v) => `deleted variable ${v.key} (scope ${v.environmentScope}) in ${describeTarget(target)}`,
  );
}
