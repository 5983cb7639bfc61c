// A crash at every point of an access-key rotation (method IAMUserAccessKeys,
// issue #15): the operator is SIGKILLed while one call of the rotation is in
// flight, in the order of the calls (rotation.ts, steps/access-key.ts):
// status checkpoint → CreateAccessKey → GitLab secret write → GitLab ID write →
// GitLab read-back → (rotate-now) DeleteAccessKey of the old key; after the
// grace period, UpdateAccessKey Inactive → DeleteAccessKey. An IAM call is
// held at this file's moto-iam-proxy, reaching moto (it took effect, the
// answer is lost) or not (the cut came before it); a GitLab write is held by
// the fake (delayMs) and lands after the operator is gone. Then: at most two
// keys, a restarted operator whose first reconcile finishes the rotation, and
// GitLab holding a working pair, the secret checked against what IAM gave
// out for the key GitLab names (the proxy keeps the CreateAccessKey answers;
// the secret is only compared, never printed).
//
// Each case has its own namespace, federation, IAM user and GitLab project,
// and operators of its own (one killed, one restarted), and runs beside the
// others. The federations that rotate an existing key get their first key up
// front, from one operator for all of them, so that the interval (1m, the
// shortest) has passed when their turn comes.
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, type ExpectStatic, inject, it } from 'vitest';
import type { GitLabAwsFederation } from '../../src/api/v1alpha1/index.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import type { LogLine, OperatorProcess } from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';
import {
  apply,
  createTokenSecret,
  federation,
  type GitLabInstance,
  getFederation,
  iamClient,
  keysSpec,
  startGitLab,
  startOperator,
  waitForCondition,
} from './env.ts';

const iam = iamClient(); // beside this file's proxy: polling the keys never meets a fault
const NAME = 'k';
const INTERVAL_MS = 60_000;
const ROTATE_NOW = 'gitlab-aws.io/rotate-now';
const ID = 'AWS_ACCESS_KEY_ID';
const SECRET = 'AWS_SECRET_ACCESS_KEY';
/**
 * How long a cut watches for its call: from before the rotation is due (an
 * interval case waits up to a minute for it) until the test's own timeout;
 * inTime bounds the wait once the rotation is due.
 */
const WATCH_MS = 180_000;

/**
 * How the rotation starts: the rotate-now annotation (the old key is deleted
 * at once), the interval (the old key stays for the grace period), the first
 * key of a new federation, or a rotation whose old key then comes to the end
 * of a short grace period (the cut is in its deactivation or deletion).
 */
type Kind = 'rotate-now' | 'interval' | 'first-key' | 'grace';

interface Case {
  kind: Kind;
  slug: string;
  ns: string;
  project: string;
  user: string;
  /** The key before the rotation (none for first-key). */
  oldId?: string;
  /** When the old key was made: the interval rotation is due a minute later. */
  oldCreatedAt?: number;
}

interface Armed {
  /** Resolves once the call is in flight: the moment to SIGKILL the operator. */
  inFlight: Promise<void>;
  /** Resolves once the call in flight is over (a held GitLab write has landed). */
  settled: () => Promise<void>;
}

interface Cut {
  at: string;
  arm: (c: Case) => Armed;
  /**
   * Whether the restarted operator makes a key of its own: GitLab did not yet
   * hold the key of the rotation when the operator died.
   */
  newKey: boolean;
}

let gitlab: GitLabInstance;
let proxy: MotoIamProxy;
const operators: OperatorProcess[] = [];

const start = (c: Case): OperatorProcess => {
  const op = startOperator(c.ns, gitlab, { iamUrl: proxy.url });
  operators.push(op);
  return op;
};

// --- cut points -------------------------------------------------------------

/** Holds the next `action` on the case's user at the proxy; `forward`: it reaches moto first. */
const iamCall =
  (action: string, forward: boolean): Cut['arm'] =>
  (c) => {
    const held = proxy.faults.add({ action, user: c.user, type: 'hold', forward, times: 1 });
    return { inFlight: held.arrived, settled: async () => {} };
  };

const encoded = (project: string) => encodeURIComponent(project);
const writeMethod = (c: Case) => (c.kind === 'first-key' ? 'POST' : 'PUT');

/** Is `r` the write of variable `key` to the case's project? */
const writes = (c: Case, key: string) => (r: (typeof gitlab.fake.requests)[number]) => {
  const base = `/api/v4/projects/${encoded(c.project)}/variables`;
  if (r.method === 'PUT') return r.path === `${base}/${key}`;
  return r.method === 'POST' && r.path === base && (r.body as { key?: string } | undefined)?.key === key;
};

