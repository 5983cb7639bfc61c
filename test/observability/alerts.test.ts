// The chart's PrometheusRule and Grafana dashboard against the real metrics of
// the operator: one operator process on the testbed with a federation that is
// Ready (with an access key that rotates hourly), one stalled (GitLab refuses
// its token), one whose GitLab answers 500 (retried), and a GitLabConnection
// PENDING. Its /metrics is scraped twice; promtool checks the rendered rules
// and unit-tests every alert on series built from those scrapes, labelled as a
// ServiceMonitor scrape of the chart's metrics Service would label them.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  type CodeConnectionsFake,
  startCodeConnectionsFake,
} from '../../testbed/fakes/codeconnections/index.ts';
import {
  type OperatorProcess,
  runArgs,
  startOperatorProcess,
  testbedAwsEnv,
} from '../../testbed/operator-process.ts';
import { waitFor } from '../../testbed/processes.ts';
import { connectionApi } from '../connection/helpers.ts';
import {
  apply,
  CLI,
  createTokenSecret,
  federation,
  federationSpec,
  type GitLabInstance,
  getFederation,
  keysSpec,
  startGitLab,
} from '../federation/env.ts';
import { createNamespace } from '../harness/kube.ts';
import { CHART, helmOk, valuesFile } from '../helm/helm.ts';
import { scrapeMetrics } from '../runtime/widgets.ts';
import {
  humanizeDuration,
  humanizePercentage,
  inputSeries,
  parseExposition,
  promtool,
  type Scrape,
  writeFiles,
} from './prom.ts';

const RELEASE = 'obs';
const RELEASE_NS = 'monitoring-test';
const JOB = `${RELEASE}-gitlab-aws-operator-metrics`;
const POD = `${RELEASE}-gitlab-aws-operator-6d4f9c7b8-x2x9z`;
/** What a ServiceMonitor scrape of the chart's metrics Service adds to every series. */
const TARGET = {
  job: JOB,
  namespace: RELEASE_NS,
  service: JOB,
  endpoint: 'metrics',
  pod: POD,
  instance: '10.0.0.7:8080',
  container: 'operator',
};

interface Rendered {
  rule: { spec: { groups: object[] } };
  dashboard: { data: Record<string, string>; metadata: { labels: Record<string, string> } };
}

async function render(): Promise<Rendered> {
  const out = await helmOk([
    'template',
    RELEASE,
    CHART,
    '-n',
    RELEASE_NS,
    '-f',
    valuesFile({ metrics: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } }),
  ]);
  const docs = parseAllDocuments(out).map((d) => d.toJS()) as { kind: string; metadata: { name: string } }[];
  return {
    rule: docs.find((d) => d.kind === 'PrometheusRule') as unknown as Rendered['rule'],
    dashboard: docs.find(
      (d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard'),
    ) as unknown as Rendered['dashboard'],
  };
}

let gitlab: GitLabInstance;
let codeConnections: CodeConnectionsFake;
let op: OperatorProcess;
let ns: string;
let first: Scrape;
let second: Scrape;
let rendered: Rendered;

const reasonOf = async (name: string, type: string) => {
  const f = await getFederation(ns, name);
  return f.status?.conditions?.find((c) => c.type === type);
};

beforeAll(async () => {
  rendered = await render();
  gitlab = await startGitLab();
  codeConnections = await startCodeConnectionsFake();
  ns = await createNamespace('obs');
  await createTokenSecret(ns, gitlab.token);
  await createTokenSecret(ns, 'glpat-nobody-has-this-token', 'refused-token');
  // Every GitLab call about payments/libs/crypto fails, as a GitLab in trouble answers.
  gitlab.fake.faults.add({ path: /crypto/, status: 500, body: { message: '500 Internal Server Error' } });
  op = startOperatorProcess(
    CLI,
    [
      ...runArgs(ns, inject('kubeconfig')),
      '--cluster-id',
      'obs',
      '--propagation-delay',
      '1s',
      '--leader-elect',
      '--leader-election-namespace',
      ns,
      '--leader-election-id',
      'obs-operator',
    ],
    {
      ...testbedAwsEnv({
        iamUrl: inject('motoIamUrl'),
        codeConnectionsUrl: codeConnections.endpoint,
        region: 'us-east-1',
      }),
      NODE_EXTRA_CA_CERTS: gitlab.caFile,
    },
  );
  await apply(ns, federation('keys', keysSpec(gitlab, { rotation: { interval: '1h' } })));
  await apply(
    ns,
    federation(
      'refused',
      federationSpec(gitlab, {
        gitlab: { url: gitlab.fake.url, tokenSecretRef: { name: 'refused-token', key: 'token' } },
      }),
    ),
  );
  await apply(
    ns,
    federation(
      'flaky',
      federationSpec(gitlab, { access: [{ project: 'payments/libs/crypto', refs: ['main'] }] }),
    ),
  );
  await connectionApi().create(ns, 'pending', {});

  const logs = () => op.lines.map((l) => JSON.stringify(l)).join('\n');
  await waitFor(
    'keys Ready, refused Stalled, flaky retried, pending PENDING',
    async () => {
      const ready = (await reasonOf('keys', 'Ready'))?.status === 'True';
      const stalled = (await reasonOf('refused', 'Stalled'))?.status === 'True';
      const retried =
        op.lines.filter((l) => l.key === `${ns}/flaky` && l.msg === 'reconcile failed; will retry').length >=
        2;
      const conn = await connectionApi().get(ns, 'pending');
      const pending = conn.status?.conditions?.some(
        (c) => c.type === 'Authorized' && c.reason === 'PendingGitLabAuthorization',
      );
      return ready && stalled && retried && pending ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500, diagnostics: logs },
  );
  first = parseExposition(await scrapeMetrics(op));
  // The flaky federation keeps failing meanwhile (its backoff doubles from 1 s).
  await new Promise((r) => setTimeout(r, 6000));
  second = parseExposition(await scrapeMetrics(op));
}, 180_000);

