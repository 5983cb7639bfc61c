// The pages of issue 17 (and the README's links to them) link only to files
// that exist and to headings those files have, as GitHub names their anchors.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'docs/eks-quickstart.md',
  'docs/troubleshooting.md',
  'docs/gitops.md',
  'docs/credentials-compared.md',
  'README.md',
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links of the issue-17 pages', () => {
  for (const page of PAGES) {
    it(`${page} links to files and headings that exist`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
      const local = links.filter((l) => !/^[a-z]+:/.test(l));
      expect(local.length).toBeGreaterThan(0);
      for (const link of local) {
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, page) : normalize(join(dirname(join(ROOT, page)), path));
        expect(existsSync(target), `${page}: ${link}`).toBe(true);
        if (anchor && target.endsWith('.md')) {
          expect(anchors(readFileSync(target, 'utf8')), `${page}: ${link}`).toContain(anchor);
        }
      }
    });
  }
});
