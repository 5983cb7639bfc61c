// The AWS SDK clients the operator makes give up on an endpoint that accepts
// the connection and then never answers, instead of holding a worker for ever:
// the request timeout ends each attempt, and after the SDK's retries the call
// fails as a retryable error naming the timeout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AwsClients } from '../../src/adapters/aws/clients.ts';
import { Metrics } from '../../src/runtime/process/metrics.ts';

let server: Server;
let arrivals = 0;

beforeAll(async () => {
  // Reads the request, never answers.
  server = createServer((req) => {
    arrivals += 1;
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_IAM: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

it('ends every IAM attempt at the request timeout, and fails the call as retryable', async () => {
  const aws = new AwsClients({
    clusterId: 'itest',
    metrics: new Metrics(),
    timeouts: { connectionMs: 1000, requestMs: 500 },
  });
  const err = await aws
    .iamFor('eu-west-1', undefined, 'default')
    .getRole('stuck')
    .catch((e: Error & { reason?: string }) => e);
  expect(err).toMatchObject({ name: 'RetryableError', reason: 'AWSUnavailable' });
  expect((err as Error).message).toMatch(/^iam:GetRole on role stuck failed \(TimeoutError\)/);
  // The SDK's standard retry: three attempts, each cut off.
  expect(arrivals).toBe(3);
});
