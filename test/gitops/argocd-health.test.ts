// The Argo CD health check (deploy/argocd/health.lua) run by a real Lua 5.1
// interpreter, and kstatus (Flux) conformance, over status objects the real
// operator produced in this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kstatusViolations } from '../../src/runtime/reconcile/conditions.ts';
import { kubectl } from '../harness/kube.ts';
import { type CaptureBed, type Captured, captureStatusObjects } from './capture.ts';
import { computeKStatus } from './kstatus.ts';
import { LUA, luaAvailable, runHealth, toLua } from './lua.ts';

let bed: CaptureBed | undefined;
let objects: Captured;

beforeAll(async () => {
  if (!(await luaAvailable())) {
    throw new Error(
      `${LUA} not found: install Debian's lua5.1 (testbed/setup/env.sh ensure_lua does it as root)`,
    );
  }
  bed = await captureStatusObjects();
  objects = bed.captured;
}, 180_000);
afterAll(async () => {
  await bed?.stop();
});

type Obj = Record<string, unknown> & { metadata: { generation?: number }; status?: Record<string, unknown> };
const clone = (o: object): Obj => structuredClone(o) as unknown as Obj;
const readyMessage = (o: { status?: { conditions?: { type: string; message: string }[] } }) =>
  o.status?.conditions?.find((c) => c.type === 'Ready')?.message;

describe('the captured objects', () => {
  it('keep the kstatus invariants the operator promises', () => {
    for (const o of Object.values(objects).filter((v) => typeof v === 'object')) {
      expect(kstatusViolations(o as never)).toEqual([]);
    }
  });
});

describe('Argo CD health (lua5.1 deploy/argocd/health.lua)', () => {
  it('converts JSON to a Lua table that survives quotes, backslashes, newlines and UTF-8', async () => {
    const tricky = 'say "hi"\\ \n\ttab — ünïcode';
    const h = await runHealth({
      metadata: { generation: 1 },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Ready', message: tricky, observedGeneration: 1 },
        ],
      },
    });
    expect(h).toEqual({ status: 'Healthy', message: tricky });
    expect(toLua({ a: null, b: [1, true] })).toBe('{["b"] = {1, true}}');
  });

  it('a Ready federation is Healthy', async () => {
    const h = await runHealth(objects.readyFederation);
    expect(h.status).toBe('Healthy');
    expect(h.message).toBe(readyMessage(objects.readyFederation));
  });

  it('a Stalled federation (role owned elsewhere) is Degraded, with the reason to act on', async () => {
    const h = await runHealth(objects.stalledFederation);
    expect(h.status).toBe('Degraded');
    expect(h.message).toMatch(/foreign/);
  });

  it('a connection pending GitLab authorisation is Progressing and says what to do', async () => {
    const h = await runHealth(objects.pendingConnection);
    expect(h.status).toBe('Progressing');
    expect(h.message).toBe(readyMessage(objects.pendingConnection));
    expect(h.message).toMatch(/console\.aws\.amazon\.com\/codesuite\/settings\/connections/);
  });

  it('an AVAILABLE connection is Healthy', async () => {
    expect((await runHealth(objects.availableConnection)).status).toBe('Healthy');
  });

  it('an ERROR connection is Degraded', async () => {
    const h = await runHealth(objects.errorConnection);
    expect(h.status).toBe('Degraded');
    expect(h.message.length).toBeGreaterThan(0);
  });

  it('a new generation not yet observed is Progressing, even when the old one was Ready or Stalled', async () => {
    for (const o of [objects.readyFederation, objects.stalledFederation, objects.availableConnection]) {
      const next = clone(o);
      next.metadata.generation = (next.metadata.generation ?? 1) + 1;
      const h = await runHealth(next);
      expect(h.status).toBe('Progressing');
      expect(h.message).toMatch(/generation/);
    }
  });

  it('Ready=False without Reconciling or Stalled is Degraded; no status yet is Progressing', async () => {
    const o = clone(objects.readyFederation);
    const conditions = ((o.status?.conditions ?? []) as { type: string; status: string }[]).filter(
      (c) => c.type !== 'Reconciling' && c.type !== 'Stalled',
    );
    for (const c of conditions) if (c.type === 'Ready') c.status = 'False';
    (o.status as Record<string, unknown>).conditions = conditions;
    expect((await runHealth(o)).status).toBe('Degraded');
    const fresh = clone(objects.readyFederation);
    delete fresh.status;
    expect(await runHealth(fresh)).toEqual({
      status: 'Progressing',
      message: 'Waiting for the operator to report status',
    });
  });
});

describe('Flux / kstatus conformance', () => {
  it('computes Current for Ready, InProgress for pending authorisation, Failed for Stalled', () => {
    expect(computeKStatus(objects.readyFederation as never).status).toBe('Current');
    expect(computeKStatus(objects.availableConnection as never).status).toBe('Current');
    expect(computeKStatus(objects.pendingConnection as never).status).toBe('InProgress');
    expect(computeKStatus(objects.stalledFederation as never).status).toBe('Failed');
    expect(computeKStatus(objects.errorConnection as never).status).toBe('Failed');
  });

  it('agrees with the Argo CD health check on every object', async () => {
    const map = {
      Current: 'Healthy',
      InProgress: 'Progressing',
      Failed: 'Degraded',
      Terminating: 'Progressing',
    };
    for (const o of [
      objects.readyFederation,
      objects.stalledFederation,
      objects.pendingConnection,
      objects.availableConnection,
      objects.errorConnection,
    ]) {
      expect((await runHealth(o)).status).toBe(map[computeKStatus(o as never).status]);
    }
  });

  it('kubectl wait --for=condition=Ready returns for the Ready ones and times out for the others', async () => {
    const wait = (kind: string, name: string, timeout: string) =>
      kubectl(['wait', '--for=condition=Ready', `${kind}/${name}`, '-n', objects.ns, `--timeout=${timeout}`]);
    expect((await wait('gitlabawsfederation', 'ready', '10s')).code).toBe(0);
    expect((await wait('gitlabconnection', 'available', '10s')).code).toBe(0);
    expect((await wait('gitlabconnection', 'pending', '1s')).code).not.toBe(0);
    expect((await wait('gitlabawsfederation', 'foreign', '1s')).code).not.toBe(0);
  });
});