afterAll(async () => {
  await op?.stop('SIGKILL');
  await gitlab?.close();
  await codeConnections?.close();
});

const value = (s: Scrape, name: string, labels: Record<string, string>) =>
  s.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    ?.value;

describe('the operator exports', () => {
  it("controller-runtime's metric names and labels for what both mean", () => {
    const names = new Set(second.samples.map((s) => s.name));
    for (const name of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_terminal_reconcile_errors_total',
      'controller_runtime_reconcile_panics_total',
      'controller_runtime_reconcile_time_seconds_bucket',
      'controller_runtime_max_concurrent_reconciles',
      'controller_runtime_active_workers',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_retries_total',
      'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds',
      'leader_election_master_status',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'process_open_fds',
    ])
      expect(names, name).toContain(name);
    const fed = { controller: 'gitlabawsfederation' };
    expect(
      value(second, 'controller_runtime_reconcile_total', { ...fed, result: 'error' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      value(second, 'controller_runtime_reconcile_total', { ...fed, result: 'requeue_after' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(second, 'controller_runtime_terminal_reconcile_errors_total', fed)).toBeGreaterThanOrEqual(
      1,
    );
    expect(value(second, 'controller_runtime_max_concurrent_reconciles', fed)).toBe(4);
    expect(value(second, 'workqueue_adds_total', { name: 'gitlabawsfederation' })).toBeGreaterThanOrEqual(3);
    expect(value(second, 'leader_election_master_status', { name: 'obs-operator' })).toBe(1);
    // The project's own names stay.
    expect(
      value(second, 'gitlab_aws_operator_reconcile_total', { ...fed, result: 'terminal' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(second, 'gitlab_aws_operator_workqueue_depth', fed)).toBeDefined();
  });

  it('a readiness gauge and a condition gauge per resource, and the moments the alerts compare with', async () => {
    const resource = (name: string) => ({ namespace: ns, name });
    expect(
      value(second, 'gitlab_aws_operator_resource_ready', {
        ...resource('keys'),
        kind: 'GitLabAwsFederation',
      }),
    ).toBe(1);
    expect(
      value(second, 'gitlab_aws_operator_resource_ready', {
        ...resource('flaky'),
        kind: 'GitLabAwsFederation',
      }),
    ).toBe(0);
    expect(
      value(second, 'gitlab_aws_operator_resource_ready', {
        ...resource('pending'),
        kind: 'GitLabConnection',
        reason: 'PendingGitLabAuthorization',
      }),
    ).toBe(0);
    expect(
      value(second, 'gitlab_aws_operator_resource_condition', {
        ...resource('refused'),
        kind: 'GitLabAwsFederation',
        type: 'Stalled',
        status: 'True',
        reason: 'GitLabUnauthorized',
      }),
    ).toBe(1);
    const keys = await getFederation(ns, 'keys');
    expect(
      value(second, 'gitlab_aws_operator_access_key_next_rotation_timestamp_seconds', resource('keys')),
    ).toBe(Date.parse(keys.status!.accessKey!.nextRotationAt!) / 1000);
    const conn = await connectionApi().get(ns, 'pending');
    const authorized = conn.status!.conditions!.find((c) => c.type === 'Authorized')!;
    expect(
      value(second, 'gitlab_aws_operator_connection_pending_since_timestamp_seconds', resource('pending')),
    ).toBe(Date.parse(authorized.lastTransitionTime) / 1000);
  });
});

describe('the PrometheusRule', () => {
  it('passes promtool check rules', async () => {
    const dir = writeFiles({ 'rules.yaml': rendered.rule.spec });
    const r = await promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 5 rules found');
  });

  it('fires each alert on the real metrics, for the right resource, with the text a person reads', async () => {
    const t0 = Math.floor(second.at / 1000);
    const at = (name: string, labels: Record<string, string>) => value(second, name, labels)!;
    const since =
      at('gitlab_aws_operator_connection_pending_since_timestamp_seconds', { name: 'pending' }) - t0;
    const nextRotation =
      at('gitlab_aws_operator_access_key_next_rotation_timestamp_seconds', { name: 'keys' }) - t0;
    const flaky = second.samples.find(
      (s) => s.name === 'gitlab_aws_operator_resource_ready' && s.labels.name === 'flaky',
    )!;
    const flakyReason = flaky.labels.reason ?? '';
    expect((await reasonOf('flaky', 'Ready'))?.reason).toBe(flakyReason);

    // The share of reconciles that failed and were retried between the scrapes, as rate() sees it.
    const grew = (name: string) =>
      at(name, { controller: 'gitlabawsfederation' }) -
      value(first, name, { controller: 'gitlabawsfederation' })!;
    const total = ['error', 'requeue_after', 'requeue', 'success'].reduce(
      (sum, result) =>
        sum +
        value(second, 'controller_runtime_reconcile_total', { controller: 'gitlabawsfederation', result })! -
        value(first, 'controller_runtime_reconcile_total', { controller: 'gitlabawsfederation', result })!,
      0,
    );
    const ratio =
      (grew('controller_runtime_reconcile_errors_total') -
        grew('controller_runtime_terminal_reconcile_errors_total')) /
      total;
    expect(ratio).toBeGreaterThan(0.1);

    const gap = Math.max(1, Math.round((second.at - first.at) / 1000));
    const fed = { namespace: ns, kind: 'GitLabAwsFederation', severity: 'warning' };
    const stalledAlert = {
      exp_labels: { ...fed, name: 'refused', reason: 'GitLabUnauthorized' },
      exp_annotations: {
        summary: `GitLabAwsFederation ${ns}/refused is stalled: GitLabUnauthorized`,
        description: `The operator gave up on GitLabAwsFederation ${ns}/refused (GitLabUnauthorized) until someone changes it or what it depends on: kubectl describe gitlabawsfederation refused -n ${ns} says what to do.`,
      },
    };
    const pendingAlert = (evalSeconds: number) => ({
      exp_labels: { namespace: ns, name: 'pending', severity: 'warning' },
      exp_annotations: {
        summary: `GitLabConnection ${ns}/pending has waited ${humanizeDuration(evalSeconds - since)} for a GitLab Owner`,
        description: `The AWS connection of GitLabConnection ${ns}/pending is PENDING: a user with the Owner role in GitLab must complete the handshake at the URL in its status.authorizationUrl (kubectl get glconn pending -n ${ns} -o jsonpath={.status.authorizationUrl}).`,
      },
    });
    const overdue = (evalSeconds: number) => humanizeDuration(evalSeconds - nextRotation);
    const rotationAlert = (evalSeconds: number) => ({
      exp_labels: { namespace: ns, name: 'keys', severity: 'warning' },
      exp_annotations: {
        summary: `The access key of GitLabAwsFederation ${ns}/keys is ${overdue(evalSeconds)} past its rotation`,
        description: `The IAM user access key of GitLabAwsFederation ${ns}/keys should have been replaced ${overdue(evalSeconds)} ago: kubectl describe glaf keys -n ${ns} (condition AccessKeyRotated) says what stops the operator.`,
      },
    });
    const notReadyAlert = {
      exp_labels: { ...fed, name: 'flaky', reason: flakyReason },
      exp_annotations: {
        summary: `GitLabAwsFederation ${ns}/flaky is not Ready: ${flakyReason}`,
        description: `GitLabAwsFederation ${ns}/flaky has not been Ready for 1h (${flakyReason}); the operator keeps retrying. kubectl describe gitlabawsfederation flaky -n ${ns} has the message.`,
      },
    };
    const h = 3600;
    const test = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // The state of the second scrape, held for 26 hours.
          name: 'resource state',
          interval: '1m',
          input_series: inputSeries(second, second, TARGET, 26 * 60),
          alert_rule_test: [
            { eval_time: '10m', alertname: 'GitLabAwsResourceStalled', exp_alerts: [] },
            { eval_time: '16m', alertname: 'GitLabAwsResourceStalled', exp_alerts: [stalledAlert] },
            { eval_time: '50m', alertname: 'GitLabAwsResourceNotReady', exp_alerts: [] },
            { eval_time: '61m', alertname: 'GitLabAwsResourceNotReady', exp_alerts: [notReadyAlert] },
            { eval_time: '23h', alertname: 'GitLabConnectionPendingAuthorization', exp_alerts: [] },
            {
              eval_time: '25h',
              alertname: 'GitLabConnectionPendingAuthorization',
              exp_alerts: [pendingAlert(25 * h)],
            },
            // Due about an hour after the scrape; an hour later it is overdue.
            { eval_time: '90m', alertname: 'GitLabAwsAccessKeyRotationOverdue', exp_alerts: [] },
            {
              eval_time: '150m',
              alertname: 'GitLabAwsAccessKeyRotationOverdue',
              exp_alerts: [rotationAlert(150 * 60)],
            },
          ],
        },
        {
          // The counters growing as they did between the two scrapes.
          name: 'reconcile errors',
          interval: `${gap}s`,
          input_series: inputSeries(first, second, TARGET, Math.ceil((45 * 60) / gap)),
          alert_rule_test: [
            { eval_time: '10m', alertname: 'GitLabAwsReconcileErrors', exp_alerts: [] },
            {
              eval_time: '40m',
              alertname: 'GitLabAwsReconcileErrors',
              exp_alerts: [
                {
                  exp_labels: { controller: 'gitlabawsfederation', severity: 'warning' },
                  exp_annotations: {
                    summary: `${humanizePercentage(ratio)} of the gitlabawsfederation reconciles fail and are retried`,
                    description:
                      'Reconciles of the gitlabawsfederation controller keep failing with errors the operator retries (AWS or GitLab unreachable, throttled or failing): the operator logs (level warn, "reconcile failed; will retry") and gitlab_aws_operator_external_requests_total by outcome say which system.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const dir = writeFiles({ 'rules.yaml': rendered.rule.spec, 'test.yaml': test });
    const r = await promtool(['test', 'rules', 'test.yaml'], dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 120_000);
});

describe('the Grafana dashboard', () => {
  it('is a ConfigMap for the sidecar with valid JSON whose every query names metrics the operator exports', () => {
    expect(rendered.dashboard.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(rendered.dashboard.data['gitlab-aws-operator.json'] ?? '') as {
      uid: string;
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    expect(dashboard.uid).toBe('gitlab-aws-operator');
    // Declared families count: a counter with no label values yet (no informer restarted) has no series.
    const exported = second.declared;
    const queries = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    expect(queries.length).toBeGreaterThan(15);
    for (const { panel, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${panel} uses ${name}`).toContain(name);
    }
  });
});

/** The metric names a PromQL expression selects: every name{...} (the dashboard always selects the job). */
function metricNames(expr: string): string[] {
  const names = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1] ?? '');
  // Anything else that reads like a bare metric name must be PromQL itself.
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]');
  const words = withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const promql = new Set([
    'sum',
    'max',
    'min',
    'count',
    'avg',
    'by',
    'without',
    'on',
    'ignoring',
    'unless',
    'or',
    'and',
    'rate',
    'increase',
    'histogram_quantile',
    'time',
    'vector',
    'le',
    'kind',
    'namespace',
    'exported_namespace',
    'name',
    'reason',
    'controller',
    'result',
    'system',
    'operation',
    'outcome',
    'pod',
    'resource',
  ]);
  for (const w of words) if (!promql.has(w) && !names.includes(w)) names.push(`unknown word ${w}`);
  return names;
}

describe('the chart', () => {
  const kinds = async (values: object) =>
    parseAllDocuments(await helmOk(['template', RELEASE, CHART, '-n', RELEASE_NS, '-f', valuesFile(values)]))
      .map(
        (d) =>
          d.toJS() as {
            kind: string;
            metadata: { name: string };
            spec?: { groups: { rules: { alert: string }[] }[] };
          },
      )
      .filter(
        (d) =>
          d.kind === 'PrometheusRule' || (d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard')),
      );

  it('renders neither the PrometheusRule nor the dashboard unless asked, like the ServiceMonitor', async () => {
    expect(await kinds({})).toEqual([]);
  });

  it('leaves out the alerts named in disabled, adds extraRules, and passes helm lint --strict', async () => {
    const [rule] = await kinds({
      metrics: {
        prometheusRule: {
          enabled: true,
          labels: { release: 'prom' },
          disabled: ['GitLabAwsResourceNotReady'],
          extraRules: [{ alert: 'Mine', expr: 'vector(1)' }],
        },
      },
    });
    expect(rule?.spec?.groups[0]?.rules.map((r) => r.alert)).toEqual([
      'GitLabAwsResourceStalled',
      'GitLabConnectionPendingAuthorization',
      'GitLabAwsReconcileErrors',
      'GitLabAwsAccessKeyRotationOverdue',
      'Mine',
    ]);
    const lint = await helmOk([
      'lint',
      '--strict',
      CHART,
      '-f',
      valuesFile({ metrics: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } }),
    ]);
    expect(lint).toContain('0 chart(s) failed');
  });
});
