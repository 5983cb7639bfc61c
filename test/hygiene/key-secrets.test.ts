// Secret hygiene of method IAMUserAccessKeys (issue #15): "the secret exists
// only in AWS's response and in GitLab: not in the cluster, a log, an event,
// the status, an error message, or a heap that outlives the write".
//
// The operator runs as the image runs it (the bundle, dist/cli.cjs), as its
// own process at --log-level trace, against moto behind a proxy of this file's
// own that keeps every CreateAccessKey answer: so every secret AWS ever handed
// out is known, also those whose GitLab write failed and that never reached
// GitLab. The federation goes through its first key (the first GitLab write
// fails with 500), a rotate-now rotation, one whose secret write fails with 500,
// and one whose key ID write fails with 400 (Stalled until someone touches it).
// Then no secret may be in the operator's output, in any object of the
// namespace (Secrets decoded), in any Event, or in the operator's heap: a
// snapshot taken on SIGUSR2 (--heapsnapshot-signal) once the federation is
// Ready. V8 collects garbage before it writes one, so it holds the strings still
// reachable, and --heap-snapshot-string-limit keeps them whole (V8 cuts them at
// 1024 characters by default). A heap snapshot does not show the bytes of
// ArrayBuffers (Buffers, socket and TLS buffers live outside the V8 heap):
// this looks at JavaScript strings, which is where a kept response, request,
// error or closure keeps a secret.
//
// Controls, so an empty search proves something: the same searches find the
// GitLab token (read from a Secret) and the live key ID in the heap, the
// token in the decoded Secrets, and the key IDs in the log and the status.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GitLabAwsFederation } from '../../src/api/v1alpha1/index.ts';
import { buildBundle } from '../../testbed/bundle.ts';
import { type MotoIamProxy, startMotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import {
  type OperatorProcess,
  runArgs,
  startOperatorProcess,
  testbedAwsEnv,
} from '../../testbed/operator-process.ts';
import { removeOnExit, waitFor } from '../../testbed/processes.ts';
import {
  apply,
  createTokenSecret,
  federation,
  type GitLabInstance,
  getFederation,
  keysSpec,
  REGION,
  startGitLab,
  waitForCondition,
} from '../federation/env.ts';
import { createNamespace, kubectl } from '../harness/kube.ts';

const PROJECT = { project: 'payments/api' };
const NAME = 'legacy';

let gitlab: GitLabInstance;
let proxy: MotoIamProxy;
let ns: string;
let op: OperatorProcess;
let diagnostics: string;

beforeAll(async () => {
  const app = await buildBundle();
  proxy = await startMotoIamProxy(inject('motoUrl'), { keepAnswers: ['iam:CreateAccessKey'] });
  gitlab = await startGitLab();
  ns = await createNamespace('keyhygiene');
  await createTokenSecret(ns, gitlab.token);
  diagnostics = mkdtempSync(join(tmpdir(), 'gao-heap-'));
  removeOnExit(diagnostics);
  op = startOperatorProcess(
    join(app, 'dist', 'cli.cjs'),
    [
      ...runArgs(ns, inject('kubeconfig')),
      '--propagation-delay',
      '0s',
      '--cluster-id',
      'keyhygiene',
      '--log-level',
      'trace',
    ],
    {
      ...testbedAwsEnv({ iamUrl: proxy.url, region: REGION }),
      NODE_EXTRA_CA_CERTS: gitlab.caFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${diagnostics}`,
    },
    { nodeArgs: ['--heap-snapshot-string-limit=100000000'] },
  );
}, 180_000);

afterAll(async () => {
  await op?.stop('SIGKILL');
  await gitlab?.close();
  await proxy?.close();
});

const spec = () => keysSpec(gitlab, { ciVariables: { target: PROJECT } });

/** Every secret access key AWS handed out so far, from the answers the proxy kept. */
function secretsHandedOut(): string[] {
  return proxy.answers
    .filter((a) => a.status === 200)
    .map(
      (a) => /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(a.body)?.[1] ?? `(no secret in ${a.body})`,
    );
}

/** The secret GitLab holds now (the fake keeps the values the API hides). */
const secretInGitLab = () =>
  gitlab.fake.state.variables(PROJECT).find((v) => v.key === 'AWS_SECRET_ACCESS_KEY')?.value ?? undefined;

async function rotateNow(value: string): Promise<void> {
  const r = await kubectl([
    'annotate',
    'glaf',
    NAME,
    '-n',
    ns,
    '--overwrite',
    `gitlab-aws.io/rotate-now=${value}`,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

/** Waits until the rotate-now `value` is done and the federation is Ready again. */
async function revoked(value: string): Promise<GitLabAwsFederation> {
  let last: unknown;
  return waitFor(
    `rotate-now ${value} done`,
    async () => {
      const f = await getFederation(ns, NAME);
      last = f.status;
      const ready = f.status?.conditions?.find((c) => c.type === 'Ready');
      return f.status?.accessKey?.revoked?.rotateNow === value && ready?.status === 'True' ? f : undefined;
    },
    {
      timeoutMs: 60_000,
      diagnostics: () =>
        `${op.lines
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n')}\n${JSON.stringify(last, null, 2)}`,
    },
  );
}

/**
 * The strings of a heap snapshot of the operator, taken now (SIGUSR2), each
 * whole; `strings` is where a snapshot keeps every string's contents.
 */
async function heapStrings(): Promise<string[]> {
  const before = new Set(readdirSync(diagnostics));
  op.child.kill('SIGUSR2');
  const strings = await waitFor(
    'the heap snapshot, written in full',
    async () => {
      const file = readdirSync(diagnostics).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!file) return undefined;
      // Written as it is made: it parses once it is complete.
      try {
        return (JSON.parse(readFileSync(join(diagnostics, file), 'utf8')) as { strings: string[] }).strings;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 120_000, intervalMs: 500, diagnostics: () => op.stderr() },
  );
  // Control: strings are whole (the bundle's source, 2 MB, is one of them), not cut at 1024 characters.
  expect(strings.reduce((longest, t) => Math.max(longest, t.length), 0)).toBeGreaterThan(1_000_000);
  return strings;
}

/** Where each secret was found: the whole of it, or either half (a string cut in two, or a slice). */
function findings(secrets: string[], places: Record<string, (piece: string) => boolean>): string[] {
  const found: string[] = [];
  secrets.forEach((secret, i) => {
    const pieces = [secret, secret.slice(0, 20), secret.slice(20)];
    for (const [where, holds] of Object.entries(places))
      if (pieces.some(holds)) found.push(`secret #${i + 1} of ${secrets.length} in ${where}`);
  });
  return found;
}

/** The places of a heap snapshot, after its controls: it holds the GitLab token and the live key ID. */
async function heap(label: string, liveKeyId: string): Promise<Record<string, (piece: string) => boolean>> {
  const strings = await heapStrings();
  const holds = (value: string) => strings.some((t) => t.includes(value));
  expect(holds(gitlab.token), `${label}: the GitLab token, read from its Secret`).toBe(true);
  expect(holds(liveKeyId), `${label}: the live key ID`).toBe(true);
  return { [`the operator's heap (${label})`]: holds };
}

/** Every Kubernetes object of the namespace, and every Event of the cluster, as JSON; Secrets and ConfigMaps decoded too. */
async function cluster(): Promise<Record<string, string>> {
  const get = async (args: string[]) => {
    const r = await kubectl(['get', ...args, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  const objects = await get(['all,secrets,configmaps,events,leases,gitlabawsfederations', '-n', ns]);
  const decoded = (
    JSON.parse(objects).items as {
      kind: string;
      data?: Record<string, string>;
      binaryData?: Record<string, string>;
    }[]
  )
    .filter((i) => i.kind === 'Secret' || i.kind === 'ConfigMap')
    .flatMap((i) =>
      Object.values({ ...(i.kind === 'Secret' ? i.data : i.binaryData) }).map((v) =>
        Buffer.from(v, 'base64').toString('utf8'),
      ),
    )
    .join('\n');
  return {
    [`objects in ${ns}`]: objects,
    'Secret and ConfigMap data, decoded': decoded,
    'Events of every namespace': await get(['events', '-A']),
    'status of the federation': JSON.stringify((await getFederation(ns, NAME)).status),
  };
}

describe('secret hygiene of IAMUserAccessKeys', () => {
  it('keeps every secret access key out of logs, the cluster, Events, status and the heap', async () => {
    const inGitLab = new Set<string>();
    const note = () => {
      const s = secretInGitLab();
      if (s) inGitLab.add(s);
    };

    // The first key: GitLab refuses the first write (the secret's POST) with 500.
    const firstPost = gitlab.fake.faults.add({ method: 'POST', path: /\/variables$/, status: 500, times: 1 });
    await apply(ns, federation(NAME, spec()));
    const first = await waitForCondition(ns, NAME, 'Ready', 'True', { timeoutMs: 60_000 });
    expect(firstPost.hits).toBe(1);
    note();

    // rotate-now, as after a suspected leak.
    await rotateNow('r1');
    await revoked('r1');
    note();

    // A rotation whose secret write fails (500): that secret never reaches GitLab.
    const secretPut = gitlab.fake.faults.add({
      method: 'PUT',
      path: /\/variables\/AWS_SECRET_ACCESS_KEY$/,
      status: 500,
      times: 1,
    });
    await rotateNow('r2');
    const second = await revoked('r2');
    expect(secretPut.hits).toBe(1);
    note();

    // A rotation whose key ID write fails (400), after its secret is in GitLab: Stalled, looked at again each resync.
    const idPut = gitlab.fake.faults.add({
      method: 'PUT',
      path: /\/variables\/AWS_ACCESS_KEY_ID$/,
      status: 400,
      times: 1,
    });
    await rotateNow('r3');
    const stalled = await waitForCondition(ns, NAME, 'Stalled', 'True', { reason: 'GitLabInvalid' });
    expect(idPut.hits).toBe(1);
    expect(stalled.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('(400)');
    note();
    // The heap while it stands on the error: the refused rotation's secret is not kept with the error.
    const stalledSecrets = secretsHandedOut();
    const whileStalled = findings(stalledSecrets, await heap('while Stalled', second.status!.accessKey!.id!));

    // A resync, or a person (any annotation makes the operator look again): the rotation resumes.
    const touched = await kubectl(['annotate', 'glaf', NAME, '-n', ns, '--overwrite', 'looked-at=1']);
    expect(touched.code, touched.stderr).toBe(0);
    const last = await revoked('r3');
    note();

    // Every secret AWS handed out: the first key twice (one refused), r1, r2 twice, r3 twice.
    const secrets = secretsHandedOut();
    expect(proxy.answers.map((a) => a.status)).toEqual(Array(7).fill(200));
    expect(new Set(secrets).size).toBe(7);
    for (const s of secrets) expect(s).toMatch(/^[A-Za-z0-9/+]{40}$/);
    expect(stalledSecrets).toEqual(secrets.slice(0, 6));
    // GitLab got some of them (the refused r3 secret too, until the next one replaced it), and holds the last.
    expect([...inGitLab].every((s) => secrets.includes(s))).toBe(true);
    expect(inGitLab.size).toBeGreaterThanOrEqual(4);
    expect(secretInGitLab()).toBe(secrets.at(-1));
    const keyIds = [first.status!.accessKey!.id!, last.status!.accessKey!.id!];

    // Events go out in the background; give them a moment.
    await new Promise((r) => setTimeout(r, 1500));
    const texts: Record<string, string> = {
      'operator stdout': op.lines.map((l) => JSON.stringify(l)).join('\n'),
      'operator stderr': op.stderr(),
      ...(await cluster()),
    };
    // Controls: the places hold real text, the token and the key IDs where they belong.
    expect(texts['operator stdout']).toContain('could not update variable variable AWS_SECRET_ACCESS_KEY');
    expect(texts['operator stdout']).toContain('GitLabInvalid');
    expect(op.lines.some((l) => l.level === 'debug')).toBe(true);
    expect(texts['Events of every namespace']).toContain('AccessKeyRevoked');
    for (const id of keyIds) expect(texts['Events of every namespace']).toContain(id);
    expect(texts['Secret and ConfigMap data, decoded']).toContain(gitlab.token);
    expect(texts['status of the federation']).toContain(keyIds[1]);

    const atEnd = findings(secrets, {
      ...Object.fromEntries(
        Object.entries(texts).map(([where, text]) => [where, (piece: string) => text.includes(piece)]),
      ),
      ...(await heap('Ready, after the rotations', keyIds[1]!)),
    });
    expect([...whileStalled, ...atEnd]).toEqual([]);
  }, 300_000);
});
