// Who may assume the role. Each access entry is read in GitLab the way
// GitLab will build the job's sub claim: the project's path as GitLab spells
// it, its ID (a project re-created at the same path is another project), its
// ci_id_token_sub_claim_components, and its protected branches or tags. An
// entry the claim cannot express is left out, never widened; condition
// RefsProtected says which refs a Developer could push to.
import type { GitLabPort } from '../../../adapters/gitlab/client.ts';
import type { AccessEntry } from '../../../api/v1alpha1/index.ts';
import { TerminalError } from '../../../runtime/reconcile/outcome.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { REASONS, REFS_PROTECTED, ROLE_READY } from '../conditions.ts';
import { type EntryFacts, type EntryPlan, type ProjectFacts, planEntry } from '../desired.ts';
import { type FederationState, gitlabOf } from '../state.ts';

export const accessStep: Step<FederationState> = {
  name: 'access',
  condition: ROLE_READY,
  async run(s) {
    const entries = s.fed.spec.access ?? [];
    const gitlab = await gitlabOf(s);
    const { facts, unreadable } = await readFacts(s, gitlab, entries);
    const require = s.fed.spec.requireProtectedRefs ?? false;
    const plans = facts.map((f) => planEntry(f, require));

    s.access = {
      subjects: [...new Set(plans.flatMap((p) => p.patterns))].sort(),
      refused: plans.flatMap((p) => (p.refused ? [p.refused] : [])),
      unprotected: plans.flatMap((p, i) => p.unprotected.map((ref) => `${ref} of ${where(facts[i]!)}`)),
      unverified: plans.flatMap((p, i) => (p.unverified && !p.refused ? [where(facts[i]!)] : [])),
    };
    recordProjects(s, facts, plans);
    sayProtection(s, facts, gitlab !== undefined, unreadable);
    return next();
  },
};

/** "project payments/api", "group payments/libs", as GitLab spells them. */
function where(f: EntryFacts): string {
  return f.entry.project
    ? `project ${f.project?.path ?? f.entry.project}`
    : `group ${f.groupPath ?? f.entry.group}`;
}

async function readFacts(
  s: FederationState,
  gitlab: GitLabPort | undefined,
  entries: AccessEntry[],
): Promise<{ facts: EntryFacts[]; unreadable: string[] }> {
  if (!gitlab) return { facts: entries.map((entry) => ({ entry })), unreadable: [] };
  const unreadable: string[] = [];
  const recorded = s.fed.status?.projects ?? [];
  // One read per project and per protection list, however many entries name them.
  const projects = new Map<string, Promise<ProjectFacts>>();
  const protections = new Map<string, Promise<string[] | undefined>>();
  const project = (path: string) => {
    const key = path.toLowerCase();
    if (!projects.has(key)) projects.set(key, gitlab.project(path));
    return projects.get(key)!;
  };
  const protectedNames = (p: ProjectFacts, refType: 'branch' | 'tag') => {
    const key = `${p.id}|${refType}`;
    if (!protections.has(key)) {
      const read =
        refType === 'branch' ? gitlab.protectedBranches(p.id, p.path) : gitlab.protectedTags(p.id, p.path);
      // A token that may not read them leaves protection unknown; it does not stall the federation.
      protections.set(
        key,
        read.catch((err) => {
          if (!(err instanceof TerminalError)) throw err;
          unreadable.push(
            `${refType === 'branch' ? 'protected branches' : 'protected tags'} of project ${p.path} (${err.message})`,
          );
          return undefined;
        }),
      );
    }
    return protections.get(key)!;
  };
  const out: EntryFacts[] = [];
  for (const entry of entries) {
    if (entry.group) {
      out.push({ entry, groupPath: (await gitlab.group(entry.group)).path });
      continue;
    }
    const p = await project(entry.project!);
    const refType = entry.refType ?? 'branch';
    const names = refType === 'any' ? undefined : await protectedNames(p, refType);
    out.push({
      entry,
      project: { ...p, protectedNames: names },
      recordedId: recorded.find((r) => r.path.toLowerCase() === p.path.toLowerCase())?.id,
    });
  }
  return { facts: out, unreadable };
}

