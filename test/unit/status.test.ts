import { describe, expect, it } from 'vitest';
import { mergePatch } from '../../src/runtime/reconcile/status.ts';

describe('mergePatch (RFC 7386)', () => {
  it('is undefined when nothing changed, so no write is made', () => {
    expect(
      mergePatch({ a: 1, b: [1, 2], c: { d: 'x' } }, { a: 1, b: [1, 2], c: { d: 'x' } }),
    ).toBeUndefined();
  });
  it('sends only what changed, nulls what was removed, and replaces arrays whole', () => {
    expect(
      mergePatch(
        { keep: 1, gone: 'x', nested: { a: 1, b: 2 }, list: [1, 2, 3] },
        { keep: 1, nested: { a: 1, b: 3, c: 4 }, list: [1, 2], added: true },
      ),
    ).toEqual({ gone: null, nested: { b: 3, c: 4 }, list: [1, 2], added: true });
  });
  it('treats undefined fields as absent', () => {
    expect(mergePatch({ a: 1 }, { a: 1, b: undefined })).toBeUndefined();
    expect(mergePatch({ a: 1, b: 2 }, { a: 1, b: undefined })).toEqual({ b: null });
  });
});
