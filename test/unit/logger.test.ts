import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/logger.ts';

describe('logger', () => {
  it('writes JSON and redacts secret-bearing fields', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info(
      {
        token: 'glpat-AAAAsecretAAAA',
        request: {
          headers: { authorization: 'Bearer glpat-BBBBsecret', 'PRIVATE-TOKEN': 'glpat-CCCCsecret' },
        },
        key: { SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET', AccessKeyId: 'AKIAEXAMPLE' },
        variable: { key: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET2' },
      },
      'calling GitLab',
    );
    const line = JSON.parse(out);
    expect(line.msg).toBe('calling GitLab');
    expect(line.level).toBe('info');
    for (const secret of ['glpat-', 'wJalrXUtnFEMI']) expect(out).not.toContain(secret);
    expect(line.key.AccessKeyId).toBe('AKIAEXAMPLE');
    expect(line.variable.key).toBe('AWS_SECRET_ACCESS_KEY');
  });
});
