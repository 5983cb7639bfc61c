// docs/crd-reference.md is generated from the schemas (scripts/generate-crd-docs.ts):
// this fails when the committed file is stale. Fix: npm run generate:docs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCrdDocs } from '../../scripts/generate-crd-docs.ts';
import { buildCrds } from '../../scripts/generate-crds.ts';

const DOC = new URL('../../docs/crd-reference.md', import.meta.url);

/** Every CEL message and every spec/status property name in a CRD. */
function collect(node: unknown, messages: string[], names: string[]): void {
  if (typeof node !== 'object' || node === null) return;
  const n = node as Record<string, unknown>;
  for (const r of (n['x-kubernetes-validations'] as { message: string }[] | undefined) ?? [])
    messages.push(r.message);
  for (const [name, child] of Object.entries((n.properties as Record<string, unknown> | undefined) ?? {})) {
    names.push(name);
    collect(child, messages, names);
  }
  collect(n.items, messages, names);
  collect(n.additionalProperties, messages, names);
}

describe('docs/crd-reference.md', () => {
  it('is what scripts/generate-crd-docs.ts generates now (run npm run generate:docs)', () => {
    expect(readFileSync(DOC, 'utf8')).toBe(renderCrdDocs());
  });

  it('names every field and every CEL rule message of both CRDs', () => {
    const doc = renderCrdDocs();
    for (const crd of buildCrds().values()) {
      const messages: string[] = [];
      const names: string[] = [];
      const schema = (crd as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } }).spec
        .versions[0]!.schema.openAPIV3Schema;
      collect(schema, messages, names);
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) expect(doc).toContain(m.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
      for (const name of names.filter((x) => !['apiVersion', 'kind', 'metadata'].includes(x))) {
        expect(doc).toMatch(new RegExp(`[.\`]${name}(\\[\\])?\` \\|`));
      }
    }
  });
});
