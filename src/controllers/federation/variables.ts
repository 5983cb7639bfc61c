// CI/CD variables: ours carry an owner marker in their description; a
// variable with the same key and scope but without our marker is never
// overwritten, and the condition says who holds it.
import { describeTarget, type GitLabPort, type Target, type Variable } from '../../gitlab/client.ts';
import { ownerMarker } from './names.ts';

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
): Promise<{ written: VariableRef[]; conflicts: string[]; changes: string[]; existing: Variable[] }> {
  const marker = ownerMarker(owner);
  const existing = await gitlab.variables(target);
  const written: VariableRef[] = [];
  const conflicts: string[] = [];
  const changes: string[] = [];
  for (const d of desired) {
    const ref = { target: describeTarget(target), key: d.key, environmentScope: d.environmentScope };
    const found = existing.find((v) => v.key === d.key && v.environmentScope === d.environmentScope);
    const want = { ...d, masked: false, raw: true, description: marker };
    if (!found) {
      await gitlab.createVariable(target, want);
      changes.push(`created variable ${d.key} (scope ${d.environmentScope}) in ${ref.target}`);
    } else if (found.description !== marker) {
      conflicts.push(`${d.key} (scope ${d.environmentScope}) in ${ref.target} is held by ${holderOf(found)}`);
      continue;
    } else if (found.value !== d.value || found.protected !== d.protected || found.masked || !found.raw) {
      await gitlab.updateVariable(target, want);
      changes.push(`updated variable ${d.key} (scope ${d.environmentScope}) in ${ref.target}`);
    }
    written.push(ref);
  }
  // Ours, but no longer wanted here (a key or scope changed in the spec).
  for (const v of existing) {
    if (
      v.description !== marker ||
      desired.some((d) => d.key === v.key && d.environmentScope === v.environmentScope)
    ) {
      continue;
    }
    await gitlab.deleteVariable(target, v.key, v.environmentScope);
    changes.push(
      `deleted variable ${v.key} (scope ${v.environmentScope}) in ${describeTarget(target)}, which the spec no longer lists`,
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
