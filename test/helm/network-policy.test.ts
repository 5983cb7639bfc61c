// The chart's optional egress NetworkPolicy (networkPolicy.egress): off by
// default; when on, DNS, the API server, AWS and GitLab only, with the
// link-local range (cloud metadata) cut out of every CIDR that contains it,
// accepted by the API server, and refused values said by helm.
import { describe, expect, it } from 'vitest';
import { createNamespace, kubectl } from '../harness/kube.ts';
import { CHART, find, helm, helmOk, one, render, valuesFile } from './helm.ts';

const on = (egress: Record<string, unknown> = {}) => ({
  networkPolicy: { egress: { enabled: true, apiServer: { cidrs: ['10.96.0.1/32'] }, ...egress } },
});

interface Rule {
  to: { ipBlock?: { cidr: string; except?: string[] }; namespaceSelector?: object; podSelector?: object }[];
  ports: { port: number | string; protocol: string }[];
}

describe('the egress NetworkPolicy', () => {
  it('is not rendered by default', async () => {
    expect(find(await render(), 'NetworkPolicy')).toEqual([]);
  });

  it('allows DNS, the API server, AWS and GitLab, and cuts 169.254.0.0/16 out of every CIDR holding it', async () => {
    const objects = await render(
      on({ gitlab: { cidrs: ['0.0.0.0/0', '::/0', '128.0.0.0/1', '10.0.0.0/8', '203.0.113.7/32'] } }),
    );
    const policy = one(objects, 'NetworkPolicy') as unknown as {
      metadata: { name: string };
      spec: { podSelector: object; policyTypes: string[]; egress: Rule[] };
    };
    expect(policy.metadata.name).toBe('gao-gitlab-aws-operator-egress');
    expect(policy.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'gitlab-aws-operator', 'app.kubernetes.io/instance': 'gao' },
    });
    expect(policy.spec.policyTypes).toEqual(['Egress']);
    const [dns, apiServer, aws, gitlab, ...rest] = policy.spec.egress;
    expect(rest).toEqual([]);
    expect(dns).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ],
    });
    expect(apiServer).toEqual({
      to: [{ ipBlock: { cidr: '10.96.0.1/32' } }],
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ],
    });
    expect(aws).toEqual({
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }],
      ports: [{ port: 443, protocol: 'TCP' }],
    });
    expect(gitlab?.to).toEqual([
      { ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } },
      { ipBlock: { cidr: '::/0', except: ['fe80::/10', 'fd00:ec2::/64'] } },
      { ipBlock: { cidr: '128.0.0.0/1', except: ['169.254.0.0/16'] } },
      // Neither holds it: an except outside the cidr is invalid, and nothing needs cutting.
      { ipBlock: { cidr: '10.0.0.0/8' } },
      { ipBlock: { cidr: '203.0.113.7/32' } },
    ]);
  });

  it('lets the AWS SDK reach the EKS Pod Identity agent, that address and port only, when asked', async () => {
    const policy = one(await render(on({ eksPodIdentityAgent: true })), 'NetworkPolicy') as unknown as {
      spec: { egress: Rule[] };
    };
    expect(policy.spec.egress.at(-1)).toEqual({
      to: [{ ipBlock: { cidr: '169.254.170.23/32' } }, { ipBlock: { cidr: 'fd00:ec2::23/128' } }],
      ports: [{ port: 80, protocol: 'TCP' }],
    });
  });

  it('is accepted by the API server (kubectl apply --dry-run=server)', async () => {
    const ns = await createNamespace('helm-np');
    const manifest = await helmOk([
      'template',
      `np-${ns}`,
      CHART,
      '--namespace',
      ns,
      '--show-only',
      'templates/networkpolicy.yaml',
      '-f',
      valuesFile(
        on({
          gitlab: { cidrs: ['0.0.0.0/0', '::/0'], ports: [{ port: 8443, protocol: 'TCP' }] },
          eksPodIdentityAgent: true,
        }),
      ),
    ]);
    const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: manifest });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `networkpolicy.networking.k8s.io/np-${ns}-gitlab-aws-operator-egress created (server dry run)\n`,
    );
  });

  it('refuses to render without the API server’s addresses, or with a CIDR inside the link-local range', async () => {
    const noApi = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile({ networkPolicy: { egress: { enabled: true } } }),
    ]);
    expect(noApi.code).not.toBe(0);
    expect(noApi.stderr).toContain(
      "networkPolicy.egress.apiServer.cidrs: list the API server's addresses (kubectl get endpoints kubernetes -n default), or the operator cannot reach it",
    );
    const metadata = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile(on({ aws: { cidrs: ['169.254.169.254/32'] } })),
    ]);
    expect(metadata.code).not.toBe(0);
    expect(metadata.stderr).toContain(
      'networkPolicy.egress: 169.254.169.254/32 lies inside 169.254.0.0/16, which the operator must never reach',
    );
  });

  it('refuses, by values.schema.json, an except list without 169.254.0.0/16 and a malformed CIDR', async () => {
    const dropped = await helm(['template', 'gao', CHART, '-f', valuesFile(on({ except: ['fe80::/10'] }))]);
    expect(dropped.code).not.toBe(0);
    expect(dropped.stderr).toContain("- at '/networkPolicy/egress/except'");
    const malformed = await helm([
      'template',
      'gao',
      CHART,
      '-f',
      valuesFile(on({ gitlab: { cidrs: ['gitlab.example.com'] } })),
    ]);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toContain(
      "- at '/networkPolicy/egress/gitlab/cidrs/0': 'gitlab.example.com' does not match pattern",
    );
  });
});
