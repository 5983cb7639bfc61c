// The arrows between the top-level folders: test/ and scripts/ use testbed/,
// testbed/ uses src/ (the operator it runs), and nothing points back. A script
// or the testbed that imported test code would drag vitest into `npm run demo`;
// the operator importing either would ship test code in the image.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Top-level folders that `file` imports from through relative specifiers. */
function importedFolders(file: string): { spec: string; folder: string }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((spec) => ({
    spec,
    folder: relative(ROOT, resolve(ROOT, dirname(file), spec)).split('/')[0]!,
  }));
}

const forbidden: Record<string, string[]> = {
  src: ['test', 'testbed', 'scripts'],
  testbed: ['test', 'scripts'],
  scripts: ['test'],
};

describe('import directions between src/, testbed/, scripts/ and test/', () => {
  for (const [from, banned] of Object.entries(forbidden)) {
    it(`nothing under ${from}/ imports from ${banned.join('/, ')}/`, () => {
      const violations = tsFiles(from).flatMap((file) =>
        importedFolders(file)
          .filter((i) => banned.includes(i.folder))
          .map((i) => `${file} imports ${i.spec}`),
      );
      expect(violations).toEqual([]);
    });
  }
});
