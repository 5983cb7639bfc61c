// Calls to AWS and GitLab, counted where they arrive (the IAM proxy, the
// fakes), not by the operator; and the arithmetic that turns them into calls
// per resource.
import type { CodeConnectionsFake } from '../../testbed/fakes/codeconnections/index.ts';
import type { GitLabFake } from '../../testbed/fakes/gitlab/index.ts';
import type { MotoIamProxy } from '../../testbed/moto-iam-proxy.ts';
import { round } from './util.ts';

export interface Counts {
  /** `iam:GetRole` → 1000, `gitlab:GET /projects/:id` → 1000, ... */
  byOperation: Record<string, number>;
  reads: number;
  writes: number;
}

function gitlabOperation(method: string, path: string): string {
  const p = path
    .replace(/^\/api\/v4/, '')
    .replace(/\/(projects|groups)\/[^/]+/, '/$1/:id')
    .replace(/\/variables\/[^/?]+/, '/variables/:key');
  return `gitlab:${method} ${p}`;
}

export class CallLog {
  private readonly proxy: MotoIamProxy;
  private readonly gitlab: GitLabFake;
  private readonly cc: CodeConnectionsFake;
  constructor(proxy: MotoIamProxy, gitlab: GitLabFake, cc: CodeConnectionsFake) {
    this.proxy = proxy;
    this.gitlab = gitlab;
    this.cc = cc;
  }
  mark() {
    return {
      iam: this.proxy.actions.length,
      gitlab: this.gitlab.requests.length,
      cc: this.cc.requests.length,
    };
  }
  since(m: ReturnType<CallLog['mark']>): Counts {
    const ops: { op: string; write: boolean }[] = [
      ...this.proxy.actions.slice(m.iam).map((a) => {
        const name = a.split(':')[1] ?? a;
        return { op: a, write: !/^(Get|List)/.test(name) };
      }),
      ...this.gitlab.requests.slice(m.gitlab).map((r) => ({
        op: gitlabOperation(r.method, r.path),
        write: r.method !== 'GET' && r.method !== 'HEAD',
      })),
      ...this.cc.requests.slice(m.cc).map((r) => ({
        op: `codeconnections:${r.operation}`,
        write: !/^(Get|List)/.test(r.operation),
      })),
    ];
    const byOperation: Record<string, number> = {};
    for (const { op } of ops) byOperation[op] = (byOperation[op] ?? 0) + 1;
    const writes = ops.filter((o) => o.write).length;
    return { byOperation, reads: ops.length - writes, writes };
  }
  total(): number {
    return this.proxy.actions.length + this.gitlab.requests.length + this.cc.requests.length;
  }
}

/** Calls per resource of the operations whose names start with one of `prefix`. */
export const perResource = (c: Counts, n: number, prefix: string[]) => {
  const out: Record<string, number> = {};
  for (const [op, count] of Object.entries(c.byOperation))
    if (prefix.some((p) => op.startsWith(p))) out[op] = round(count / n, 2);
  return out;
};

export const sum = (o: Record<string, number>, pick: (op: string) => boolean) =>
  round(
    Object.entries(o)
      .filter(([op]) => pick(op))
      .reduce((a, [, v]) => a + v, 0),
    2,
  );

const isWrite = (op: string) =>
  op.startsWith('gitlab:') ? !op.startsWith('gitlab:GET') : !/:(Get|List)/.test(op);

/** "reads / writes" per resource, for the table. */
export const readsWrites = (o: Record<string, number>) =>
  `${sum(o, (op) => !isWrite(op))} / ${sum(o, isWrite)}`;