/**
 * status.projects: each project the spec names, by GitLab's spelling and ID.
 * A replaced project keeps the ID it had, so it stays refused until a person
 * takes it out of the spec. A spelling that differs from GitLab's is said
 * once: when the path first enters the status (a group's, its trust pattern).
 */
function recordProjects(s: FederationState, facts: EntryFacts[], plans: EntryPlan[]): void {
  const before = s.fed.status?.projects ?? [];
  const subjectsBefore = s.fed.status?.subjects ?? [];
  const projects = new Map<string, { path: string; id: number }>();
  const sayOnce = (kind: string, spelled: string, canonical: string, known: boolean) => {
    if (spelled === canonical || known) return;
    s.ctx.events.event(
      s.fed,
      'Warning',
      'PathSpelling',
      `spec.access names ${kind} ${spelled}, which GitLab spells ${canonical}: the trust policy uses GitLab's spelling (the sub claim does); change the spec to match`,
    );
  };
  facts.forEach((f, i) => {
    if (f.groupPath) {
      const pattern = `project_path:${f.groupPath}/*:`;
      sayOnce(
        'group',
        f.entry.group!,
        f.groupPath,
        subjectsBefore.some((x) => x.startsWith(pattern)),
      );
    }
    if (!f.project) return;
    const replaced = plans[i]!.refused?.reason === REASONS.projectReplaced;
    projects.set(f.project.path, { path: f.project.path, id: replaced ? f.recordedId! : f.project.id });
    sayOnce(
      'project',
      f.entry.project!,
      f.project.path,
      before.some((b) => b.path === f.project!.path),
    );
  });
  if (projects.size) s.status.projects = [...projects.values()].sort((a, b) => a.path.localeCompare(b.path));
  else delete s.status.projects;
}

function sayProtection(
  s: FederationState,
  facts: EntryFacts[],
  haveToken: boolean,
  unreadable: string[],
): void {
  const checked = facts.filter((f) => (f.entry.refType ?? 'branch') !== 'any');
  const conditions = s.ctx.conditions;
  if (checked.length === 0) {
    conditions.remove(REFS_PROTECTED);
    return;
  }
  const { unprotected, unverified } = s.access!;
  const require = s.fed.spec.requireProtectedRefs ?? false;
  if (unprotected.length) {
    const message = `not protected in GitLab, so a Developer could push to them and run a job that assumes the role: ${unprotected.join('; ')}. Protect them (Settings > Repository > Protected branches / tags)${require ? '; until then they are left out of the trust policy (spec.requireProtectedRefs)' : ', or set spec.requireProtectedRefs: true to leave them out of the trust policy'}`;
    const previous = conditions.previous(REFS_PROTECTED);
    if (previous?.status !== 'False' || previous.message !== message)
      s.ctx.events.event(s.fed, 'Warning', REASONS.unprotectedRefs, message);
    conditions.set(REFS_PROTECTED, false, REASONS.unprotectedRefs, message);
    return;
  }
  if (unverified.length) {
    const why = !haveToken
      ? 'the spec names no gitlab.tokenSecretRef to read them with'
      : unreadable.length
        ? `the token could not read ${unreadable.join('; ')}`
        : 'GitLab keeps protected branches and tags per project, and a group entry covers projects the operator does not list';
    conditions.set(
      REFS_PROTECTED,
      'Unknown',
      REASONS.protectionUnknown,
      `protection not checked for ${unverified.join(', ')}: ${why}${require ? '; these entries are left out of the trust policy (spec.requireProtectedRefs)' : ''}`,
    );
    return;
  }
  conditions.set(
    REFS_PROTECTED,
    true,
    REASONS.protected,
    `every branch and tag the trust policy names is protected in GitLab`,
  );
}
