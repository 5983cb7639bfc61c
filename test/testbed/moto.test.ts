// The moto server the testbed starts answers IAM and STS through the real AWS SDK.
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, inject, it } from 'vitest';

const clientConfig = () => ({
  endpoint: inject('motoUrl'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

describe('moto', () => {
  it('serves IAM and STS to the AWS SDK', async () => {
    const iam = new IAMClient(clientConfig());
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'moto-smoke',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    const role = await iam.send(new GetRoleCommand({ RoleName: 'moto-smoke' }));
    expect(role.Role?.Arn).toBe('arn:aws:iam::123456789012:role/moto-smoke');
    const identity = await new STSClient(clientConfig()).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe('123456789012');
  });
});