/**
 * Delays the write of variable `key` by `ms` at GitLab, which carries it out
 * after the delay even when the caller is gone. A first key is two POSTs to
 * the same path, the secret first: for its ID a no-op fault lets the secret pass.
 */
function delayWrite(c: Case, key: string, ms: number) {
  const method = writeMethod(c);
  const base = `/api/v4/projects/${encoded(c.project)}/variables`;
  const path = new RegExp(`^${base}${method === 'PUT' ? `/${key}` : ''}$`);
  if (method === 'POST' && key === ID) gitlab.fake.faults.add({ method, path, times: 1 });
  gitlab.fake.faults.add({ method, path, delayMs: ms, times: 1 });
  const mark = gitlab.fake.requests.length;
  const request = waitFor(
    `the ${method} of ${key} at GitLab`,
    async () => gitlab.fake.requests.slice(mark).find(writes(c, key)),
    { timeoutMs: WATCH_MS, intervalMs: 5 },
  );
  return request;
}

const landed = (what: string, request: Promise<{ status: number }>) => async () => {
  const r = await request;
  await waitFor(`${what} to land`, async () => (r.status !== 0 ? true : undefined), { intervalMs: 20 });
};

const gitlabWrite =
  (key: string): Cut['arm'] =>
  (c) => {
    const request = delayWrite(c, key, 1000);
    return { inFlight: request.then(() => undefined), settled: landed(`the write of ${key}`, request) };
  };

/**
 * The read-back after the ID write: the ID write is slowed down long enough
 * to put a delay on the next list of the project's variables, which is then
 * the read-back.
 */
const verifyRead: Cut['arm'] = (c) => {
  const path = `/api/v4/projects/${encoded(c.project)}/variables`;
  const read = delayWrite(c, ID, 400).then(async () => {
    gitlab.fake.faults.add({ method: 'GET', path: new RegExp(`^${path}$`), delayMs: 1000, times: 1 });
    const mark = gitlab.fake.requests.length;
    return waitFor(
      'the read-back of the variables at GitLab',
      async () => gitlab.fake.requests.slice(mark).find((r) => r.method === 'GET' && r.path === path),
      { timeoutMs: WATCH_MS, intervalMs: 5 },
    );
  });
  return { inFlight: read.then(() => undefined), settled: landed('the read-back', read) };
};

/** In the order of the calls of a rotation. */
const ROTATION_CUTS: Cut[] = [
  // The rotation record is in the status; CreateAccessKey never reaches IAM.
  { at: 'right after the status checkpoint', arm: iamCall('CreateAccessKey', false), newKey: true },
  { at: 'CreateAccessKey (it took effect)', arm: iamCall('CreateAccessKey', true), newKey: true },
  { at: 'the write of the secret to GitLab', arm: gitlabWrite(SECRET), newKey: true },
  { at: 'the write of the key ID to GitLab', arm: gitlabWrite(ID), newKey: false },
  { at: 'the read-back of the variables', arm: verifyRead, newKey: false },
];
const REVOCATION_CUTS: Cut[] = [
  {
    at: 'DeleteAccessKey of the old key (not reached)',
    arm: iamCall('DeleteAccessKey', false),
    newKey: false,
  },
  {
    at: 'DeleteAccessKey of the old key (it took effect)',
    arm: iamCall('DeleteAccessKey', true),
    newKey: false,
  },
];
const GRACE_CUTS: Cut[] = [
  { at: 'UpdateAccessKey Inactive (not reached)', arm: iamCall('UpdateAccessKey', false), newKey: false },
  { at: 'UpdateAccessKey Inactive (it took effect)', arm: iamCall('UpdateAccessKey', true), newKey: false },
  { at: 'DeleteAccessKey (not reached)', arm: iamCall('DeleteAccessKey', false), newKey: false },
  { at: 'DeleteAccessKey (it took effect)', arm: iamCall('DeleteAccessKey', true), newKey: false },
];

const TABLE: { kind: Kind; cuts: Cut[] }[] = [
  { kind: 'rotate-now', cuts: [...ROTATION_CUTS, ...REVOCATION_CUTS] },
  { kind: 'first-key', cuts: ROTATION_CUTS },
  { kind: 'interval', cuts: ROTATION_CUTS },
  { kind: 'grace', cuts: GRACE_CUTS },
];

