import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyChild } from '../../src/runtime/process/logger.ts';

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

describe('lazyChild', () => {
  const capture = (level: string) => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    return { log: createLogger(level, sink), lines };
  };

  it('logs with its bindings, redacted like its parent', () => {
    const { log, lines } = capture('info');
    const child = lazyChild(log, { controller: 'c', key: 'ns/a', token: 'glpat-DDDDsecret' });
    child.debug('not at info');
    child.info({ value: 'glpat-EEEEsecret' }, 'reconciled');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ controller: 'c', key: 'ns/a', msg: 'reconciled', level: 'info' });
    expect(JSON.stringify(lines)).not.toContain('glpat-');
  });

  it('follows the level the parent had, and its own when set', () => {
    const { log, lines } = capture('debug');
    const child = lazyChild(log, { key: 'ns/b' });
    child.debug('at debug');
    child.level = 'warn';
    child.info('now filtered');
    child.warn('kept');
    expect(lines.map((l) => l.msg)).toEqual(['at debug', 'kept']);
    expect(log.level).toBe('debug');
  });
});
