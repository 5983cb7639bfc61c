// The AWS CLI of the testbed (testbed/setup/env.sh ensure_awscli), pointed at
// moto: what test/jobs runs the example jobs with, and what the testbed's own
// tests call services with that the project has no SDK client for.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCliPath } from './assets.ts';
import { removeOnExit } from './processes.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment that points the CLI at moto and nowhere else: a config file
 * of its own (S3 path-style addressing, since moto's 127.0.0.1 has no bucket
 * subdomains), no shared credentials, no instance metadata lookups, a HOME of
 * its own. Credentials come from `credentials`, or from the caller's variables
 * (a job's web identity).
 */
export function awsCliEnv(
  endpoint: string,
  options: { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'gao-aws-cli-'));
  removeOnExit(dir);
  const config = join(dir, 'config');
  writeFileSync(config, '[default]\ns3 =\n  addressing_style = path\n');
  // Only `aws` of the CLI's venv on PATH, not its python.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(awsCliPath(), join(bin, 'aws'));
  return {
    HOME: dir,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    ...(options.region ? { AWS_DEFAULT_REGION: options.region } : {}),
    ...(options.credentials
      ? {
          AWS_ACCESS_KEY_ID: options.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: options.credentials.secretAccessKey,
        }
      : {}),
  };
}

/** `aws ARGS` with exactly `env` (nothing of this process's environment). */
export function awsCli(args: string[], env: Record<string, string>): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(awsCliPath(), args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * An IAM user allowed everything, with an access key: what the operator and a
 * test's own set-up use once moto enforces IAM. Made before enforcement is on
 * (or within its unauthenticated count).
 */
export async function createMotoAdmin(
  endpoint: string,
  name = 'testbed-admin',
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const env = awsCliEnv(endpoint, {
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const run = async (args: string[]) => {
    const r = await awsCli(args, env);
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await run(['iam', 'create-user', '--user-name', name]);
  await run([
    'iam',
    'put-user-policy',
    '--user-name',
    name,
    '--policy-name',
    'everything',
    '--policy-document',
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    }),
  ]);
  const [accessKeyId, secretAccessKey] = (
    await run([
      'iam',
      'create-access-key',
      '--user-name',
      name,
      '--query',
      'AccessKey.[AccessKeyId,SecretAccessKey]',
      '--output',
      'text',
    ])
  )
    .trim()
    .split(/\s+/);
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
}
