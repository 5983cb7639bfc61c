// docs/troubleshooting.md has one entry (a `### \`Reason\`` heading) for every
// condition reason the operator can set, read from src/ by test/docs/reasons.ts,
// and none for a reason that no longer exists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reasonsInSource } from './reasons.ts';

const DOC = readFileSync(new URL('../../docs/troubleshooting.md', import.meta.url), 'utf8');
const documented = [...DOC.matchAll(/^### (.+)$/gm)].flatMap((m) =>
  [...m[1]!.matchAll(/`([A-Za-z]+)`/g)].map((n) => n[1]!),
);
const { reasons, sinks, forwarded } = reasonsInSource();

describe('docs/troubleshooting.md', () => {
  it('finds the reasons of every part of the operator in src/', () => {
    // A sample from each place a reason comes from, so that a broken reader fails here.
    for (const r of [
      'PendingGitLabAuthorization', // REASONS of the connection
      'InlinePoliciesTooLarge', // REASONS of the federation
      'NoPolicy', // the tenancy verdict's type
      'AWSThrottled', // const reason = ... ? 'AWSThrottled' : 'AWSUnavailable'
      'SecretNotFound', // new WaitError(ms, SECRET_NOT_FOUND, ...)
      'ProgressingWithRetry', // summarize's set(RECONCILING, 'True', ...)
      'Allowed', // conditions.set(POLICY_ALLOWED, true, 'Allowed', ...)
      'IssuerUnreachable', // new RetryableError('IssuerUnreachable', ...)
    ]) {
      expect([...reasons.keys()], r).toContain(r);
    }
    expect(reasons.size).toBeGreaterThan(60);
  });

  it('passes no reason on from a place the reader does not know', () => {
    // Each of these forwards a reason set elsewhere (an error's, a verdict's, a helper's
    // parameter). A new one may hide a reason the reader cannot see: make its origin a
    // literal or a REASONS entry, then add it here.
    expect([...new Set(forwarded)].sort()).toEqual([
      'src/controllers/connection/delete.ts: reason',
      'src/controllers/connection/steps/host.ts: reason',
      'src/controllers/federation/steps/access-key.ts: err.reason',
      'src/controllers/federation/steps/propagation.ts: first.reason',
      'src/controllers/federation/steps/refused-token.ts: err.reason',
      'src/controllers/federation/steps/refused-token.ts: refused.reason',
      'src/controllers/federation/steps/verdict.ts: first.reason',
      'src/controllers/shared/tenancy-step.ts: verdict.reason',
      'src/runtime/reconcile/outcome.ts: this.reason',
      'src/runtime/reconcile/steps.ts: reasonOf(err)',
      'src/runtime/reconcile/summarize.ts: error.reason',
      'src/runtime/reconcile/summarize.ts: outcome.reason',
    ]);
  });

  it('has an entry for every reason the operator sets', () => {
    const missing = [...reasons.keys()].filter((r) => !documented.includes(r));
    expect(
      missing,
      `no entry in docs/troubleshooting.md for ${missing.map((r) => `${r} (${reasons.get(r)![0]})`).join(', ')}`,
    ).toEqual([]);
  });

  it('names no reason that no longer exists, and each once', () => {
    const stale = documented.filter((r) => !reasons.has(r));
    expect(stale, 'entries for reasons src/ no longer sets').toEqual([]);
    expect(documented.filter((r, i) => documented.indexOf(r) !== i)).toEqual([]);
  });

  it('says for each reason what it means and what to do', () => {
    const entries = DOC.split(/^### /m).slice(1);
    for (const entry of entries) {
      const name = entry.slice(0, entry.indexOf('\n'));
      const body = entry.slice(entry.indexOf('\n')).split(/^## /m)[0]!.trim();
      expect(body.length, name).toBeGreaterThan(60);
      // A reason that asks something of someone says what, in a "Do:" line.
      if (!/Nothing to do\./.test(body)) expect(body, name).toContain('**Do:**');
    }
  });

  it('says Stalled, Retried or Reconciling as the code does with the reason', () => {
    // Each entry opens with what the resource does; where the code hands a reason to
    // TerminalError, RetryableError or wait() itself, the entry must say so.
    const word = { stalled: '**Stalled**', retried: '**Retried**', waiting: '**Reconciling**' } as const;
    const entry = (reason: string) => {
      const at = DOC.search(new RegExp(`^### \\x60${reason}\\x60`, 'm'));
      const rest = DOC.slice(at + 4);
      return rest.slice(0, rest.search(/^##/m));
    };
    const checked: string[] = [];
    for (const [reason, given] of sinks) {
      for (const sink of ['stalled', 'retried', 'waiting'] as const) {
        if (!given.has(sink)) continue;
        expect(entry(reason), `${reason} is ${sink} in ${reasons.get(reason)!.join(', ')}`).toContain(
          word[sink],
        );
        checked.push(reason);
      }
    }
    expect(new Set(checked).size).toBeGreaterThan(40);
  });
});
