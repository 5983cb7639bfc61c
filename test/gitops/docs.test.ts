// docs/gitops.md embeds deploy/argocd/health.lua for both kinds: they must not drift apart.
// docs/federation.md's section on method IAMUserAccessKeys names the conditions, reasons,
// annotation and defaults the code has, and no page says the method is missing.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RotationSchema } from '../../src/api/v1alpha1/federation.ts';
import { ACCESS_KEY_ROTATED, REASONS, USER_READY } from '../../src/controllers/federation/conditions.ts';
import { ROTATE_NOW_ANNOTATION } from '../../src/controllers/federation/steps/access-key.ts';

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

describe('docs: method IAMUserAccessKeys', () => {
  const doc = read('docs/federation.md');
  const section = doc.slice(
    doc.indexOf('## Method IAMUserAccessKeys'),
    doc.indexOf('\n## ', doc.indexOf('## Method IAMUserAccessKeys') + 1),
  );

  it('names its conditions, every reason they give, the annotation and the defaults', () => {
    expect(section.length).toBeGreaterThan(1000);
    for (const name of [
      USER_READY,
      ACCESS_KEY_ROTATED,
      ROTATE_NOW_ANNOTATION,
      REASONS.rotated,
      REASONS.userOwnedElsewhere,
      REASONS.userPathMismatch,
      REASONS.permissionsBoundaryKept,
      REASONS.accessKeyLimit,
      REASONS.variableOwnedElsewhere,
      REASONS.keyNotInGitLab,
      REASONS.invalidRotation,
    ]) {
      expect(section, name).toContain(`\`${name}\``);
    }
    const { interval, gracePeriod } = RotationSchema.properties;
    expect(section).toContain(`interval: ${interval.default} `);
    expect(section).toContain(`gracePeriod: ${gracePeriod.default} `);
    expect(section).toContain('at least 1m');
  });

  it('links pages that exist, and no page says the method is not supported', () => {
    for (const page of ['migrate-keys-to-oidc.md', 'tenancy.md']) {
      expect(section).toContain(`](${page}`);
      expect(() => read(`docs/${page}`)).not.toThrow();
    }
    const pages = [
      'README.md',
      ...readdirSync(new URL('../../docs', import.meta.url)).map((f) => `docs/${f}`),
    ];
    for (const page of pages.filter((p) => p.endsWith('.md'))) {
      expect(read(page), page).not.toContain('MethodNotSupported');
    }
  });
});
