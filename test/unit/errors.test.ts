// How AWS and GitLab failures become conditions: the class decides retry or
// stall, the message says what to do, and no secret leaks into it.
import { GitbeakerRequestError } from '@gitbeaker/requester-utils';
import { describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../src/adapters/aws/errors.ts';
import { classifyGitLabError } from '../../src/adapters/gitlab/errors.ts';
import { RetryableError, TerminalError } from '../../src/runtime/reconcile/outcome.ts';

const aws = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
const gitlab = (status: number, description: string, retryAfterMs?: number) =>
  new GitbeakerRequestError(description, {
    cause: {
      description,
      request: new Request('https://gitlab.example.com'),
      response: new Response(null, { status }),
      retryAfterMs,
    } as never,
  });

describe('AWS errors', () => {
  it.each([
    ['AccessDenied', TerminalError, 'AWSAccessDenied', "Grant the operator's role this action"],
    ['MalformedPolicyDocumentException', TerminalError, 'MalformedPolicy', 'Fix the policy in the spec'],
    ['InvalidInputException', TerminalError, 'InvalidInput', 'Fix the spec'],
    ['LimitExceededException', TerminalError, 'AWSQuotaExceeded', 'Free up or raise the quota'],
    ['NoSuchEntityException', TerminalError, 'NotFound', 'Check the names and ARNs in the spec'],
    [
      'Throttling',
      RetryableError,
      'AWSThrottled',
      'iam:CreateRole on role r failed (Throttling, HTTP 400): Rate exceeded',
    ],
    ['ServiceFailureException', RetryableError, 'AWSUnavailable', 'HTTP 500'],
  ] as const)('%s', (name, klass, reason, text) => {
    const err = classifyAwsError(
      aws(name, 'Rate exceeded', name === 'ServiceFailureException' ? 500 : 400),
      'iam:CreateRole',
      'role r',
    );
    expect(err).toBeInstanceOf(klass);
    expect((err as TerminalError).reason).toBe(reason);
    expect(err.message).toContain(text);
  });

  it('looks again each resync at what a person fixes outside the spec, not at a spec that is wrong', () => {
    const recheck = (name: string) =>
      (classifyAwsError(aws(name, 'm'), 'iam:CreateRole', 'role r') as TerminalError).recheck;
    expect(['AccessDenied', 'LimitExceededException', 'NoSuchEntityException'].map(recheck)).toEqual([
      true,
      true,
      true,
    ]);
    expect(['MalformedPolicyDocumentException', 'InvalidInputException'].map(recheck)).toEqual([
      false,
      false,
    ]);
  });
});

describe('GitLab errors', () => {
  it.each([
    [
      401,
      TerminalError,
      'GitLabUnauthorized',
      'Put a valid access token with the api scope into the Secret named by spec.gitlab.tokenSecretRef',
    ],
    [
      403,
      TerminalError,
      'GitLabForbidden',
      'the token needs the api scope and its user needs at least the Maintainer role there',
    ],
    [404, TerminalError, 'GitLabNotFound', 'check the path in the spec'],
    [400, TerminalError, 'GitLabInvalid', '(400): {"value":["is invalid"]}'],
    [429, RetryableError, 'GitLabThrottled', 'retrying after the wait it asked for'],
    [500, RetryableError, 'GitLabUnavailable', '(HTTP 500)'],
  ] as const)('%i', (status, klass, reason, text) => {
    const err = classifyGitLabError(
      gitlab(status, status === 400 ? '{"value":["is invalid"]}' : 'x', 5000),
      'create variable',
      'project p',
    );
    expect(err).toBeInstanceOf(klass);
    expect((err as TerminalError).reason).toBe(reason);
    expect(err.message).toContain(text);
    if (status === 429) expect((err as RetryableError).retryAfterMs).toBe(5000);
    // A token, a membership or a project is fixed outside the spec; a refused value is not.
    if (err instanceof TerminalError) expect(err.recheck).toBe([401, 403, 404].includes(status));
  });
});
