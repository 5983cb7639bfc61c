// AWS SDK v3 errors mapped to the runtime's classes. The SDK already retried
// throttling and 5xx (standard mode, 3 attempts); what reaches us is either
// for a person (terminal) or for the work queue's backoff (retryable). A
// missing permission, a full quota or a missing policy are fixed outside the
// spec: looked at again every resync.
import { RetryableError, TerminalError } from '../../runtime/reconcile/outcome.ts';

interface AwsError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export function awsErrorName(err: unknown): string {
  return (err as AwsError | undefined)?.name ?? 'Error';
}

export function isAwsError(err: unknown, ...names: string[]): boolean {
  const name = awsErrorName(err);
  return names.some((n) => name === n || name === `${n}Exception`);
}

const ACCESS_DENIED = [
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
];

/** A classified error for a failed `operation` ("iam:CreateRole") on `what` ("role gitlab-x"). */
export function classifyAwsError(err: unknown, operation: string, what: string): Error {
  if (err instanceof TerminalError || err instanceof RetryableError) return err;
  const e = err as AwsError;
  const name = awsErrorName(err);
  const detail = e?.message ? `: ${e.message.replace(/\.+$/, '')}` : '';
  if (ACCESS_DENIED.includes(name)) {
    return new TerminalError(
      'AWSAccessDenied',
      `AWS denied ${operation} on ${what}${detail}. Grant the operator's role this action (see the chart's IAM policy), or set spec.aws.assumeRoleArn to a role that has it`,
      { cause: err, recheck: true },
    );
  }
  if (isAwsError(err, 'MalformedPolicyDocument')) {
    return new TerminalError(
      'MalformedPolicy',
      `IAM refused a policy document for ${what}${detail}. Fix the policy in the spec`,
      { cause: err },
    );
  }
  if (isAwsError(err, 'InvalidInput', 'ValidationError', 'Validation')) {
    const service = operation.startsWith('iam:') ? 'IAM' : 'AWS';
    return new TerminalError(
      'InvalidInput',
      `${service} refused ${operation} on ${what}${detail}. Fix the spec`,
      {
        cause: err,
      },
    );
  }
  if (isAwsError(err, 'UnsupportedOperation')) {
    return new TerminalError(
      'UnsupportedOperation',
      `AWS does not support ${operation} on ${what}${detail}. Change the spec, or make the change in the AWS console`,
      { cause: err },
    );
  }
  if (isAwsError(err, 'LimitExceeded')) {
    return new TerminalError(
      'AWSQuotaExceeded',
      `AWS quota reached for ${operation} on ${what}${detail}. Free up or raise the quota, then the operator continues`,
      { cause: err, recheck: true },
    );
  }
  if (isAwsError(err, 'NoSuchEntity', 'ResourceNotFound')) {
    return new TerminalError(
      'NotFound',
      `${operation} on ${what} failed${detail}. Check the names and ARNs in the spec`,
      { cause: err, recheck: true },
    );
  }
  const status = e?.$metadata?.httpStatusCode;
  const reason =
    name === 'Throttling' || name === 'ThrottlingException' || status === 429
      ? 'AWSThrottled'
      : 'AWSUnavailable';
  return new RetryableError(
    reason,
    `${operation} on ${what} failed (${name}${status ? `, HTTP ${status}` : ''})${detail}`,
    { cause: err },
  );
}

export function outcomeOfAwsError(err: unknown): string {
  return awsErrorName(err).replace(/Exception$/, '');
}