// --- the federations --------------------------------------------------------

const slugOf = (kind: Kind, i: number) => `${kind}-${i}`;

const spec = (c: Case) =>
  keysSpec(gitlab, {
    ciVariables: { target: { project: c.project } },
    rotation: { interval: '1m', gracePeriod: c.kind === 'grace' ? '2s' : '1h' },
  });

async function newCase(kind: Kind, i: number): Promise<Case> {
  const slug = slugOf(kind, i);
  const ns = await createNamespace(`crash-${kind === 'rotate-now' ? 'now' : kind.split('-')[0]}`);
  await createTokenSecret(ns, gitlab.token);
  const project = `crash/${slug}`;
  gitlab.fake.state.addProject(project);
  return { kind, slug, ns, project, user: `${ns}-${NAME}` };
}

/** The cases that rotate an existing key, each with its first key made. */
const prepared = new Map<string, Case>();

beforeAll(async () => {
  gitlab = await startGitLab();
  gitlab.fake.state.addProject('crash/seed'); // the group crash, for the membership
  gitlab.fake.state.addMember({ group: 'crash' }, 'deployer', 'maintainer');
  proxy = await startMotoIamProxy(inject('motoUrl'), { keepAnswers: ['iam:CreateAccessKey'] });
  const cases = await Promise.all(
    TABLE.filter((t) => t.kind !== 'first-key').flatMap((t) => t.cuts.map((_, i) => newCase(t.kind, i))),
  );
  await Promise.all(cases.map((c) => apply(c.ns, federation(NAME, spec(c)))));
  const op = startOperator(cases.map((c) => c.ns).join(','), gitlab, { iamUrl: proxy.url });
  operators.push(op);
  await Promise.all(
    cases.map(async (c) => {
      const fed = await waitForCondition(c.ns, NAME, 'Ready', 'True', { timeoutMs: 90_000 });
      c.oldId = fed.status!.accessKey!.id!;
      c.oldCreatedAt = Date.parse(fed.status!.accessKey!.createdAt!);
      prepared.set(c.slug, c);
    }),
  );
  await op.stop('SIGKILL');
});

afterAll(async () => {
  await Promise.all(operators.map((op) => op.stop('SIGKILL')));
  await proxy?.close();
  await gitlab?.close();
});

// --- what is checked --------------------------------------------------------

const keysOf = async (user: string) =>
  (
    (
      await iam.send(new ListAccessKeysCommand({ UserName: user })).catch((err: Error) => {
        if (/NoSuchEntity/.test(err.name)) return { AccessKeyMetadata: [] };
        throw err;
      })
    ).AccessKeyMetadata ?? []
  ).map((k) => ({ id: k.AccessKeyId!, status: k.Status! }));

/** Polls the user's keys until stopped: the most it had at any point seen. */
function watchKeys(user: string) {
  let most = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      most = Math.max(most, (await keysOf(user)).length);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    most: async () => {
      running = false;
      await loop;
      return most;
    },
  };
}

/** The values GitLab holds (the hidden secret too: the fake's state). */
function inGitLab(c: Case) {
  const vars = gitlab.fake.state.variables({ project: c.project });
  const value = (key: string) => vars.find((v) => v.key === key && v.environment_scope === '*')?.value;
  return { id: value(ID) ?? undefined, secret: value(SECRET) };
}

/** The keys IAM made, from the CreateAccessKey answers the proxy kept (those that reached the operator). */
const keysMade = () =>
  proxy.answers
    .filter((a) => a.status === 200)
    .map((a) => {
      const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(a.body)?.[1];
      return { user: field('UserName'), id: field('AccessKeyId'), secret: field('SecretAccessKey') };
    });
const madeFor = (user: string) =>
  keysMade()
    .filter((k) => k.user === user)
    .map((k) => k.id!);
/** Whether `value` is the secret IAM gave out with key `id`: a yes or no, so the secret is never printed. */
const secretOf = (id: string, value: string | null | undefined) =>
  value != null && keysMade().some((k) => k.id === id && k.secret === value);

/** The end of the first reconcile of `op`, done or failed. */
const firstReconcile = (op: OperatorProcess, c: Case): Promise<LogLine> =>
  op.waitForLog(
    (l) => l.key === `${c.ns}/${NAME}` && (l.msg === 'reconciled' || String(l.msg).startsWith('reconcile ')),
    60_000,
  );

