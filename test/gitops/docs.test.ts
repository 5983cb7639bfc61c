// docs/gitops.md embeds deploy/argocd/health.lua for both kinds: they must not drift apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs/gitops.md', () => {
  it('carries deploy/argocd/health.lua, unchanged, under both argocd-cm keys', () => {
    const doc = read('docs/gitops.md');
    const script = read('deploy/argocd/health.lua').trimEnd();
    const indented = script
      .split('\n')
      .map((l) => (l ? `    ${l}` : ''))
      .join('\n');
    for (const kind of ['GitLabAwsFederation', 'GitLabConnection']) {
      expect(doc).toContain(`  resource.customizations.health.gitlab-aws.io_${kind}: |\n${indented}\n`);
    }
  });
});
