// The job runner itself (test/jobs/harness.ts): GitLab's variable precedence
// and expansion, protected and file variables, ID tokens, rules, and a shell
// that stops at the first failing command, pipelines included.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitLabFake, startGitLabFake } from '../../testbed/fakes/gitlab/index.ts';
import { removeOnExit } from '../../testbed/processes.ts';
import { readJob, runJob } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'gao-harness-'));
removeOnExit(dir);
const FILE = join(dir, '.gitlab-ci.yml');
writeFileSync(
  FILE,
  `variables:
  GLOBAL: global-$CI_PROJECT_NAME
  OVERRIDDEN: from-file
probe:
  variables:
    JOB: job-\${GLOBAL}
    FROM_SETTINGS: from-yaml
    DOLLAR: $$HOME
  id_tokens:
    TOKEN:
      aud: $CI_SERVER_URL
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  before_script:
    - echo before
  script:
    - echo "GLOBAL=$GLOBAL JOB=$JOB FROM_SETTINGS=$FROM_SETTINGS OVERRIDDEN=$OVERRIDDEN DOLLAR=$DOLLAR"
    - echo "GROUP=$GROUP PROTECTED=$(printenv PROTECTED || echo unset) FILE=$(cat "$FILE_VAR")"
pipefail:
  script:
    - echo first
    - false | true
    - echo not reached
`,
);

let fake: GitLabFake;
const run = (job: string, variables?: Record<string, string>, ref?: string) =>
  runJob({
    file: FILE,
    job,
    gitlab: fake,
    awsEndpoint: 'http://127.0.0.1:9',
    project: 'payments/api',
    ...(variables ? { variables } : {}),
    ...(ref ? { ref } : {}),
  });

beforeAll(async () => {
  fake = await startGitLabFake();
  fake.state.addProject('payments/api');
  const project = { project: 'payments/api' };
  fake.state.setVariable({ group: 'payments' }, { key: 'GROUP', value: 'from-group' });
  fake.state.setVariable({ group: 'payments' }, { key: 'FROM_SETTINGS', value: 'from-group' });
  fake.state.setVariable(project, { key: 'FROM_SETTINGS', value: 'from-project' });
  fake.state.setVariable(project, { key: 'PROTECTED', value: 'only-protected', protected: true });
  fake.state.setVariable(project, { key: 'FILE_VAR', value: 'file-content', variable_type: 'file' });
  fake.state.setVariable(project, { key: 'STAGING', value: 'x', environment_scope: 'staging' });
});
afterAll(async () => {
  await fake?.close();
});

describe('the job runner', () => {
  it("applies GitLab's precedence and expansion: predefined < file < job < group < project < pipeline", async () => {
    const r = await run('probe', { OVERRIDDEN: 'from-pipeline' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        '$ echo before',
        'before',
        '$ echo "GLOBAL=$GLOBAL JOB=$JOB FROM_SETTINGS=$FROM_SETTINGS OVERRIDDEN=$OVERRIDDEN DOLLAR=$DOLLAR"',
        'GLOBAL=global-api JOB=job-global-api FROM_SETTINGS=from-project OVERRIDDEN=from-pipeline DOLLAR=$HOME',
        '$ echo "GROUP=$GROUP PROTECTED=$(printenv PROTECTED || echo unset) FILE=$(cat "$FILE_VAR")"',
        'GROUP=from-group PROTECTED=unset FILE=file-content',
        '',
      ].join('\n'),
    );
    expect(r.env.STAGING).toBeUndefined();
  });

  it('gives protected variables to protected branches only', async () => {
    fake.state.protectBranch({ project: 'payments/api' }, 'main');
    try {
      const r = await run('probe');
      expect(r.stdout).toContain('PROTECTED=only-protected');
    } finally {
      fake.state.unprotectBranch({ project: 'payments/api' }, 'main');
    }
  });

  it('sets each id_tokens variable to an ID token of the fake for the project, ref and expanded aud', async () => {
    const r = await run('probe');
    const claims = decodeJwt(r.env.TOKEN!);
    expect(claims).toMatchObject({
      iss: fake.url,
      aud: fake.url,
      sub: 'project_path:payments/api:ref_type:branch:ref:main',
    });
  });

  it('follows rules: not run on another branch', async () => {
    expect((await run('probe', {}, 'feature/x')).ran).toBe(false);
  });

  it('stops at the first failing command, a failing pipeline included (set -eo pipefail)', async () => {
    const r = await run('pipefail');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('first');
    expect(r.stdout).not.toContain('not reached');
  });

  it('refuses a script entry that is not a string, as GitLab does', () => {
    expect(() => readJob('j:\n  script:\n    - cut -d: -f5\n', 'j')).toThrow(/not a string/);
  });
});