async function trigger(c: Case): Promise<void> {
  if (c.kind === 'first-key') {
    await apply(c.ns, federation(NAME, spec(c)));
  } else if (c.kind === 'rotate-now') {
    const r = await kubectl(['annotate', 'glaf', NAME, '-n', c.ns, `${ROTATE_NOW}=crash`, '--overwrite']);
    if (r.code !== 0) throw new Error(r.stderr);
  } else {
    // Due once the key is a minute old (the shortest interval): the operator rotates it on start.
    const wait = c.oldCreatedAt! + INTERVAL_MS + 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** `promise`, or an error with the operator's last words after 60 s or when it exits. */
async function inTime<T>(promise: Promise<T>, what: string, op: OperatorProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const failed = (why: string) =>
    new Error(
      `${why} waiting for ${what}\n${op.lines
        .slice(-30)
        .map((l) => JSON.stringify(l))
        .join('\n')}\n${op.stderr()}`,
    );
  try {
    return await Promise.race([
      promise,
      op.exited.then(() => Promise.reject(failed('the operator exited'))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(failed('60 s')), 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function crashAndRestart(c: Case, cut: Cut, expect: ExpectStatic): Promise<void> {
  const watch = watchKeys(c.user);
  const armed = cut.arm(c);
  armed.inFlight.catch(() => undefined); // awaited below (inTime); a case that fails first leaves it behind
  let op = start(c);
  await trigger(c);
  await inTime(armed.inFlight, `${cut.at} in flight`, op);
  op.child.kill('SIGKILL');
  await op.exited;
  await armed.settled(); // every fault of the case is used up (times: 1)

  // What the crash left: at most two keys, and GitLab names one of them (a first key may not be there yet).
  const left = await keysOf(c.user);
  expect(left.length, JSON.stringify(left)).toBeLessThanOrEqual(2);
  const named = inGitLab(c).id;
  if (named) expect(left.map((k) => k.id)).toContain(named);
  const madeBefore = madeFor(c.user);

  op = start(c);
  const first = await firstReconcile(op, c);
  expect(first.msg, JSON.stringify(first)).toBe('reconciled');
  const fed: GitLabAwsFederation = await getFederation(c.ns, NAME);
  const keys = await keysOf(c.user);
  await op.stop('SIGKILL');
  expect(await watch.most(), 'keys at any point seen').toBeLessThanOrEqual(2);

  // The first reconcile after the restart finished the rotation.
  const status = fed.status?.accessKey;
  const ready = fed.status?.conditions?.find((x) => x.type === 'Ready');
  expect(ready?.status, ready?.message).toBe('True');
  expect(status?.rotation).toBeUndefined();
  const made = madeFor(c.user);
  expect(made.length - madeBefore.length, 'keys the restarted operator made').toBe(cut.newKey ? 1 : 0);

  // GitLab holds a working pair: the live key's ID and the secret IAM gave out for it.
  const live = inGitLab(c);
  expect(live.id).toBeDefined();
  expect(status?.id).toBe(live.id);
  expect(made).toContain(live.id);
  expect(secretOf(live.id!, live.secret), `GitLab holds the secret of ${live.id}`).toBe(true);
  expect(live.id).not.toBe(c.oldId);

  // Exactly the expected keys: no orphan.
  const active = (id: string) => ({ id, status: 'Active' });
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  if (c.kind === 'interval') {
    expect(keys.sort(byId)).toEqual([active(c.oldId!), active(live.id!)].sort(byId));
    expect(status?.previous?.id).toBe(c.oldId);
  } else {
    expect(keys).toEqual([active(live.id!)]);
    expect(status?.previous).toBeUndefined();
  }
  if (c.kind === 'rotate-now') expect(status?.revoked).toMatchObject({ rotateNow: 'crash', id: c.oldId });
  if (c.kind === 'grace') expect(made).toHaveLength(2);
}

// Concurrent (vitest's maxConcurrency, 5): the cases share nothing but the
// proxy, whose holds name the case's user, and the GitLab fake, whose faults
// name the case's project. The interval cases wait for their minute meanwhile.
describe.concurrent('a rotation SIGKILLed at any point is finished by the next reconcile', () => {
  for (const { kind, cuts } of TABLE) {
    describe(kind, () => {
      cuts.forEach((cut, i) => {
        it(
          `killed in ${cut.at}`,
          async ({ expect }) => {
            const c = kind === 'first-key' ? await newCase(kind, i) : prepared.get(slugOf(kind, i))!;
            await crashAndRestart(c, cut, expect);
          },
          WATCH_MS,
        );
      });
    });
  }
});
