// `npm run build`: the operator as one ES module bundle in dist/ (plus the
// chunks of the AWS SDK's lazy imports and the licences of the bundled
// packages), which is what the image runs.
//
// Why a bundle and not tsc's one file per module: memory. Node keeps every
// loaded module's code; the operator's dependencies load about 1,000 files,
// most of them @kubernetes/client-node's generated API, and the bundle keeps
// only what the operator calls. Measured with `npm run bench` (docs/bench.md).
//
//   npm run build                    # into dist/
//   npm run build -- --out-dir DIR   # elsewhere (the image test builds into a temporary folder)
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'rolldown';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const outDir = resolve(ROOT, values['out-dir']!);

// @kubernetes/client-node has no `sideEffects` field, so a bundler must keep
// every module it imports, and its barrel imports all 758 generated models.
// Its modules only declare classes, functions and constants; the one that
// changes a global (polyfill.js, `File` for Node 18) stays as it is.
const CLIENT_NODE = /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]/;
const moduleSideEffects = (id: string): boolean => !CLIENT_NODE.test(id) || id.endsWith('polyfill.js');

rmSync(outDir, { recursive: true, force: true });
const result = await build({
  input: join(ROOT, 'src', 'cli.ts'),
  platform: 'node',
  tsconfig: join(ROOT, 'tsconfig.json'),
  treeshake: { moduleSideEffects },
  logLevel: 'warn',
  output: {
    dir: outDir,
    format: 'esm',
    // Whitespace and dead code go; names stay, so stack traces and error names read as in the source.
    minify: { compress: true, mangle: false, codegen: { removeWhitespace: true } },
    // Licence headers of the bundled packages stay in the files that carry their code.
    comments: { legal: true },
    sourcemap: true,
  },
});

// The image ships the bundle without node_modules, so the licences of the
// packages whose code it carries go with it.
const packages = new Set<string>();
for (const chunk of result.output) {
  if (chunk.type !== 'chunk') continue;
  for (const id of chunk.moduleIds) {
    const match = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(id);
    if (match) packages.add(match[1]!);
  }
}
const notices = [...packages].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const files = readdirSync(dir)
    .filter((f) => /^(licen[cs]e|copying|notice)/i.test(f))
    .sort();
  const texts = files.map((f) => readFileSync(join(dir, f), 'utf8').trim());
  return [`${pkg.name} ${pkg.version} (${pkg.license ?? 'see its package'})`, ...texts].join('\n\n');
});
writeFileSync(
  join(outDir, 'THIRD-PARTY-LICENSES.txt'),
  `The operator's bundle (dist/) contains code of these packages, under these licences.\n\n${notices.join(`\n\n${'-'.repeat(78)}\n\n`)}\n`,
);
process.stdout.write(`built ${join(outDir, 'cli.js')} (${packages.size} packages bundled)\n`);
