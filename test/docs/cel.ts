// Evaluates a Flux health expression (docs/gitops.md, healthCheckExprs) with a
// real CEL implementation: the kube-apiserver's, through a
// ValidatingAdmissionPolicy on a test-only kind whose objects keep whatever
// status they are created with. Flux binds the object's top-level fields
// (`status`, `metadata`) as variables; a policy sees them under `object.`, so
// those two names are prefixed. Both run cel-go with optional types (`.?`,
// orValue), which is all the page's expressions use beyond the standard macros.
import { kubectl } from '../harness/kube.ts';

const GROUP = 'docsprobe.gitlab-aws.io';
const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `probes.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Cluster',
    names: { kind: 'Probe', plural: 'probes', singular: 'probe', listKind: 'ProbeList' },
    // No status subresource: a create keeps the status it is given.
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
const MARK = 'docs-probe: the expression is true';
const SENTINEL = 'probe-sentinel';

export type CelResult = true | false | { error: string };

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Flux's variables as a policy's: `status.x` → `object.status.x`, not `c.status`. */
export function asPolicyExpression(expr: string): string {
  return expr.replace(/(?<![.\w?])(status|metadata)(?=\s*\.)/g, 'object.$1');
}

export interface CelProbe {
  evaluate(
    expr: string,
    object: { metadata?: Record<string, unknown>; status?: unknown },
  ): Promise<CelResult>;
  close(): Promise<void>;
}

export async function celProbe(): Promise<CelProbe> {
  await ok(['apply', '-f', '-'], JSON.stringify(CRD));
  await ok(['wait', '--for=condition=Established', `crd/probes.${GROUP}`, '--timeout=60s']);
  const policies: string[] = [];
  let seq = 0;

  const create = async (
    label: string,
    object: { metadata?: Record<string, unknown>; status?: unknown },
    name = `probe-${label}`,
  ) => {
    const { generation: _, ...metadata } = object.metadata ?? {}; // the API server sets it (1)
    const probe = {
      apiVersion: `${GROUP}/v1`,
      kind: 'Probe',
      ...object,
      metadata: { ...metadata, name, labels: { 'docs-probe': label } },
    };
    return kubectl(['create', '--dry-run=server', '-f', '-'], { stdin: JSON.stringify(probe) });
  };

  /** A policy for one expression, and the label that selects the objects it judges. */
  const policyFor = async (expr: string): Promise<string> => {
    const label = `e${seq++}`;
    const name = `docs-probe-${label}`;
    // The object named SENTINEL is always refused: once it is, the policy is in force.
    const expression = `object.metadata.name == '${SENTINEL}' ? false : !(${asPolicyExpression(expr)})`;
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicy',
            metadata: { name },
            spec: {
              failurePolicy: 'Fail',
              matchConstraints: {
                resourceRules: [
                  { apiGroups: [GROUP], apiVersions: ['v1'], operations: ['CREATE'], resources: ['probes'] },
                ],
              },
              validations: [{ expression, message: MARK }],
            },
          },
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicyBinding',
            metadata: { name },
            spec: {
              policyName: name,
              validationActions: ['Deny'],
              matchResources: { objectSelector: { matchLabels: { 'docs-probe': label } } },
            },
          },
        ],
      }),
    );
    policies.push(name);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await create(label, { status: {} }, SENTINEL);
      if (r.code !== 0 && r.stderr.includes(MARK)) return label;
      if (Date.now() > deadline) throw new Error(`policy ${name} not in force after 30 s: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  };

  const labels = new Map<string, string>();
  return {
    async evaluate(expr, object) {
      let label = labels.get(expr);
      if (!label) {
        label = await policyFor(expr);
        labels.set(expr, label);
      }
      const r = await create(label, object);
      if (r.code === 0) return false;
      if (r.stderr.includes(MARK)) return true;
      return { error: r.stderr.trim() };
    },
    async close() {
      for (const name of policies) {
        await kubectl([
          'delete',
          'validatingadmissionpolicybinding,validatingadmissionpolicy',
          name,
          '--ignore-not-found',
        ]);
      }
      await kubectl(['delete', 'crd', `probes.${GROUP}`, '--ignore-not-found']);
    },
  };
}
